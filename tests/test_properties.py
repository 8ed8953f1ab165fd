"""Property-based robustness of ``fit`` and ``partial_fit`` (issue #18).

Whatever the input - dtype, shape, container, weights, targets, solver and
penalty - a fit either raises a ``ValueError`` or ``TypeError`` with a
message, or succeeds with finite probabilities whose rows sum to one, and it
never modifies the caller's ``X``, ``y`` or ``sample_weight``. Any other
exception (``IndexError``, ``ZeroDivisionError``, a numba error, ...) fails
the property.
"""

import copy
import datetime
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from sklearn_softmax import SoftmaxClassifier

SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

X_DTYPES = ["float64", "float32", "int64", "bool", "object"]
X_FORMATS = [
    "ndarray",
    "fortran",
    "readonly",
    "list",
    "csr",
    "csr-noncanonical",
    "csc",
    "coo",
    "dataframe",
    "mixed-dataframe",
    "nullable-dataframe",
]
# What to plant in X: nothing, a NaN, an inf, or a value near the float range.
X_SPECIALS = [np.nan, np.inf, -np.inf, 1e308, -1.7e308]
# Valid weights first, then the invalid ones.
WEIGHTS = ["none", "positive", "some-zero", "tiny", "wide-range"]
BAD_WEIGHTS = ["all-zero", "negative", "nan", "inf", "huge"]
LABELS = ["int", "str", "float", "bool", "mixed-object"]
BAD_TARGETS = ["proba-bad", "nan-label"]


# -- building the inputs -----------------------------------------------------


def _mostly():
    """True six times in seven."""
    return st.integers(0, 6).map(bool)


@st.composite
def fit_cases(draw):
    """One complete fit: data, targets, weights and estimator parameters."""
    n = draw(st.integers(1, 40))
    # Zero features, planted specials, one class and the invalid weights and
    # targets are drawn rarely, so that most examples reach the solvers.
    d = draw(st.integers(1, 6)) if draw(_mostly()) else 0
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    dtype = draw(st.sampled_from(X_DTYPES))
    fmt = draw(st.sampled_from(X_FORMATS))
    special = None if draw(_mostly()) else draw(st.sampled_from(X_SPECIALS))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-3, 1e3, 1e30, 1e150]))
    case = {"X": _make_X(rng, n, d, dtype, fmt, special, scale)}
    if draw(_mostly()):
        kind = draw(st.sampled_from([*LABELS, "proba", "proba"]))
    else:
        kind = draw(st.sampled_from(BAD_TARGETS))
    n_classes = draw(st.integers(2, 4)) if draw(_mostly()) else 1
    case["y"] = _make_y(rng, n, kind, n_classes, draw)
    case["target_kind"] = kind
    if draw(_mostly()):
        weight = draw(st.sampled_from(WEIGHTS))
    else:
        weight = draw(st.sampled_from(BAD_WEIGHTS))
    case["sample_weight"] = _make_weight(rng, n, weight)
    case["params"] = {
        "solver": draw(st.sampled_from(["lbfgs", "sgd"])),
        "l1_ratio": draw(st.sampled_from([0.0, 0.5])),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1])),
        "class_weight": draw(st.sampled_from([None, None, "balanced"])),
        "fit_intercept": draw(st.booleans()),
        "random_state": 0,
    }
    if case["params"]["solver"] == "sgd":
        case["params"]["max_iter"] = 10
    case["method"] = (
        draw(st.sampled_from(["fit", "partial_fit"]))
        if case["params"]["solver"] == "sgd" and case["params"]["class_weight"] is None
        else "fit"
    )
    return case


def _make_X(rng, n, d, dtype, fmt, special, scale):
    values = rng.normal(size=(n, d)) * scale
    if special is not None and n * d > 0:
        values[rng.integers(n), rng.integers(d)] = special
    if dtype == "bool":
        X = values > 0
    elif dtype == "int64":
        with np.errstate(invalid="ignore"):
            X = np.nan_to_num(np.round(values), posinf=2**40, neginf=-(2**40))
        X = np.clip(X, -(2**40), 2**40).astype(np.int64)
    elif dtype == "object":
        # Python ints and floats mixed, NaN and inf kept.
        X = np.empty((n, d), dtype=object)
        for (i, j), v in np.ndenumerate(values):
            X[i, j] = int(v) if (i + j) % 3 == 0 and np.isfinite(v) else float(v)
    else:
        with np.errstate(over="ignore"):
            X = values.astype(dtype)
    if fmt == "fortran":
        return np.asfortranarray(X)
    if fmt == "readonly":
        X.flags.writeable = False
        return X
    if fmt == "list":
        return X.tolist()
    if fmt in ("csr", "csr-noncanonical", "csc", "coo"):
        if dtype == "object":
            X = X.astype(np.float64)
        X = np.where(np.abs(values) < 0.5 * scale, 0, X).astype(X.dtype)
        if fmt == "csr-noncanonical":
            return _noncanonical_csr(rng, X)
        return {"csr": sp.csr_matrix, "csc": sp.csc_matrix, "coo": sp.coo_matrix}[fmt](
            X
        )
    if fmt == "dataframe":
        return pd.DataFrame(X, columns=[f"f{j}" for j in range(d)])
    if fmt == "mixed-dataframe":
        # One dtype per column: float64, float32, int64, bool, object, ...
        cols = {}
        for j in range(d):
            col_dtype = X_DTYPES[j % len(X_DTYPES)]
            col = _make_X(rng, n, 1, col_dtype, "ndarray", None, scale)[:, 0]
            cols[f"c{j}"] = col
        if special is not None and n * d > 0:
            cols["c0"] = cols["c0"].astype(float)
            cols["c0"][0] = special
        return pd.DataFrame(cols, index=pd.RangeIndex(n))
    if fmt == "nullable-dataframe":
        # pandas extension dtypes, with pd.NA in place of a NaN.
        frame = pd.DataFrame(values, columns=[f"n{j}" for j in range(d)])
        kinds = ["Float64", "Int64", "boolean", "Float32"]
        for j, name in enumerate(frame.columns):
            col = frame[name]
            if kinds[j % 4] == "Int64":
                col = col.clip(-(2**40), 2**40).round().fillna(0)
            elif kinds[j % 4] == "boolean":
                col = (col > 0).where(col.notna(), None)
            with np.errstate(over="ignore"):
                frame[name] = col.astype(kinds[j % 4])
        return frame
    return X


def _noncanonical_csr(rng, X):
    """CSR of ``X`` with shuffled column indices in each row and duplicates.

    Every stored entry is split into two halves at the same column, so the
    matrix means ``X`` (scipy sums duplicates) though no row is canonical.
    """
    data, indices, indptr = [], [], [0]
    for row in X.astype(np.float64):
        cols = np.flatnonzero(row)
        entries = [(j, v / 2) for j in cols for v in (row[j], row[j])]
        order = rng.permutation(len(entries))
        data += [entries[i][1] for i in order]
        indices += [entries[i][0] for i in order]
        indptr.append(len(data))
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    return sp.csr_matrix(
        (np.array(data, dtype=dtype), np.array(indices, dtype=np.int32), indptr),
        shape=X.shape,
    )


def _make_y(rng, n, kind, n_classes, draw):
    if kind not in ("proba", "proba-bad"):
        labels = np.arange(n) % n_classes
        rng.shuffle(labels)
        if kind == "str":
            y = np.array(["cat", "dog", "eel", "fox"])[labels]
        elif kind == "float":
            y = labels * 2.0 - 1.0
        elif kind == "bool":
            y = labels % 2 == 1
        elif kind == "mixed-object":
            # Labels of two types: numpy cannot sort them.
            y = np.array([1, "b", 2, "d"], dtype=object)[labels]
        elif kind == "nan-label":
            y = labels.astype(float)
            y[rng.integers(n)] = np.nan
        else:
            y = labels * 7 - 3
        container = draw(st.sampled_from(["ndarray", "list", "series"]))
        if container == "list":
            return y.tolist()
        return pd.Series(y, name="target") if container == "series" else y
    k = max(n_classes, 2) if draw(st.booleans()) else n_classes
    Y = rng.dirichlet(np.ones(k), size=n)
    if kind == "proba-bad":
        flaw = draw(
            st.sampled_from(["negative", "sum", "nan", "inf", "all-zero-row", "huge"])
        )
        i = rng.integers(n)
        if flaw == "negative":
            Y[i, 0] = -0.5
            Y[i, -1] += 0.5
        elif flaw == "sum":
            Y[i] *= 1.1
        elif flaw == "nan":
            Y[i, 0] = np.nan
        elif flaw == "inf":
            Y[i, 0] = np.inf
        elif flaw == "all-zero-row":
            Y[i] = 0.0
        else:
            Y[i, 0] = 1e308
    if draw(st.booleans()):
        with np.errstate(over="ignore"):
            Y = Y.astype(np.float32)
    container = draw(st.sampled_from(["ndarray", "ndarray", "csr", "dataframe"]))
    if container == "csr":
        return sp.csr_matrix(Y)
    return pd.DataFrame(Y) if container == "dataframe" else Y


def _make_weight(rng, n, kind):
    if kind == "none":
        return None
    w = rng.uniform(0.1, 3.0, size=n)
    if kind == "some-zero":
        w[rng.random(n) < 0.5] = 0.0
    elif kind == "tiny":
        w *= 1e-310  # subnormal
    elif kind == "wide-range":
        w *= 10.0 ** rng.choice([-300, 0, 300], size=n)
    elif kind == "all-zero":
        w[:] = 0.0
    elif kind == "negative":
        w[rng.integers(n)] = -1.0
    elif kind == "nan":
        w[rng.integers(n)] = np.nan
    elif kind == "inf":
        w[rng.integers(n)] = np.inf
    elif kind == "huge":
        w[:] = 1e308
    return w


# -- checking the outcome ----------------------------------------------------


def _assert_same(before, after, what):
    """``after`` is ``before``, unchanged in values, dtype and structure."""
    if before is None:
        assert after is None, what
    elif sp.issparse(before):
        assert sp.issparse(after) and after.format == before.format, what
        assert after.dtype == before.dtype and after.shape == before.shape, what
        attrs = ("row", "col", "data") if before.format == "coo" else None
        attrs = attrs or ("data", "indices", "indptr")
        for attr in attrs:
            np.testing.assert_array_equal(
                getattr(after, attr), getattr(before, attr), err_msg=what
            )
    elif isinstance(before, pd.DataFrame):
        assert list(after.dtypes) == list(before.dtypes), what
        pd.testing.assert_frame_equal(after, before, obj=what)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(after, before, obj=what)
    elif isinstance(before, list):
        # Same objects at the same places (NaN is equal to itself this way).
        assert type(after) is list and after == before, what
    else:
        assert after.flags.writeable == before.flags.writeable, what
        assert after.flags.f_contiguous == before.flags.f_contiguous, what
        assert after.dtype == before.dtype and after.shape == before.shape, what
        if before.dtype == object:
            for a, b in zip(after.ravel(), before.ravel(), strict=True):
                assert type(a) is type(b) and (a == b or (a != a and b != b)), what
        else:
            np.testing.assert_array_equal(after, before, err_msg=what)


def _fit(case):
    clf = SoftmaxClassifier(**case["params"])
    kwargs = {"sample_weight": case["sample_weight"]}
    if case["method"] == "partial_fit" and not case["target_kind"].startswith("proba"):
        # In order of first appearance: sorting mixed-type labels would fail.
        kwargs["classes"] = list(dict.fromkeys(np.asarray(case["y"]).tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataConversionWarning)
        getattr(clf, case["method"])(case["X"], case["y"], **kwargs)
        return clf, clf.predict_proba(case["X"])


def _snapshot(value):
    """A deep copy that keeps the read-only flag of an ndarray."""
    copied = copy.deepcopy(value)
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        copied.flags.writeable = False
    return copied


def _check_case(case):
    saved = {k: _snapshot(case[k]) for k in ("X", "y", "sample_weight")}
    try:
        clf, P = _fit(case)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        # A numba typing error is a TypeError subclass: not a clear message.
        assert "numba" not in type(exc).__module__, repr(exc)
        clf = P = None
    # Any other exception propagates and fails the test with this example.
    for name, before in saved.items():
        _assert_same(before, case[name], name)
    if P is None:
        return None
    X = case["X"]
    n = len(X) if isinstance(X, list) else X.shape[0]
    assert P.shape == (n, len(clf.classes_))
    assert np.all(np.isfinite(P)), P
    assert np.all(P >= 0), P
    atol = 1e-6 if P.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=atol)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
    if sp.issparse(X):
        # Sparse and dense rows of the same values give the same predictions.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            P_dense = clf.predict_proba(X.toarray())
        np.testing.assert_allclose(P, P_dense, rtol=1e-5, atol=100 * atol)
    return clf


@SETTINGS
@given(case=fit_cases())
def test_fit_raises_clearly_or_gives_valid_probabilities(case):
    _check_case(case)


@SETTINGS
@given(
    case=fit_cases(),
    params=st.fixed_dictionaries(
        {
            "solver": st.just("sgd"),
            "learning_rate": st.sampled_from(["constant", "optimal", "adaptive"]),
            "eta0": st.sampled_from([1e-2, 1.0, 1e3]),
            "max_iter": st.integers(1, 5),
            "shuffle": st.booleans(),
        }
    ),
)
def test_sgd_schedules_raise_clearly_or_give_valid_probabilities(case, params):
    case["params"].update(params)
    _check_case(case)


# -- examples kept explicitly ------------------------------------------------


@pytest.mark.parametrize("fmt", ["ndarray", "csr", "dataframe"])
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_valid_probability_targets_with_huge_features(fmt, solver):
    # Features near the float range: either an overflow error or a model.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)) * 1e306
    if fmt == "csr":
        X = sp.csr_matrix(X)
    elif fmt == "dataframe":
        X = pd.DataFrame(X)
    Y = rng.dirichlet(np.ones(3), size=20)
    _check_case(
        {
            "X": X,
            "y": Y,
            "sample_weight": None,
            "target_kind": "proba",
            "method": "fit",
            "params": {"solver": solver, "random_state": 0, "max_iter": 10},
        }
    )


# -- datetime features (#18) --------------------------------------------------

DATES = pd.date_range("2021-03-01", periods=6, freq="D")


@pytest.mark.parametrize(
    "when",
    [
        DATES,
        DATES.tz_localize("UTC"),
        pd.to_timedelta(np.arange(6), unit="h"),
    ],
    ids=["datetime64", "datetime-tz", "timedelta64"],
)
@pytest.mark.parametrize("other", [True, False], ids=["with-numbers", "alone"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_datetime_column_is_a_clear_type_error(when, other, method):
    cols = {"x": np.arange(6.0)} if other else {}
    X = pd.DataFrame({**cols, "when": when})
    before = X.copy()
    clf = SoftmaxClassifier(solver="sgd")
    kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
    with pytest.raises(TypeError, match=r"X column 'when' has dtype (datetime|time)"):
        getattr(clf, method)(X, np.arange(6) % 2, **kwargs)
    pd.testing.assert_frame_equal(X, before)
    assert not hasattr(clf, "coef_") and not hasattr(clf, "n_features_in_")


def test_datetime_message_says_what_to_do():
    X = pd.DataFrame({"x": np.arange(6.0), "when": DATES})
    with pytest.raises(TypeError) as info:
        SoftmaxClassifier().fit(X, np.arange(6) % 2)
    message = str(info.value)
    assert "numeric features" in message and ".astype('int64')" in message


def test_datetime_series_and_arrays_are_refused():
    y = np.arange(6) % 2
    # A named Series converted to a one-column frame, an unnamed datetime64
    # ndarray, and a datetime64 ndarray of two columns.
    with pytest.raises(TypeError, match="X column 'when' has dtype datetime64"):
        SoftmaxClassifier().fit(pd.Series(DATES, name="when").to_frame(), y)
    values = DATES.to_numpy()
    with pytest.raises(TypeError, match="X has dtype datetime64"):
        SoftmaxClassifier().fit(values.reshape(-1, 1), y)
    with pytest.raises(TypeError, match="X has dtype timedelta64"):
        SoftmaxClassifier().fit(np.stack([values - values[0]] * 2, axis=1), y)


def test_refit_with_a_datetime_column_keeps_the_model():
    X = pd.DataFrame({"x": np.arange(6.0), "when": np.arange(6.0)})
    y = np.arange(6) % 2
    clf = SoftmaxClassifier().fit(X, y)
    coef = clf.coef_.copy()
    with pytest.raises(TypeError, match="'when'"):
        clf.fit(X.assign(when=DATES), y)
    np.testing.assert_array_equal(clf.coef_, coef)
    assert list(clf.feature_names_in_) == ["x", "when"]


def test_object_column_of_timestamps_is_a_type_error():
    # Not a datetime dtype: numpy's own conversion error, still a TypeError.
    X = pd.DataFrame({"when": [datetime.datetime(2021, 3, d) for d in range(1, 7)]})
    with pytest.raises(TypeError):
        SoftmaxClassifier().fit(X.astype(object), np.arange(6) % 2)


# -- bugs found and fixed ---------------------------------------------------


# #18 (fixed in #17): an explicit gradient step on a strong L2 penalty
# (eta * lambda > 2: C=1e-4 on 20 rows) diverged; the penalty is now applied
# as its proximal step W / (1 + eta * lambda), stable for any strength.
def test_sgd_with_strong_l2_penalty_approaches_the_lbfgs_solution():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    ref = SoftmaxClassifier(C=1e-4).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd = SoftmaxClassifier(solver="sgd", C=1e-4, random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.coef_, ref.coef_, atol=1e-2)
