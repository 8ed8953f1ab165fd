"""The reproducers of issue #18, each in a fresh interpreter.

Some of them once crashed the interpreter (out-of-bounds reads in the
kernels) or raised from deep inside numpy or numba, so each runs in a
subprocess with the repository root as working directory and on
``PYTHONPATH``: a crash is a non-zero exit code, which fails the test. The
script prints one JSON object of what it observed; the test checks it.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Shared by every script: ``outcome(f)`` calls ``f`` and reports the exception
# type and message it raised, or "no error".
_PRELUDE = """
import json
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sklearn_softmax import SoftmaxClassifier


def outcome(f):
    try:
        f()
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
    return ["no error", ""]
"""


def _run(body):
    """Run ``body`` after the prelude in a fresh interpreter; return its JSON."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = textwrap.dedent(_PRELUDE) + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, (
        f"the script died with return code {proc.returncode} (a negative code "
        f"is a signal, -11 a segfault)\nstdout: {proc.stdout[-2000:]}\n"
        f"stderr: {proc.stderr[-3000:]}"
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _assert_error(result, kind, *fragments):
    got, message = result
    assert got == kind, result
    assert message.strip(), result
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_a_failed_refit_on_another_width_keeps_the_old_model(solver):
    out = _run(
        f"""
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(60, 4)), np.arange(60) % 3
        clf = SoftmaxClassifier(solver={solver!r}, random_state=0).fit(X, y)
        coef = clf.coef_.copy()
        refit = outcome(lambda: clf.fit(np.random.randn(60, 10), np.zeros(60)))
        wide = outcome(lambda: clf.predict_proba(np.zeros((3, 10))))
        P = clf.predict_proba(X)
        print(json.dumps({{
            "refit": refit,
            "wide": wide,
            "n_features_in_": int(clf.n_features_in_),
            "coef_kept": bool(np.array_equal(clf.coef_, coef)),
            "proba_ok": bool(np.all(np.isfinite(P))
                             and np.allclose(P.sum(axis=1), 1, rtol=0, atol=1e-12)),
        }}))
        """
    )
    _assert_error(out["refit"], "ValueError")
    _assert_error(out["wide"], "ValueError", "10 features", "4 features")
    assert out["n_features_in_"] == 4
    assert out["coef_kept"] and out["proba_ok"]


# The corruption of the CSR matrix ``X`` (4 columns) and the text naming it.
_CSR_CORRUPTIONS = {
    "index-equal-n_features": ("X.indices[7] = 4", "column index 4 at position 7"),
    "index-too-large": ("X.indices[5] = 10**7", "column index 10000000"),
    "index-negative": ("X.indices[5] = -3", "column index -3 at position 5"),
    "index-very-negative": ("X.indices[2] = -10**7", "column index -10000000"),
}


@pytest.mark.parametrize("kind", _CSR_CORRUPTIONS)
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_b_csr_column_index_out_of_range(kind, solver):
    corrupt, text = _CSR_CORRUPTIONS[kind]
    out = _run(
        f"""
        rng = np.random.default_rng(0)
        X_train, y = rng.normal(size=(60, 4)), np.arange(60) % 3
        model = SoftmaxClassifier(solver={solver!r}, random_state=0)
        model.fit(X_train, y)
        X = sp.csr_matrix(X_train)
        X.indices = X.indices.copy()
        {corrupt}
        fresh = SoftmaxClassifier(solver={solver!r}, random_state=0)
        print(json.dumps({{
            "fit": outcome(lambda: fresh.fit(X, y)),
            "refit": outcome(lambda: model.fit(X, y)),
            "predict_proba": outcome(lambda: model.predict_proba(X)),
            "predict": outcome(lambda: model.predict(X)),
            "fresh_unfitted": not hasattr(fresh, "coef_"),
        }}))
        """
    )
    for key in ("fit", "refit", "predict_proba", "predict"):
        _assert_error(out[key], "ValueError", text)
    assert out["fresh_unfitted"]


@pytest.mark.parametrize("scale", [1e15, 1e16, 1e100])
def test_c_near_tie_probabilities_sum_to_one(scale):
    out = _run(
        f"""
        X = np.random.default_rng(0).normal(size=(60, 4))
        y = np.arange(60) % 3
        clf = SoftmaxClassifier().fit(X, y)
        v = np.linalg.lstsq(clf.coef_, [1.0, 1.0, 0.0], rcond=None)[0]
        P = clf.predict_proba(({scale!r} * v)[None])
        print(json.dumps({{
            "gap": abs(float(P.sum()) - 1.0),
            "finite": bool(np.all(np.isfinite(P))),
            "non_negative": bool(np.all(P >= 0)),
        }}))
        """
    )
    assert out["finite"] and out["non_negative"]
    assert out["gap"] <= 1e-12


def test_d_overflowing_rows_give_finite_one_hot_probabilities():
    out = _run(
        """
        from sklearn.datasets import make_blobs

        X, y = make_blobs(300, 4, centers=3, cluster_std=0.3, random_state=0)
        clf = SoftmaxClassifier(C=1e6).fit(X, y)
        rows = []
        for k in range(3):
            x = (np.sign(clf.coef_[k]) * 1.7e308)[None]
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no overflow RuntimeWarning
                P = clf.predict_proba(x)
                L = clf.predict_log_proba(x)
            rows.append({
                "finite": bool(np.all(np.isfinite(P))),
                "p_k": float(P[0, k]),
                "sum": float(P.sum()),
                "log_p_k": float(L[0, k]),
                "log_nan": bool(np.any(np.isnan(L))),
                "argmax": int(np.argmax(P[0])),
                "predict": int(clf.predict(x)[0]),
            })
        print(json.dumps(rows))
        """
    )
    for k, row in enumerate(out):
        assert row["finite"], row
        assert abs(row["p_k"] - 1.0) <= 1e-12, row
        assert abs(row["sum"] - 1.0) <= 1e-12, row
        assert row["log_p_k"] > -1e-12 and row["log_p_k"] <= 0.0, row
        assert not row["log_nan"], row
        assert row["argmax"] == k and row["predict"] == k, row


def test_e_huge_sample_weights_and_negative_class_weight():
    out = _run(
        """
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(100, 3)), np.arange(100) % 2
        sw = np.full(100, 1e307)
        print(json.dumps({
            "fit": outcome(lambda: SoftmaxClassifier().fit(X, y, sample_weight=sw)),
            "sgd": outcome(
                lambda: SoftmaxClassifier(solver="sgd").fit(X, y, sample_weight=sw)
            ),
            "partial_fit": outcome(
                lambda: SoftmaxClassifier(solver="sgd").partial_fit(
                    X, y, classes=[0, 1], sample_weight=sw
                )
            ),
            "class_weight": outcome(
                lambda: SoftmaxClassifier(class_weight={0: -1.0}).fit(X, y)
            ),
        }))
        """
    )
    for key in ("fit", "sgd", "partial_fit"):
        _assert_error(out[key], "ValueError", "overflow")
    _assert_error(out["class_weight"], "ValueError")


def test_f_diverging_sgd_warns_in_fit_and_raises_in_partial_fit():
    out = _run(
        """
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(60, 4)), np.arange(60) % 3
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf = SoftmaxClassifier(
                solver="sgd", eta0=1e10, learning_rate="constant", max_iter=5
            ).fit(X, y)
        messages = [
            str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
        ]
        est = SoftmaxClassifier(solver="sgd", random_state=0)
        est.partial_fit(X, y, classes=[0, 1, 2])
        coef = est.coef_.copy()
        diverged = outcome(lambda: est.partial_fit(X * 1e300, y))
        P = est.predict_proba(X)
        print(json.dumps({
            "warnings": messages,
            "coef_finite": bool(np.all(np.isfinite(clf.coef_))
                                and np.all(np.isfinite(clf.intercept_))),
            "diverged": diverged,
            "coef_kept": bool(np.array_equal(est.coef_, coef)),
            "proba_finite": bool(np.all(np.isfinite(P))),
            "proba_sum": float(np.max(np.abs(P.sum(axis=1) - 1))),
        }))
        """
    )
    assert any("diverg" in m for m in out["warnings"]), out["warnings"]
    assert out["coef_finite"]
    _assert_error(out["diverged"], "ValueError", "diverged")
    assert out["coef_kept"] and out["proba_finite"]
    assert out["proba_sum"] <= 1e-12


def test_g_partial_fit_of_an_lbfgs_estimator_names_the_solver():
    out = _run(
        """
        X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
        clf = SoftmaxClassifier()
        print(json.dumps({
            "call": outcome(lambda: clf.partial_fit(X, y, classes=[0, 1])),
            "hasattr": hasattr(clf, "partial_fit"),
            "sgd_hasattr": hasattr(SoftmaxClassifier(solver="sgd"), "partial_fit"),
        }))
        """
    )
    _assert_error(out["call"], "AttributeError", "solver='sgd'")
    assert not out["hasattr"] and out["sgd_hasattr"]


@pytest.mark.parametrize("shape", [(60, 4, 3), (600, 300, 200)], ids=["small", "large"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_h_max_iter_zero_is_zero_iterations(shape, l1_ratio):
    n, d, k = shape
    assert n < 100 or d * k >= 50_000
    out = _run(
        f"""
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=({n}, {d})), np.arange({n}) % {k}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = SoftmaxClassifier(max_iter=0, l1_ratio={l1_ratio!r}).fit(X, y)
        print(json.dumps({{
            "n_iter_": int(clf.n_iter_[0]),
            "finite": bool(np.all(np.isfinite(clf.coef_))),
        }}))
        """
    )
    # Only the count: with max_iter=0 scipy's L-BFGS-B (the small problem)
    # still takes its first step, as in LogisticRegression(max_iter=0).
    assert out["n_iter_"] == 0
    assert out["finite"]
