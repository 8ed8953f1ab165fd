"""Hessian-vector products: against finite differences, a dense Hessian, twins."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_softmax._arrays import Targets
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._penalty import ElasticNet


def _problem(
    K=4,
    n=700,
    d=6,
    *,
    sparse=False,
    dtype=np.float64,
    weights=False,
    fit_intercept=True,
    label_smoothing=0.0,
    soft=False,
    C=1.0,
    parallel=True,
    seed=0,
):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if sparse:
        X[rng.random((n, d)) < 0.6] = 0.0
        X = sp.csr_matrix(X.astype(dtype))
    else:
        X = X.astype(dtype)
    y = rng.integers(0, K, n)
    if soft:
        prob = rng.dirichlet(np.ones(K), n)
        targets = Targets(
            ptr=np.arange(0, n * K + 1, K, dtype=np.int64),
            cls=np.tile(np.arange(K, dtype=np.int64), n),
            prob=prob.ravel(),
            n_classes=K,
        )
    else:
        targets = Targets.from_labels(y, K)
    sw = rng.uniform(0.0, 3.0, n) if weights else np.ones(n)
    if weights:
        sw[:20] = 0.0  # rows of weight zero add nothing
    obj = SoftmaxObjective(
        X,
        targets,
        sw,
        C=C,
        fit_intercept=fit_intercept,
        label_smoothing=label_smoothing,
        parallel=parallel,
    )
    theta = rng.standard_normal(obj.n_params) * 0.5
    return obj, theta, rng


CASES = {
    "dense": {},
    "csr": dict(sparse=True),
    "float32": dict(dtype=np.float32),
    "csr-float32": dict(sparse=True, dtype=np.float32),
    "binary": dict(K=2),
    "binary-csr": dict(K=2, sparse=True),
    "weights": dict(weights=True),
    "no-intercept": dict(fit_intercept=False),
    "binary-no-intercept": dict(K=2, fit_intercept=False, weights=True),
    "smoothing": dict(label_smoothing=0.2),
    "soft": dict(soft=True),
    "soft-csr": dict(soft=True, sparse=True, weights=True),
    "unpenalised": dict(C=np.inf),
}


def _dense_hessian(hessp, n_params):
    return np.column_stack([hessp(e) for e in np.eye(n_params)])


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_hessp_matches_finite_differences(case):
    params = CASES[case]
    obj, theta, rng = _problem(**params)
    loss, grad, hessp = obj.gradient_hessian_product(theta)
    loss_ref, grad_ref = obj.loss_gradient(theta)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-14)
    f32 = params.get("dtype") is np.float32 and not params.get("sparse")
    # Dense float32 data compute in float32: a wider step, looser tolerance.
    h, rtol = (1e-3, 2e-3) if f32 else (1e-5, 1e-6)
    for _ in range(3):
        v = rng.standard_normal(obj.n_params)
        fd = obj.loss_gradient(theta + h * v)[1] - obj.loss_gradient(theta - h * v)[1]
        fd /= 2 * h
        Hv = hessp(v)
        assert Hv.shape == (obj.n_params,) and Hv.dtype == np.float64
        err = np.abs(Hv - fd).max() / np.abs(fd).max()
        assert err < rtol, err


def _reference_hessian(obj, theta):
    # The Hessian assembled in numpy from its definition, row by row.
    K, d = obj.n_classes, obj.n_features
    X = obj.data.X_args
    X = (
        sp.csr_matrix((X[0], X[1], X[2]), shape=(obj.n_samples, d)).toarray()
        if obj.data.sparse
        else X[0]
    ).astype(np.float64)
    coef, intercept = obj.unpack(theta)
    Z = X @ coef.T + intercept
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    Xt = np.hstack([X, np.ones((X.shape[0], 1))]) if obj.fit_intercept else X
    m = Xt.shape[1]
    H = np.zeros((K * m, K * m))
    sw = obj.data.sample_weight
    for i in range(X.shape[0]):
        A = np.diag(P[i]) - np.outer(P[i], P[i])
        H += sw[i] * np.kron(A, np.outer(Xt[i], Xt[i]))
    reg = np.zeros((K, m))
    reg[:, :d] = obj.penalty.l2
    H += np.diag(reg.ravel())
    return H / obj.sw_sum


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_hessp_matches_dense_hessian(case):
    params = CASES[case]
    obj, theta, _ = _problem(n=300, d=4, **params)
    _, _, hessp = obj.gradient_hessian_product(theta)
    H = _dense_hessian(hessp, obj.n_params)
    H_ref = _reference_hessian(obj, theta)
    f32 = params.get("dtype") is np.float32 and not params.get("sparse")
    tol = 1e-5 if f32 else 1e-12
    np.testing.assert_allclose(H, H_ref, rtol=tol, atol=tol * np.abs(H_ref).max())
    # Symmetric to rounding, positive semidefinite.
    np.testing.assert_allclose(H, H.T, atol=tol * np.abs(H).max())
    assert np.linalg.eigvalsh(0.5 * (H + H.T)).min() > -1e-10
    np.testing.assert_allclose(
        hessp.diagonal(), np.diag(H_ref), rtol=10 * tol, atol=tol
    )


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("K", [2, 5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_serial_twin_is_bitwise_equal(sparse, K, dtype):
    # Enough rows for several chunks (dense) and row groups (CSR).
    kw = dict(K=K, n=5000, d=30, sparse=sparse, dtype=dtype, weights=True)
    par, theta, rng = _problem(parallel=True, **kw)
    ser, _, _ = _problem(parallel=False, **kw)
    lp, gp, hp = par.gradient_hessian_product(theta)
    ls, gs, hs = ser.gradient_hessian_product(theta)
    assert lp == ls
    np.testing.assert_array_equal(gp, gs)
    for _ in range(2):
        v = rng.standard_normal(par.n_params)
        np.testing.assert_array_equal(hp(v), hs(v))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_gradient_equals_loss_gradient(sparse):
    # The kernel that keeps the probabilities computes the same loss and
    # gradient as the one lbfgs uses.
    obj, theta, _ = _problem(n=3000, d=20, sparse=sparse, weights=True)
    loss, grad, _ = obj.gradient_hessian_product(theta)
    loss_ref, grad_ref = obj.loss_gradient(theta)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-14)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-12, atol=1e-16)


def test_products_at_an_earlier_point_stay_valid():
    # Each evaluation keeps its own probabilities: a rejected trust-region
    # step must not change the Hessian of the current point.
    obj, theta, rng = _problem()
    _, _, hessp = obj.gradient_hessian_product(theta)
    v = rng.standard_normal(obj.n_params)
    before = hessp(v)
    obj.gradient_hessian_product(theta + 1.0)
    np.testing.assert_array_equal(hessp(v), before)


def test_l1_objective_refuses_hessian():
    obj, theta, _ = _problem()
    obj.set_penalty(ElasticNet(1.0, 0.5))
    with pytest.raises(ValueError, match="smooth objective"):
        obj.gradient_hessian_product(theta)


@pytest.mark.parametrize("sparse", [False, True])
def test_direction_of_another_shape_is_refused(sparse):
    # The kernels do not check bounds: a wrong direction must not reach them.
    obj, theta, _ = _problem(sparse=sparse)
    coef, intercept = obj.unpack(theta)
    _, _, data_hessp = obj.data.loss_gradient_hessp(coef, intercept)
    K, d = coef.shape
    with pytest.raises(ValueError, match="direction of shape"):
        data_hessp(np.zeros((K, d + 1)), np.zeros(K))
    with pytest.raises(ValueError, match="direction of shape"):
        data_hessp(np.zeros((K, d)), np.zeros(K + 1))
    data_hessp(np.zeros((K, d)), np.zeros(K))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_diagonal_by_slices_of_rows(sparse, monkeypatch):
    # Many rows go through the diagonal in slices (bounded temporaries); the
    # slices add up to the diagonal of one slice and of the products.
    import sklearn_softmax._hessian as hessian

    obj, theta, _ = _problem(K=3, n=9000, d=5, sparse=sparse, weights=True)
    _, _, hessp = obj.gradient_hessian_product(theta)
    whole = hessp.diagonal()
    monkeypatch.setattr(hessian, "_DIAGONAL_SLICE", 1)  # slices of 4096 rows
    sliced = hessp.diagonal()
    np.testing.assert_allclose(sliced, whole, rtol=1e-13)
    eye = np.eye(obj.n_params)
    by_products = np.array([hessp(e)[i] for i, e in enumerate(eye)])
    np.testing.assert_allclose(whole, by_products, rtol=1e-12)
