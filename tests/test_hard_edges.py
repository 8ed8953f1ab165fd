"""Failed fits leave the estimator as it was; divergence and misuse are reported."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_softmax import SoftmaxClassifier


def _data(d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(60, d)), np.arange(60) % 3


def _state(est):
    return {
        k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(est).items()
    }


def _assert_same_state(before, est):
    after = vars(est)
    assert before.keys() == after.keys()
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(after[k], v)
        else:
            assert after[k] == v or after[k] is v, k


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_failed_refit_leaves_the_model_as_it_was(solver):
    X, y = _data()
    clf = SoftmaxClassifier(solver=solver, random_state=0).fit(X, y)
    before = _state(clf)
    with pytest.raises(ValueError, match="class"):
        clf.fit(np.random.default_rng(1).normal(size=(60, 10)), np.zeros(60))
    _assert_same_state(before, clf)
    assert clf.n_features_in_ == 4
    # The new width is refused, not read past the coefficients.
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(np.zeros((3, 10)))


def test_failed_first_fit_leaves_the_model_unfitted():
    clf = SoftmaxClassifier()
    with pytest.raises(ValueError):
        clf.fit(np.zeros((10, 3)), np.zeros(10))
    assert not hasattr(clf, "n_features_in_") and not hasattr(clf, "coef_")


def test_diverging_partial_fit_raises_and_keeps_the_state():
    X, y = _data()
    clf = SoftmaxClassifier(solver="sgd", random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    before = _state(clf)
    params = clf._sgd_state["params"].copy()
    with pytest.raises(ValueError, match="diverged"):
        clf.partial_fit(X * 1e300, y)
    _assert_same_state(before, clf)
    np.testing.assert_array_equal(clf._sgd_state["params"], params)
    assert np.all(np.isfinite(clf.predict_proba(X)))


def test_diverging_sgd_fit_warns():
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="diverge"):
        clf = SoftmaxClassifier(
            solver="sgd", eta0=1e10, learning_rate="constant", max_iter=5
        ).fit(X, y)
    assert np.all(np.isfinite(clf.coef_))


def test_partial_fit_of_an_lbfgs_estimator_says_what_to_change():
    clf = SoftmaxClassifier()
    assert not hasattr(clf, "partial_fit")
    with pytest.raises(AttributeError, match="solver='sgd'"):
        clf.partial_fit(*_data(), classes=[0, 1, 2])


@pytest.mark.parametrize(
    "shape", [(60, 4, 3), (600, 300, 200)], ids=["scipy", "two-loop"]
)
@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_max_iter_zero_is_zero_iterations_for_every_backend(shape, l1_ratio):
    n, d, k = shape
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, d)), np.arange(n) % k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(max_iter=0, l1_ratio=l1_ratio).fit(X, y)
    assert clf.n_iter_ == 0
