"""Prediction-side safety: corrupt inputs, tampered models, extreme logits.

The kernels index without bounds checks, so the reproducers that could
crash the interpreter (corrupt CSR matrices, tampered fitted state) run in a
subprocess: a segfault there fails the test instead of ending the run.
"""

import copy
import json
import math
import os
import subprocess
import sys
import textwrap
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs

from sklearn_softmax import SoftmaxClassifier, _kernels
from sklearn_softmax._checks import check_coef_shapes, check_csr_structure
from sklearn_softmax._predict import linear_predictor, log_softmax, softmax

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["predict_proba", "predict", "decision_function", "predict_log_proba"]


def _run_script(body):
    """Run ``body`` in a fresh interpreter; return what it printed as JSON."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-c", textwrap.dedent(body)]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, (
        f"the script died with return code {proc.returncode} (a negative code "
        f"is a signal, -11 a segfault)\nstdout: {proc.stdout}\n"
        f"stderr: {proc.stderr[-3000:]}"
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Fits a small model and defines ``call_all(model, X)``: for each prediction
# method, the exception type and message it raised (or "no error").
_FIT = f"""
    import json
    import numpy as np
    import scipy.sparse as sp
    from sklearn_softmax import SoftmaxClassifier

    def call_all(model, X):
        out = {{}}
        for method in {METHODS!r}:
            try:
                getattr(model, method)(X)
                out[method] = ["no error", ""]
            except Exception as exc:
                out[method] = [type(exc).__name__, str(exc)]
        return out

    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(60, 4))
    model = SoftmaxClassifier().fit(X_train, np.arange(60) % 3)
"""


# Each corruption: the code that breaks the CSR matrix ``X`` of the training
# data, and the message the ValueError must carry.
CSR_CORRUPTIONS = {
    "column-too-large": (
        "X.indices[5] = 10**7",
        r"column index 10000000 at position 5 outside [0, 4)",
    ),
    "column-equal-n_features": ("X.indices[7] = 4", "column index 4 at position 7"),
    "column-negative": (
        "X.indices[5] = -10**7",
        "column index -10000000 at position 5 outside [0, 4)",
    ),
    "indptr-decreasing": (
        "X.indptr[3] = 10**6",
        "decreasing index pointer: indptr[3] = 1000000 > indptr[4] = 16",
    ),
    "indptr-last-not-nnz": ("X.indptr[-1] = 10**6", "indptr[-1] = 1000000 but 240"),
    "indptr-first-not-zero": ("X.indptr[0] = 3", "indptr[0] = 3"),
}


@pytest.mark.parametrize("kind", CSR_CORRUPTIONS)
def test_corrupt_csr_gives_a_clean_error_at_every_prediction_method(kind):
    corrupt, message = CSR_CORRUPTIONS[kind]
    body = (
        _FIT
        + f"""
    X = sp.csr_matrix(X_train)
    X.indices = X.indices.copy()
    X.indptr = X.indptr.copy()
    {corrupt}
    print(json.dumps(call_all(model, X)))
"""
    )
    result = _run_script(body)
    for method in METHODS:
        kind_, text = result[method]
        assert kind_ == "ValueError", (method, kind_, text)
        assert message in text, (method, text)


# Each tampering: code applied to a fitted ``model``, the message expected.
TAMPERINGS = {
    "narrowed-coef": ("model.coef_ = model.coef_[:, :3].copy()", "coef_ has 3 col"),
    "shortened-intercept": (
        "model.intercept_ = model.intercept_[:2].copy()",
        "intercept_ has shape (2,) but coef_ has 3 rows",
    ),
    "raised-n_features_in": ("model.n_features_in_ = 5", "n_features_in_ = 5"),
    "coef-rows-vs-classes": (
        "model.coef_ = model.coef_[:2].copy(); model.intercept_ = "
        "model.intercept_[:2].copy()",
        "coef_ has 2 rows but 3 classes need 3",
    ),
}


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_tampered_fitted_state_gives_a_clean_error(kind):
    # Both routes in one interpreter: the attributes edited on the fitted
    # model, and the edited model through a skops file and back, as a
    # doctored model file would come in.
    pytest.importorskip("skops.io")
    tamper, message = TAMPERINGS[kind]
    # With a raised n_features_in_, data of that width passes validate_data:
    # the dangerous case, as the coefficients are narrower than the data.
    width = 5 if kind == "raised-n_features_in" else 4
    body = (
        _FIT
        + f"""
    {tamper}
    import skops.io as sio
    trusted = ["sklearn_softmax._classifier.SoftmaxClassifier"]
    models = {{
        "attributes": model,
        "skops": sio.loads(sio.dumps(model), trusted=trusted),
    }}
    X = np.ones((3, {width}))
    print(json.dumps({{r: call_all(m, X) for r, m in models.items()}}))
"""
    )
    result = _run_script(body)
    for route in ("attributes", "skops"):
        for method in METHODS:
            kind_, text = result[route][method]
            assert kind_ == "ValueError", (route, method, kind_, text)
            assert "fitted state is inconsistent" in text, (route, method, text)
            assert message in text, (route, method, text)


def test_binary_model_with_two_coef_rows_is_rejected():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    model = SoftmaxClassifier().fit(X, np.arange(40) % 2)
    model.coef_ = np.vstack([model.coef_, model.coef_])
    model.intercept_ = np.concatenate([model.intercept_, model.intercept_])
    with pytest.raises(ValueError, match="coef_ has 2 rows but 2 classes need 1"):
        model.predict_proba(X)


# --- the checks themselves -------------------------------------------------


def _valid_csr():
    rng = np.random.default_rng(2)
    X = sp.random(6, 5, density=0.5, format="csr", random_state=rng)
    return X.data.copy(), X.indices.copy(), X.indptr.copy(), X.shape


def test_check_csr_structure_accepts_valid_matrices_and_leaves_them_alone():
    data, indices, indptr, shape = _valid_csr()
    copies = [a.copy() for a in (data, indices, indptr)]
    for a in (data, indices, indptr):
        a.flags.writeable = False
    check_csr_structure(data, indices, indptr, shape)
    check_csr_structure(sp.csr_matrix((data, indices, indptr), shape=shape))
    check_csr_structure(sp.csr_array((data, indices, indptr), shape=shape))
    empty = np.empty(0), np.empty(0, np.int32)
    check_csr_structure(*empty, np.zeros(4, np.int64), (3, 2))
    check_csr_structure(*empty, np.zeros(1, np.int32), (0, 0))
    for a, b in zip((data, indices, indptr), copies, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64])
def test_check_csr_structure_finds_every_bad_column_index(dtype):
    data, indices, indptr, shape = _valid_csr()
    indices = indices.astype(dtype)
    indices[-1] = 5
    with pytest.raises(
        ValueError,
        match=rf"column index 5 at position {indices.size - 1} outside \[0, 5\)",
    ):
        check_csr_structure(data, indices, indptr, shape)
    if np.dtype(dtype).kind == "i":
        indices[-1] = 0
        indices[2] = -1
        with pytest.raises(ValueError, match=r"column index -1 at position 2 outside"):
            check_csr_structure(data, indices, indptr, shape)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d, i, p: (d, i, p[:-1]), r"indptr\) of length 6; its 6 rows need 7"),
        (lambda d, i, p: (d[:-1], i, p), "stored values but"),
        (lambda d, i, p: (d, i.astype(np.float64), p), "integer dtype"),
        (lambda d, i, p: (d, i, p.astype(np.float64)), "integer dtype"),
        (lambda d, i, p: (d, i[:, None], p), "2-D column index"),
        (lambda d, i, p: (d[:, None], i, p), "2-D data"),
        # Decreasing, but within [0, nnz]: no out-of-range pointer to spot.
        (lambda d, i, p: (d, i, np.r_[p[:2], p[-1], p[3:]]), r"indptr\[2\] = \d+ >"),
    ],
)
def test_check_csr_structure_messages(change, message):
    data, indices, indptr, shape = _valid_csr()
    with pytest.raises(ValueError, match=message):
        check_csr_structure(*change(data, indices, indptr), shape)


def test_check_coef_shapes():
    coef, b = np.zeros((3, 4)), np.zeros(3)
    check_coef_shapes(coef, b, 4)
    check_coef_shapes(coef, b, 4, 3)
    check_coef_shapes(coef[:1], b[:1], 4, 2)
    with pytest.raises(ValueError, match="coef has 4 columns but the data has 5"):
        check_coef_shapes(coef, b, 5)
    with pytest.raises(ValueError, match="must be 2-D"):
        check_coef_shapes(coef[0], b, 4)
    with pytest.raises(ValueError, match=r"intercept has shape \(2,\)"):
        check_coef_shapes(coef, b[:2], 4)
    with pytest.raises(ValueError, match=r"intercept has shape \(3, 1\)"):
        check_coef_shapes(coef, b[:, None], 4)
    with pytest.raises(ValueError, match="3 rows but 4 classes need 4"):
        check_coef_shapes(coef, b, 4, 4)


def test_linear_predictor_checks_the_kernel_boundary():
    X = np.ones((3, 4))
    with pytest.raises(ValueError, match="coef has 3 columns but the data has 4"):
        linear_predictor(X, np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="intercept has shape"):
        linear_predictor(X, np.ones((2, 4)), np.ones(3))


# --- softmax at extreme logits -------------------------------------------


@pytest.fixture(scope="module")
def three_class_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return SoftmaxClassifier().fit(X, np.arange(60) % 3)


@pytest.fixture(scope="module")
def blobs_models():
    X, y = make_blobs(300, 4, centers=3, cluster_std=0.3, random_state=0)
    multi = SoftmaxClassifier(C=1e6).fit(X, y)
    binary = SoftmaxClassifier(C=1e6).fit(X, y == 0)
    return multi, binary


def _tie_direction(model, pair=(0, 1)):
    # A sample direction on which the logits of two classes are equal and
    # above the third: at magnitude s, a near-tie of two logits of size s.
    target = np.zeros(len(model.classes_))
    target[list(pair)] = 1.0
    return np.linalg.lstsq(model.coef_, target, rcond=None)[0]


def _assert_valid_probabilities(model, X):
    P = model.predict_proba(X)
    L = model.predict_log_proba(X)
    assert np.all(np.isfinite(P)) and np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # The log-probability is finite wherever the probability is positive.
    assert np.all(np.isfinite(L[P > 0]))
    assert not np.any(np.isnan(L))
    np.testing.assert_allclose(np.exp(L), P, rtol=1e-9, atol=1e-300)
    # predict is the argmax of predict_proba wherever that is unique.
    top2 = np.sort(P, axis=1)[:, -2:]
    unique = top2[:, 1] > top2[:, 0]
    expected = model.classes_[np.argmax(P, axis=1)]
    np.testing.assert_array_equal(model.predict(X)[unique], expected[unique])
    assert not np.any(np.isnan(model.decision_function(X)))
    return P, L


@pytest.mark.parametrize("scale", [1e15, 1e16, 1e100, 1e300, 1e308])
def test_near_tie_at_huge_magnitude_sums_to_one(three_class_model, scale):
    model = three_class_model
    x = (scale * _tie_direction(model))[None]
    P, L = _assert_valid_probabilities(model, x)
    # The third logit is far below: its probability vanishes; the two tied
    # ones share the rest, whatever the rounding of their logits.
    assert P[0, 2] == 0.0
    assert P[0, 0] + P[0, 1] == pytest.approx(1.0, abs=1e-15)


@settings(deadline=None, max_examples=60, derandomize=True)
@given(
    log_scale=st.floats(0.0, 300.0),
    seed=st.integers(0, 2**32 - 1),
    tie=st.sampled_from([None, (0, 1), (1, 2), (0, 2)]),
    sparse=st.booleans(),
)
def test_probabilities_are_valid_at_every_magnitude(
    three_class_model, log_scale, seed, tie, sparse
):
    model = three_class_model
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(4, 4))
    if tie is not None:
        # Near-ties: the tie direction slightly perturbed.
        base = _tie_direction(model, tie)
        directions = base + 1e-6 * np.linalg.norm(base) * directions
    X = 10.0**log_scale * directions
    X = np.vstack([X, np.zeros((1, 4))])
    _assert_valid_probabilities(model, sp.csr_matrix(X) if sparse else X)


def _exact_logits(model, x):
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([[0.0], intercept])
    return [
        sum(
            Fraction(float(c)) * Fraction(float(v)) for c, v in zip(row, x, strict=True)
        )
        + Fraction(float(b))
        for row, b in zip(coef, intercept, strict=True)
    ]


def _exact_softmax(model, x):
    """Softmax and log-softmax of the exact logits of ``x`` (as Fractions)."""
    z = _exact_logits(model, x)
    m = max(z)
    diff = [zk - m for zk in z]
    # Differences below -800 have exp() == 0 in float64.
    e = [math.exp(float(d)) if d > -800 else 0.0 for d in diff]
    s = sum(e)
    return np.array(e) / s, diff, math.log(s)


def _overflow_rows(model, dtype=np.float64):
    big = np.finfo(dtype).max * 0.95
    signs = np.sign(model.coef_)
    rows = np.vstack([signs, -signs]) * big
    return rows.astype(dtype)


@pytest.mark.parametrize("which", ["multi", "binary"])
@pytest.mark.parametrize("form", ["dense", "csr", "float32"])
def test_overflowing_logits_give_exact_finite_probabilities(blobs_models, which, form):
    model = blobs_models[0 if which == "multi" else 1]
    dtype = np.float32 if form == "float32" else np.float64
    R = _overflow_rows(model, dtype)
    X = sp.csr_matrix(R) if form == "csr" else R
    before = X.copy()
    with warnings.catch_warnings():
        # Leaving the float range is expected here: no overflow warnings.
        warnings.simplefilter("error")
        P, L = _assert_valid_probabilities(model, X)
    D = model.decision_function(X)
    pred = model.predict(X)
    assert P.dtype == dtype
    big = float(np.finfo(dtype).max)
    for i, x in enumerate(R.astype(np.float64)):
        p_ref, diff, log_s = _exact_softmax(model, x)
        np.testing.assert_allclose(P[i], p_ref, rtol=1e-6, atol=1e-12)
        assert pred[i] == model.classes_[np.argmax(p_ref)]
        for k, d in enumerate(diff):
            if np.isfinite(L[i, k]):
                assert L[i, k] == pytest.approx(float(d) - log_s, rel=1e-6, abs=1e-6)
            else:
                # -inf only where the exact log-probability is out of range.
                assert L[i, k] == -np.inf and d < -big * (1 - 1e-6)
        # Decision values: the exact logits rounded, +-inf beyond the range.
        z = _exact_logits(model, x)
        if which == "binary":
            z = [z[1] - z[0]]
        for k, zk in enumerate(z):
            value = D[i, k] if D.ndim == 2 else D[i]
            if abs(zk) > big * (1 + 1e-6):
                assert value == (np.inf if zk > 0 else -np.inf)
            elif abs(zk) < big * (1 - 1e-6):
                assert value == pytest.approx(float(zk), rel=1e-6)
        # decision_function agrees with predict where its argmax is unique.
        if D.ndim == 2 and np.sum(D[i] == D[i].max()) == 1:
            assert pred[i] == model.classes_[np.argmax(D[i])]
        elif D.ndim == 1:
            assert pred[i] == model.classes_[int(D[i] > 0)]
    # The caller's data is left alone (the rescue scales a copy).
    for name in ("data", "indices", "indptr") if sp.issparse(X) else ("real",):
        np.testing.assert_array_equal(getattr(X, name), getattr(before, name))


def test_overflow_rescue_leaves_other_rows_and_thread_counts_alone(blobs_models):
    model = blobs_models[0]
    rng = np.random.default_rng(5)
    # More rows than one chunk, so the parallel kernels run.
    X = rng.normal(size=(700, 4))
    R = _overflow_rows(model)
    X[::100] = np.resize(R, X[::100].shape)
    plain = np.delete(X, np.s_[::100], axis=0)
    results = {}
    for n_jobs in (1, 2):
        model.set_params(n_jobs=n_jobs)
        results[n_jobs] = [
            getattr(model, m)(X) for m in ("predict_proba", "predict_log_proba")
        ] + [model.decision_function(X)]
    model.set_params(n_jobs=None)
    for a, b in zip(results[1], results[2], strict=True):
        np.testing.assert_array_equal(a, b)
    # Rows that do not overflow are computed as if alone.
    np.testing.assert_array_equal(
        np.delete(results[1][0], np.s_[::100], axis=0), model.predict_proba(plain)
    )
    P = results[1][0][::100]
    assert np.all(np.isfinite(P)) and np.all(np.max(P, axis=1) == 1.0)


def test_infinite_logits_are_one_hot_and_ties_share():
    inf, nan = np.inf, np.nan
    Z = np.array(
        [
            [inf, 1.0, -inf],
            [inf, 2.0, inf],
            [-inf, -inf, -inf],
            [3.0, -inf, 1.0],
            [nan, 0.0, inf],
            [1e308, -1e308, 0.0],
        ]
    )
    P = softmax(Z.copy())
    L = log_softmax(Z.copy())
    expected = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.5, 0.0, 0.5],
            [1 / 3, 1 / 3, 1 / 3],
            [1 / (1 + np.exp(-2.0)), 0.0, np.exp(-2.0) / (1 + np.exp(-2.0))],
            [nan, nan, nan],
            [1.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(P, expected, rtol=1e-15)
    with np.errstate(divide="ignore"):
        expected_log = np.log(expected)
    # exp(-1e308) underflows, its logarithm does not; 1e308 - -1e308 does
    # overflow, and that class is below the float range.
    expected_log[5] = [0.0, -np.inf, -1e308]
    np.testing.assert_allclose(L, expected_log, rtol=1e-15)


@pytest.mark.parametrize("n_rows", [6, 600])
def test_parallel_and_serial_softmax_twins_agree_bitwise(n_rows):
    rng = np.random.default_rng(7)
    Z = rng.normal(size=(n_rows, 5)) * 10.0 ** rng.integers(-3, 300, (n_rows, 1))
    Z[0] = [np.inf, 1.0, np.inf, 0.0, -np.inf]
    Z[1] = [1e15, 1e15 + 0.125, -1e15, 0.0, 3.0]
    Z[2, 2] = np.nan
    Z[3] = -np.inf
    for parallel, serial in (
        (_kernels.softmax_rows, _kernels.softmax_rows_serial),
        (_kernels.log_softmax_rows, _kernels.log_softmax_rows_serial),
    ):
        a, b = Z.copy(), Z.copy()
        parallel(a)
        serial(b)
        np.testing.assert_array_equal(a, b)


def test_infinite_coefficients_give_one_hot_predictions(three_class_model):
    model = copy.deepcopy(three_class_model)
    X = np.array([[1.0, 0.5, 0.25, 2.0]])
    model.coef_ = model.coef_.copy()
    model.coef_[2, 0] = np.inf
    np.testing.assert_array_equal(model.predict_proba(X), [[0.0, 0.0, 1.0]])
    assert model.predict(X)[0] == model.classes_[2]
    model.coef_[0, 0] = np.inf
    np.testing.assert_array_equal(model.predict_proba(X), [[0.5, 0.0, 0.5]])
    L = model.predict_log_proba(X)
    np.testing.assert_allclose(L, [[-np.log(2), -np.inf, -np.log(2)]])
