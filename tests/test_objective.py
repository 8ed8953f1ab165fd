"""The objective: value against the reference, finite differences, optimality."""

import gc
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import dense_targets, objective
from scipy.optimize import check_grad

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets
from sklearn_softmax._objective import SoftmaxObjective


def _setup(rng, n=200, d=5, K=3, sparse=False, soft=False, fit_intercept=True, C=0.7):
    X = rng.standard_normal((n, d))
    if sparse:
        X[rng.random((n, d)) < 0.5] = 0
        X = sp.csr_matrix(X)
    if soft:
        targets = Targets.from_proba(rng.dirichlet(np.ones(K), size=n))
    else:
        targets = Targets.from_labels(rng.integers(0, K, n), K)
    sw = rng.uniform(0.5, 1.5, n)
    obj = SoftmaxObjective(
        X, targets, sw, C=C, fit_intercept=fit_intercept, label_smoothing=0.1
    )
    return X, targets, sw, obj


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("C", [0.7, np.inf])
def test_gradient_matches_finite_differences(sparse, soft, fit_intercept, C):
    rng = np.random.default_rng(0)
    X, targets, sw, obj = _setup(
        rng, sparse=sparse, soft=soft, fit_intercept=fit_intercept, C=C
    )
    theta = 0.3 * rng.standard_normal(obj.n_params)
    err = check_grad(obj.loss, lambda t: obj.loss_gradient(t)[1], theta, epsilon=1e-6)
    assert err < 1e-6 * max(1.0, np.linalg.norm(obj.loss_gradient(theta)[1]))
    coef, intercept = obj.unpack(theta)
    ref = objective(X, dense_targets(targets), sw, coef, intercept, C, eps=0.1)
    assert obj.loss(theta) == pytest.approx(ref, rel=1e-12)


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(1)
    _, _, _, obj = _setup(rng)
    coef, intercept = rng.standard_normal((3, 5)), rng.standard_normal(3)
    c2, i2 = obj.unpack(obj.pack(coef, intercept))
    np.testing.assert_array_equal(c2, coef)
    np.testing.assert_array_equal(i2, intercept)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_balance_property(n_classes):
    # With an unpenalised intercept, the optimum's weighted mean predicted
    # probability of each class equals its weighted frequency.
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 4))
    y = rng.integers(0, n_classes, 400)
    sw = rng.uniform(0.1, 3.0, 400)
    clf = SoftmaxClassifier(C=0.5, tol=1e-10, max_iter=1000).fit(X, y, sample_weight=sw)
    P = clf.predict_proba(X)
    freq = np.array([sw[y == k].sum() for k in range(n_classes)]) / sw.sum()
    np.testing.assert_allclose(sw @ P / sw.sum(), freq, atol=1e-8)


def test_binary_objective_is_logistic_regression_objective():
    # Two symmetric softmax rows with a doubled quadratic term give the logistic loss
    # with LogisticRegression's penalty ||w||^2 / (2 C S) on w = w1 - w0.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 3))
    y = rng.integers(0, 2, 50)
    sw = np.ones(50)
    C = 0.3
    obj = SoftmaxObjective(X, Targets.from_labels(y, 2), sw, C=C, fit_intercept=True)
    w, b = rng.standard_normal(3), 0.4
    theta = obj.pack(np.stack([-w / 2, w / 2]), np.array([-b / 2, b / 2]))
    z = X @ w + b
    logistic = np.mean(np.logaddexp(0, z) - y * z) + w @ w / (2 * C * 50)
    assert obj.loss(theta) == pytest.approx(logistic, rel=1e-12)


def test_large_partials_live_and_die_with_their_objective():
    # Wide CSR evaluations reuse one large partial-gradient buffer between
    # calls; it belongs to the objective, so nothing stays allocated once the
    # fit that built the objective is over.
    rng = np.random.default_rng(3)
    X = sp.random(2000, 3000, density=0.002, format="csr", random_state=3)
    y = rng.integers(0, 10, 2000)
    obj = SoftmaxObjective(
        X, Targets.from_labels(y, 10), np.ones(2000), C=1.0, fit_intercept=True
    )
    theta = rng.standard_normal(obj.n_params) * 0.01
    first = obj.loss_gradient(theta)
    buf = obj.data._workspace["partials"]
    assert buf.nbytes >= 2**20
    second = obj.loss_gradient(theta)
    assert obj.data._workspace["partials"] is buf
    # Reuse changes nothing: same bits.
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    alive = weakref.ref(buf)
    del obj, buf
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("sparse", [False, True])
def test_last_point_is_not_evaluated_twice(sparse):
    # A regularisation path starts every solve at the previous solve's last
    # point: the data term's sums there are kept across set_penalty, with the
    # bits a new pass gives, and products are computed when first asked for.
    from sklearn_softmax._penalty import ElasticNet

    rng = np.random.default_rng(3)
    X, targets, sw, obj = _setup(rng, sparse=sparse)
    calls = []
    for name in ("loss_gradient", "loss_gradient_hessp"):
        method = getattr(obj.data, name)

        def counted(*args, _method=method, _name=name):
            calls.append(_name)
            return _method(*args)

        setattr(obj.data, name, counted)
    theta = rng.standard_normal(obj.n_params)
    obj.loss_gradient(theta)
    obj.set_penalty(ElasticNet.for_estimator(5.0, 0.0, 3))
    loss, grad = obj.loss_gradient(theta.copy())
    assert calls == ["loss_gradient"]
    fresh = SoftmaxObjective(
        X, targets, sw, C=5.0, fit_intercept=True, label_smoothing=0.1
    )
    ref_loss, ref_grad = fresh.loss_gradient(theta)
    assert loss == ref_loss
    np.testing.assert_array_equal(grad, ref_grad)
    # The kept gradient is not the caller's array to change.
    grad[:] = np.nan
    np.testing.assert_array_equal(obj.loss_gradient(theta)[1], ref_grad)
    # Products were not kept: one pass that keeps them, then none.
    _, g1, hessp = obj.gradient_hessian_product(theta)
    _, g2, hessp2 = obj.gradient_hessian_product(theta)
    assert calls == ["loss_gradient", "loss_gradient_hessp"]
    np.testing.assert_array_equal(g1, ref_grad)
    np.testing.assert_array_equal(g2, ref_grad)
    v = rng.standard_normal(obj.n_params)
    _, _, ref_hessp = fresh.gradient_hessian_product(theta)
    np.testing.assert_array_equal(hessp(v), ref_hessp(v))
    np.testing.assert_array_equal(hessp2(v), ref_hessp(v))
    # Any other point is evaluated.
    other = theta.copy()
    other[0] = np.nextafter(other[0], np.inf)
    obj.loss_gradient(other)
    assert calls[-1] == "loss_gradient" and len(calls) == 3
