"""Persistence: pickle, joblib and skops round trips; plain fitted state."""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

#: The type name to pass to ``skops.io.load(..., trusted=[...])``; documented in
#: docs/user_guide/targets.rst, so a rename must update the docs.
TRUSTED_NAME = "sklearn_softmax._classifier.SoftmaxClassifier"


def _sgd_models(X, y_str, Y):
    # SGD keeps the state partial_fit continues from (_sgd_state).
    sgd = dict(solver="sgd", random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = SoftmaxClassifier(**sgd, learning_rate="adam").fit(X, y_str)
        stopped = SoftmaxClassifier(
            **sgd, early_stopping=True, l1_ratio=0.5, learning_rate="adaptive"
        ).fit(sp.csr_matrix(X), y_str)
    streamed = SoftmaxClassifier(**sgd, label_smoothing=0.1)
    for start in range(0, 80, 30):
        streamed.partial_fit(X[start : start + 30], Y[start : start + 30])
    return {
        "sgd-adam": (fitted, X),
        "sgd-early-stopping-l1-csr": (stopped, sp.csr_matrix(X)),
        "sgd-partial-fit-soft": (streamed, X),
    }


def _fitted_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y_str = np.array(["ant", "bee", "cow"])[rng.integers(0, 3, 80)]
    y_bin = rng.integers(0, 2, 80) * 5
    Y = rng.dirichlet(np.ones(3), size=80)
    return {
        **_sgd_models(X, y_str, Y),
        "multiclass-str": (SoftmaxClassifier().fit(X, y_str), X),
        "binary-int": (SoftmaxClassifier(C=0.5).fit(X, y_bin), X),
        "soft-smoothed": (
            SoftmaxClassifier(label_smoothing=0.1, classes=["x", "y", "z"]).fit(X, Y),
            X,
        ),
        "dict-weight-float32-csr": (
            SoftmaxClassifier(class_weight={"ant": 2.0}).fit(
                sp.csr_matrix(X.astype(np.float32)), y_str
            ),
            sp.csr_matrix(X.astype(np.float32)),
        ),
    }


MODELS = _fitted_models()


def _assert_same(a, b, where):
    """``a`` and ``b`` equal and of the same types, recursively (arrays bitwise)."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key_a, key_b in zip(a, b, strict=True):
            _assert_same(key_a, key_b, f"{where} key {key_a!r}")
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _assert_same(u, v, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"


def _new_data(X):
    """Rows the model never saw, in the format of ``X``; some far out, where
    probabilities saturate and log-probabilities need the log-softmax."""
    rng = np.random.default_rng(1)
    X_new = rng.normal(size=(60, X.shape[1]))
    X_new[:10] *= 40.0
    if sp.issparse(X):
        X_new[np.abs(X_new) < 0.4] = 0.0
        return sp.csr_matrix(X_new.astype(X.dtype))
    return X_new.astype(X.dtype)


def _assert_identical(a, b, X):
    assert type(a) is type(b)
    # Every parameter with its type (a list restored as a tuple or array, a
    # dict key as np.str_, an int as a float would change what clone() refits)
    # and every fitted attribute, bitwise and with its dtype.
    _assert_same(a.get_params(), b.get_params(), "get_params()")
    _assert_same(vars(a), vars(b), "vars")
    # Predictions on the training rows and on new rows, bitwise: fails if a
    # loaded model recomputed or lost state that predictions read.
    for data in (X, _new_data(X)):
        for method in ("decision_function", "predict_proba", "predict_log_proba"):
            out_a, out_b = getattr(a, method)(data), getattr(b, method)(data)
            assert out_a.dtype == out_b.dtype
            np.testing.assert_array_equal(out_a, out_b, err_msg=method)
        np.testing.assert_array_equal(a.predict(data), b.predict(data))


def _is_plain(value):
    if value is None or type(value) in (bool, int, float, str):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_is_plain(k) and _is_plain(v) for k, v in value.items())
    if type(value) is np.ndarray:
        if value.dtype.kind in "biufU":
            return True
        return value.dtype.kind == "O" and all(_is_plain(v) for v in value.ravel())
    return False


@pytest.mark.parametrize("key", MODELS)
def test_fitted_state_holds_only_arrays_and_plain_values(key):
    model, _ = MODELS[key]
    bad = {k: type(v) for k, v in vars(model).items() if not _is_plain(v)}
    assert not bad


def test_plain_state_walker_can_fail():
    model = SoftmaxClassifier()
    model.solver_state_ = object()
    assert not all(_is_plain(v) for v in vars(model).values())


@pytest.mark.parametrize("key", MODELS)
def test_pickle_and_joblib_round_trips_are_exact(key):
    model, X = MODELS[key]
    _assert_identical(model, pickle.loads(pickle.dumps(model)), X)
    buf = io.BytesIO()
    joblib.dump(model, buf)
    buf.seek(0)
    _assert_identical(model, joblib.load(buf), X)


def test_trusted_name_is_the_class_path():
    cls = SoftmaxClassifier
    assert f"{cls.__module__}.{cls.__qualname__}" == TRUSTED_NAME


@pytest.mark.parametrize("key", MODELS)
def test_skops_round_trip(key):
    sio = pytest.importorskip("skops.io")
    model, X = MODELS[key]
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == [TRUSTED_NAME]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(data)
    _assert_identical(model, sio.loads(data, trusted=[TRUSTED_NAME]), X)


def test_skops_round_trip_in_a_pipeline():
    sio = pytest.importorskip("skops.io")
    model, X = MODELS["multiclass-str"]
    y = model.predict(X)
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier()).fit(X, y)
    data = sio.dumps(pipe)
    assert sio.get_untrusted_types(data=data) == [TRUSTED_NAME]
    loaded = sio.loads(data, trusted=[TRUSTED_NAME])
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


SGD_MODELS = [key for key in MODELS if key.startswith("sgd")]


def _continue(model, X):
    """Two more partial_fit calls on new rows; the coefficients after them."""
    X_new = _new_data(X)
    # Labels the model did not predict on these rows, so that steps are taken.
    y_new = model.predict(X_new[::-1])
    model.partial_fit(X_new[:30], y_new[:30])
    model.partial_fit(X_new[30:], y_new[30:])
    return model.coef_.copy(), model.intercept_.copy(), model.t_


@pytest.mark.parametrize("key", SGD_MODELS)
def test_sgd_state_is_plain_nested_dicts(key):
    model, _ = MODELS[key]
    state = model._sgd_state
    assert type(state) is dict and type(state["optimizer"]) is dict
    assert type(state["random_state"]) is dict
    assert state["random_state"]["key"].dtype == np.uint32
    assert state["optimizer"]["t"] == model.t_


@pytest.mark.parametrize("key", SGD_MODELS)
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_loaded_sgd_model_continues_partial_fit_bitwise(key, how):
    model, X = MODELS[key]
    if how == "skops":
        sio = pytest.importorskip("skops.io")
        data = sio.dumps(model)
        # Only the estimator's own type needs trusting, for every solver.
        assert sio.get_untrusted_types(data=data) == [TRUSTED_NAME]
        loaded = sio.loads(data, trusted=[TRUSTED_NAME])
    else:
        loaded = pickle.loads(pickle.dumps(model))
    original = pickle.loads(pickle.dumps(model))
    expected, got = _continue(original, X), _continue(loaded, X)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
    # Continuing moved the model: the test would catch a reset state.
    assert not np.array_equal(expected[0], model.coef_)


def test_partial_fit_leaves_the_stored_state_untouched():
    # partial_fit rebuilds its working state from copies of _sgd_state, so
    # a loaded (or shared) state dict is never written to.
    model, X = MODELS["sgd-adam"]
    model = pickle.loads(pickle.dumps(model))
    before = pickle.loads(pickle.dumps(model._sgd_state))
    stored = model._sgd_state
    _continue(model, X)
    _assert_same(stored, before, "_sgd_state before partial_fit")
    assert model._sgd_state is not stored
