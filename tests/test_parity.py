"""Same objective, same model: parity with LogisticRegression."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

TIGHT = dict(tol=1e-10, max_iter=10000)


def _scaled(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _synthetic(n=600, d=8, K=4, seed=0):
    X, y = datasets.make_classification(
        n_samples=n, n_features=d, n_informative=5, n_classes=K, random_state=seed
    )
    return X, y


def _fit_both(X, y, *, C=1.0, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = SoftmaxClassifier(C=C, **TIGHT, **params).fit(
            X, y, sample_weight=sample_weight
        )
        ref = LogisticRegression(C=C, **TIGHT, **params).fit(
            X, y, sample_weight=sample_weight
        )
    return ours, ref


def _assert_same_model(ours, ref, X, atol=1e-5, coef_atol=None):
    np.testing.assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape
    assert ours.intercept_.shape == ref.intercept_.shape
    assert np.abs(ours.predict_proba(X) - ref.predict_proba(X)).max() < atol
    if coef_atol is not None:
        np.testing.assert_allclose(ours.coef_, ref.coef_, atol=coef_atol)
        np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=coef_atol)
    agree = np.mean(ours.predict(X) == ref.predict(X))
    assert agree > 0.99


@pytest.mark.parametrize(
    "loader",
    [
        datasets.load_iris,
        datasets.load_wine,
        datasets.load_digits,
        datasets.load_breast_cancer,
    ],
    ids=["iris", "wine", "digits", "breast_cancer"],
)
def test_parity_on_bundled_datasets(loader):
    X, y = _scaled(loader)
    ours, ref = _fit_both(X, y)
    _assert_same_model(ours, ref, X, coef_atol=1e-4)


@pytest.mark.parametrize("K", [2, 3, 5])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_parity_synthetic_with_sample_weight(K, C):
    X, y = _synthetic(K=K)
    sw = np.random.default_rng(0).uniform(0.0, 3.0, X.shape[0])
    ours, ref = _fit_both(X, y, C=C, sample_weight=sw)
    _assert_same_model(ours, ref, X, coef_atol=1e-4)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}])
def test_parity_class_weight(class_weight):
    X, y = _synthetic(K=3)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    ours, ref = _fit_both(X, y, class_weight=class_weight, sample_weight=sw)
    _assert_same_model(ours, ref, X, coef_atol=1e-4)


@pytest.mark.parametrize("K", [2, 4])
def test_parity_without_intercept(K):
    X, y = _synthetic(K=K)
    ours, ref = _fit_both(X, y, fit_intercept=False)
    _assert_same_model(ours, ref, X, coef_atol=1e-4)
    assert np.all(ours.intercept_ == 0)


def test_parity_no_penalty():
    X, y = _scaled(datasets.load_iris)
    ours = SoftmaxClassifier(C=np.inf, tol=1e-8, max_iter=20000).fit(X, y)
    ref = LogisticRegression(C=np.inf, tol=1e-8, max_iter=20000).fit(X, y)
    # Unpenalised: the optimum is flat along some directions, so compare the
    # fitted probabilities (the quantity both determine) on the training data.
    assert np.abs(ours.predict_proba(X) - ref.predict_proba(X)).max() < 1e-3
    np.testing.assert_allclose(ours.coef_.sum(axis=0), 0, atol=1e-8)


@pytest.mark.parametrize("K", [2, 3])
def test_parity_float32(K):
    X, y = _synthetic(K=K)
    X32 = X.astype(np.float32)
    ours, ref = _fit_both(X32, y)
    assert ours.coef_.dtype == np.float32 and ours.intercept_.dtype == np.float32
    assert ours.predict_proba(X32).dtype == np.float32
    assert ours.decision_function(X32).dtype == np.float32
    _assert_same_model(ours, ref, X32, atol=2e-3)


@pytest.mark.parametrize("K", [2, 4])
def test_parity_csr(K):
    X, y = _synthetic(n=500, d=30, K=K)
    X[np.random.default_rng(0).random(X.shape) < 0.7] = 0.0
    Xs = sp.csr_matrix(X)
    ours, ref = _fit_both(Xs, y)
    _assert_same_model(ours, ref, Xs, coef_atol=1e-4)
    dense = SoftmaxClassifier(**TIGHT).fit(X, y)
    np.testing.assert_allclose(ours.coef_, dense.coef_, atol=1e-6)


def test_parity_string_labels():
    X, y = _scaled(datasets.load_iris)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    ours, ref = _fit_both(X, names)
    _assert_same_model(ours, ref, X, coef_atol=1e-4)
    assert set(ours.predict(X)) <= set(names)


def test_binary_shapes_match_logistic_regression():
    X, y = _scaled(datasets.load_breast_cancer)
    ours, ref = _fit_both(X, y)
    assert ours.coef_.shape == (1, X.shape[1]) and ours.intercept_.shape == (1,)
    assert ours.decision_function(X).shape == (X.shape[0],)
    np.testing.assert_allclose(
        ours.decision_function(X), ref.decision_function(X), rtol=1e-4, atol=1e-4
    )


def test_log_proba_is_finite_far_from_data():
    X, y = _scaled(datasets.load_iris)
    ours, ref = _fit_both(X, y)
    far = 1e4 * np.ones((3, X.shape[1]))
    with np.errstate(divide="ignore"):
        ref_log = ref.predict_log_proba(far)
    assert np.isinf(ref_log).any()  # what this estimator improves on
    log_p = ours.predict_log_proba(far)
    assert np.all(np.isfinite(log_p))
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0)
    near = X[:20]
    np.testing.assert_allclose(
        ours.predict_log_proba(near), np.log(ours.predict_proba(near)), atol=1e-10
    )
