"""Label smoothing, checked against PyTorch's ``CrossEntropyLoss`` formula.

PyTorch's ``CrossEntropyLoss(label_smoothing=eps)`` (``reduction="mean"``, no
class weights) is, for logits ``z_i`` and a class index or probability target
``t_i``, ``mean_i -sum_k ((1 - eps) t_ik + eps / K) log_softmax(z_i)_k``. The
reference below computes it in NumPy, so torch is not needed.
"""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import log_softmax
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._targets import check_label_smoothing, encode_targets

TIGHT = dict(tol=1e-10, max_iter=2000)


def torch_cross_entropy(logits, target, eps):
    """NumPy reference of ``torch.nn.CrossEntropyLoss(label_smoothing=eps)``."""
    n, k = logits.shape
    T = np.eye(k)[target] if target.ndim == 1 else target
    T = (1.0 - eps) * T + eps / k
    return float(-(T * log_softmax(logits, axis=1)).sum(axis=1).mean())


def _data(n=90, d=3, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=(d, k)) + rng.normal(size=(n, k))).argmax(axis=1)
    return X, y


def _reference_fit(X, target, eps, C, k):
    """Minimise the PyTorch loss plus scikit-learn's penalty with BFGS."""
    n, d = X.shape
    rows = 1 if k == 2 else k

    def logits(theta):
        W = theta.reshape(rows, d + 1)
        Z = X @ W[:, :d].T + W[:, d]
        return np.hstack([np.zeros((n, 1)), Z]) if k == 2 else Z

    def f(theta):
        W = theta.reshape(rows, d + 1)[:, :d]
        penalty = (W**2).sum() / (2 * C * n)
        return torch_cross_entropy(logits(theta), target, eps) + penalty

    res = minimize(f, np.zeros(rows * (d + 1)), method="BFGS", options={"gtol": 1e-9})
    Z = logits(res.x)
    return res.x.reshape(rows, d + 1), np.exp(log_softmax(Z, axis=1))


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("eps", [0.05, 0.3])
@pytest.mark.parametrize("C", [0.5, 1e6])
def test_fit_minimises_pytorch_label_smoothing_loss(k, eps, C):
    X, y = _data(k=k, seed=k)
    clf = SoftmaxClassifier(C=C, label_smoothing=eps, **TIGHT).fit(X, y)
    theta, proba = _reference_fit(X, y, eps, C, k)
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-5)
    if k == 2 or C < 1:  # otherwise the softmax shift is nearly free
        coef = theta[:, :-1] - (0 if k == 2 else theta[:, :-1].mean(axis=0))
        np.testing.assert_allclose(clf.coef_, coef, atol=1e-4)


@pytest.mark.parametrize("soft", [False, True])
def test_objective_value_is_pytorch_formula_plus_penalty(soft):
    X, y = _data(seed=5)
    rng = np.random.default_rng(5)
    target = rng.dirichlet(np.ones(3), size=X.shape[0]) if soft else y
    eps, C = 0.2, 1.5
    enc = encode_targets(target)
    obj = SoftmaxObjective(
        X,
        enc.targets,
        enc.sample_weight,
        C=C,
        fit_intercept=True,
        label_smoothing=eps,
    )
    theta = rng.normal(size=obj.n_params)
    W = theta.reshape(3, 4)
    expected = torch_cross_entropy(X @ W[:, :3].T + W[:, 3], target, eps)
    expected += (W[:, :3] ** 2).sum() / (2 * C * X.shape[0])
    assert obj.loss(theta) == pytest.approx(expected, rel=1e-12)


def test_smoothing_soft_targets_equals_fitting_smoothed_targets():
    X, y = _data(seed=6)
    Y = np.random.default_rng(6).dirichlet(np.ones(3), size=X.shape[0])
    eps = 0.25
    smoothed = SoftmaxClassifier(label_smoothing=eps, **TIGHT).fit(X, Y)
    direct = SoftmaxClassifier(**TIGHT).fit(X, (1 - eps) * Y + eps / 3)
    np.testing.assert_allclose(smoothed.coef_, direct.coef_, atol=1e-7)
    np.testing.assert_allclose(smoothed.intercept_, direct.intercept_, atol=1e-7)


def test_smoothing_caps_confidence_on_separable_data():
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(loc=c * 10, size=(30, 2)) for c in range(3)])
    y = np.repeat([0, 1, 2], 30)
    eps = 0.3
    clf = SoftmaxClassifier(C=1e8, label_smoothing=eps, **TIGHT).fit(X, y)
    top = clf.predict_proba(X).max(axis=1)
    # The (nearly) unpenalised optimum matches the smoothed target 1 - eps + eps / K.
    assert top.max() < 1 - eps + eps / 3 + 1e-3
    np.testing.assert_array_equal(clf.predict(X), y)


def test_zero_smoothing_is_the_default_model():
    X, y = _data(seed=8)
    a = SoftmaxClassifier().fit(X, y)
    b = SoftmaxClassifier(label_smoothing=0.0).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = SoftmaxClassifier(label_smoothing=0.1).fit(X, y)
    assert not np.allclose(a.coef_, c.coef_)


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, np.nan, "0.1"])
def test_invalid_label_smoothing_raises(bad):
    X, y = _data(seed=9)
    with pytest.raises(ValueError, match="label_smoothing"):
        SoftmaxClassifier(label_smoothing=bad).fit(X, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        check_label_smoothing(bad)


def test_check_label_smoothing_accepts_valid_values():
    assert check_label_smoothing(0) == 0.0
    assert check_label_smoothing(np.float32(0.5)) == 0.5


@parametrize_with_checks([SoftmaxClassifier(label_smoothing=0.1)])
def test_sklearn_compatible_with_smoothing(estimator, check):
    check(estimator)
