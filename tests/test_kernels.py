"""Every kernel against a naive NumPy reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import data_term, dense_targets
from scipy.special import log_softmax as np_log_softmax
from scipy.special import logsumexp
from scipy.special import softmax as np_softmax

from sklearn_softmax import _kernels
from sklearn_softmax._arrays import Targets
from sklearn_softmax._arrays import prepare_X as _prepare_X
from sklearn_softmax._datafit import data_loss_gradient
from sklearn_softmax._predict import linear_predictor, log_softmax, softmax

RTOL = {np.float64: 1e-10, np.float32: 2e-5}


def _problem(rng, n=300, d=7, K=4, dtype=np.float64, scale=1.0, sparse=False):
    X = rng.standard_normal((n, d))
    if sparse:
        X[rng.random((n, d)) < 0.6] = 0.0
        X = sp.csr_matrix(X)
    X = X.astype(dtype)
    coef = (scale * rng.standard_normal((K, d))).astype(dtype)
    intercept = rng.standard_normal(K).astype(dtype)
    y = rng.integers(0, K, n)
    sw = rng.uniform(0.1, 2.0, n)
    return X, coef, intercept, y, sw


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("soft", [False, True])
def test_data_loss_gradient_matches_reference(dtype, sparse, parallel, eps, soft):
    rng = np.random.default_rng(0)
    X, coef, intercept, y, sw = _problem(rng, dtype=dtype, sparse=sparse)
    if soft:
        targets = Targets.from_proba(rng.dirichlet(np.ones(4), size=y.shape[0]))
    else:
        targets = Targets.from_labels(y, 4)
    is_sparse, X_args, _, _ = _prepare_X(X)
    loss, grad = data_loss_gradient(
        X_args, is_sparse, targets, sw, coef, intercept, eps, parallel
    )
    ref_loss, ref_grad = data_term(X, dense_targets(targets), sw, coef, intercept, eps)
    rtol = RTOL[dtype]
    assert grad.shape == (4, 8)
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol)
    np.testing.assert_allclose(
        grad, ref_grad, rtol=rtol, atol=rtol * np.abs(ref_grad).max()
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 7, 700, 3000])
@pytest.mark.parametrize("K", [2, 3])
def test_dense_blocks_of_every_size(dtype, d, K):
    # The dense kernel walks blocks of 8 to 256 rows chosen from d and the
    # dtype, and a shorter last block per chunk: odd n and wide d reach the
    # small blocks, the tails and the one-logit binary path.
    rng = np.random.default_rng(9)
    X, coef, intercept, y, sw = _problem(rng, n=603, d=d, K=K, dtype=dtype)
    targets = Targets.from_labels(y, K)
    for parallel in (True, False):
        loss, grad = data_loss_gradient(
            (X,), False, targets, sw, coef, intercept, 0.05, parallel
        )
        ref_loss, ref_grad = data_term(
            X, dense_targets(targets), sw, coef, intercept, 0.05
        )
        rtol = RTOL[dtype] * (10 if d > 100 else 1)
        np.testing.assert_allclose(loss, ref_loss, rtol=rtol)
        np.testing.assert_allclose(
            grad, ref_grad, rtol=rtol, atol=rtol * np.abs(ref_grad).max()
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_kernel_is_stable_for_extreme_logits(dtype):
    rng = np.random.default_rng(1)
    X, coef, intercept, y, sw = _problem(rng, n=64, dtype=dtype, scale=1e4)
    targets = Targets.from_labels(y, 4)
    _, X_args, _, _ = _prepare_X(X)
    loss, grad = data_loss_gradient(
        X_args, False, targets, sw, coef, intercept, 0.0, True
    )
    ref_loss, ref_grad = data_term(X, dense_targets(targets), sw, coef, intercept, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(
        loss, ref_loss, rtol=1e-6 if dtype == np.float32 else 1e-12
    )
    np.testing.assert_allclose(
        grad, ref_grad, rtol=1e-4, atol=1e-4 * np.abs(ref_grad).max()
    )


def test_serial_twin_is_bitwise_equal_to_parallel():
    rng = np.random.default_rng(2)
    X, coef, intercept, y, sw = _problem(rng, n=5000, d=13, K=5)
    X_args = (X,)
    targets = Targets.from_labels(np.minimum(y, 4), 5)
    coef = rng.standard_normal((5, 13))
    intercept = rng.standard_normal(5)
    par = data_loss_gradient(X_args, False, targets, sw, coef, intercept, 0.05, True)
    ser = data_loss_gradient(X_args, False, targets, sw, coef, intercept, 0.05, False)
    ref = data_term(X, dense_targets(targets), sw, coef, intercept, 0.05)
    np.testing.assert_allclose(par[1], ref[1], rtol=1e-10, atol=1e-10)
    # Same fixed partition, same order of additions: identical bits.
    assert par[0] == ser[0]
    np.testing.assert_array_equal(par[1], ser[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_linear_predictor(dtype, sparse):
    rng = np.random.default_rng(3)
    X, coef, intercept, _, _ = _problem(rng, dtype=dtype, sparse=sparse)
    Z = linear_predictor(X, coef, intercept)
    dense = X.toarray() if sparse else X
    ref = dense.astype(np.float64) @ coef.astype(np.float64).T + intercept
    assert Z.dtype == dtype and Z.shape == (X.shape[0], 4)
    np.testing.assert_allclose(Z, ref, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_and_log_softmax(dtype, scale):
    rng = np.random.default_rng(4)
    Z = (scale * rng.standard_normal((200, 6))).astype(dtype)
    ref = Z.astype(np.float64)
    P = softmax(Z.copy())
    L = log_softmax(Z.copy())
    rtol = RTOL[dtype]
    tiny = 1e-37 if dtype == np.float32 else 1e-300  # float32 underflows sooner
    np.testing.assert_allclose(P, np_softmax(ref, axis=1), rtol=rtol, atol=tiny)
    np.testing.assert_allclose(L, np_log_softmax(ref, axis=1), rtol=rtol, atol=rtol)
    assert np.all(np.isfinite(L))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=rtol * 10)


def test_row_logsumexp_extremes():
    f = _kernels.row_logsumexp
    z = np.array([1e4, -1e4, 0.0])
    assert f(z) == pytest.approx(logsumexp(z))
    assert f(np.array([-1e308, -1e308])) == pytest.approx(-1e308 + np.log(2))
    assert f(np.array([-np.inf, -np.inf])) == -np.inf
    assert np.isnan(f(np.array([0.0, np.nan])))
    assert np.isnan(f(np.array([np.nan, 0.0])))
    assert f(np.array([np.inf, 0.0])) == np.inf


def test_kernels_propagate_nan():
    # FASTMATH_FLAGS keep nnan off: a NaN input must show up in the output.
    Z = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0]])
    P = softmax(Z.copy())
    assert np.all(np.isnan(P[0])) and np.all(np.isfinite(P[1]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("width", [1, 8, 37])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("K", [2, 5, 13])
def test_block_residual_equals_row_residual(eps, K, width, dtype):
    # The block softmax does the operations of the row version per element;
    # only the compiler's fusing into multiply-adds may differ (1 ulp). With
    # float32 logits the exponentials are stored in float32 before they are
    # normalised: residuals within float32 rounding of the probabilities.
    rng = np.random.default_rng(7)
    scales = np.resize([1, 30, 1, 1e3, 1, 5, 1, 700.0], width)
    T = (rng.standard_normal((K, width)) * scales).astype(dtype)
    T[0, min(2, width - 1)] = -800.0  # below the exponential's clamp
    targets = Targets.from_proba(rng.dirichlet(np.ones(K), size=width))
    sw = rng.uniform(0.5, 2.0, width)
    block = T.copy()
    scratch = np.full((4, width + 3), np.nan)  # wider than the block is fine
    loss = _kernels.block_residual(
        block, 0, targets.ptr, targets.cls, targets.prob, sw, eps, scratch
    )
    rtol, atol = (1e-14, 1e-16) if dtype == np.float64 else (2e-7, 2 * 2.0**-23)
    ref_loss = 0.0
    for r in range(width):
        z = T[:, r].astype(np.float64)
        ref_loss += _kernels.row_residual(
            z, r, targets.ptr, targets.cls, targets.prob, sw[r], eps
        )
        np.testing.assert_allclose(block[:, r], z, rtol=rtol, atol=atol)
    assert loss == pytest.approx(ref_loss, rel=1e-14)


@pytest.mark.parametrize("col", [0, 3, 7])
def test_block_residual_with_non_finite_logits(col):
    # -inf logits beside a finite maximum stay on the vector path (clamped
    # exponential, zero probability); NaN or +inf in a row sends the block
    # row by row, and that row, and only that row, becomes NaN.
    rng = np.random.default_rng(8)
    K, width = 4, 11
    T = rng.standard_normal((K, width))
    y = rng.integers(0, K, width)
    # -inf on a class other than the row's label (else the loss is inf).
    T[(y[(col + 1) % width] + 1) % K, (col + 1) % width] = -np.inf
    cases = {"nan": np.nan, "inf": np.inf, "all -inf": -np.inf}
    targets = Targets.from_labels(y, K)
    sw = np.ones(width)
    scratch = np.empty((4, width))
    for name, value in cases.items():
        U = T.copy()
        if name == "all -inf":
            U[:, col] = value
        else:
            U[2, col] = value
        block = U.copy()
        loss = _kernels.block_residual(
            block, 0, targets.ptr, targets.cls, targets.prob, sw, 0.0, scratch
        )
        assert not np.isfinite(loss), name
        for r in range(width):
            z = U[:, r].copy()
            _kernels.row_residual(
                z, r, targets.ptr, targets.cls, targets.prob, 1.0, 0.0
            )
            np.testing.assert_allclose(block[:, r], z, rtol=1e-14, equal_nan=True)
            assert np.isnan(z).any() == (r == col), (name, r)
    # Without the bad column the -inf logit only zeroes its probability.
    block = T.copy()
    loss = _kernels.block_residual(
        block, 0, targets.ptr, targets.cls, targets.prob, sw, 0.0, scratch
    )
    assert np.isfinite(loss) and np.isfinite(block).all()


def test_exp_clamped_against_numpy():
    # The polynomial exponential of the softmax loops, over its domain x <= 0:
    # relative error 2 ulp near 0, growing to 2.4e-14 near the clamp at -708.
    from sklearn_softmax._kernels._rows import exp_clamped

    rng = np.random.default_rng(10)
    x = np.concatenate(
        [-rng.exponential(1.0, 2000), -rng.uniform(0, 708, 2000), [0.0, -708.0]]
    )
    got = np.array([exp_clamped(v) for v in x])
    np.testing.assert_allclose(got, np.exp(x), rtol=5e-14, atol=0)
    ulp = np.abs(got - np.exp(x)) / np.spacing(np.exp(x))
    assert ulp[x > -1.0].max() <= 2
    # Below the clamp: exp(-708), not a subnormal; NaN propagates.
    assert exp_clamped(-1e4) == pytest.approx(np.exp(-708.0), rel=1e-14)
    assert np.isnan(exp_clamped(np.nan))


def test_log_normal_against_numpy():
    # The vectorisable logarithm of the block softmax: within 2 ulp of np.log
    # for sums of exponentials (>= 1) and for any positive normal number.
    from sklearn_softmax._kernels._rows import log_normal

    rng = np.random.default_rng(11)
    s = np.concatenate(
        [
            1.0 + rng.exponential(1.0, 1000),
            np.exp(rng.uniform(0.0, np.log(1e6), 1000)),
            np.exp(rng.uniform(-700.0, 700.0, 1000)),
            [1.0, 2.0, np.sqrt(2.0), np.nextafter(np.sqrt(2.0), 2.0), 1e-300, 1e300],
        ]
    )
    got = np.array([log_normal(v) for v in s])
    ref = np.log(s)
    assert got[s == 1.0][0] == 0.0
    ulp = np.abs(got - ref) / np.spacing(np.maximum(np.abs(ref), np.spacing(1.0)))
    assert ulp.max() <= 2.0
    # NaN and +inf propagate (a NaN logit must reach the loss).
    assert np.isnan(log_normal(np.nan))
    assert log_normal(np.inf) == np.inf


def test_targets_take_selects_rows():
    rng = np.random.default_rng(5)
    Y = rng.dirichlet(np.ones(3), size=10)
    t = Targets.from_proba(Y).take(np.array([7, 2, 2]))
    np.testing.assert_array_equal(dense_targets(t), Y[[7, 2, 2]])
    lab = Targets.from_labels(np.array([0, 2, 1, 1]), 3).take(np.array([3, 1]))
    np.testing.assert_array_equal(dense_targets(lab), np.eye(3)[[1, 2]])


def test_single_chunk_problems_skip_the_thread_launch(monkeypatch):
    # One chunk has nothing to share out; the parallel twins must not be
    # launched for it (on a busy machine the launch waits for a core).
    def forbidden(*args):
        raise AssertionError("parallel kernel launched for a single chunk")

    for name in ("fused_dense", "linear_dense", "softmax_rows", "log_softmax_rows"):
        monkeypatch.setattr(_kernels, name, forbidden)
    rng = np.random.default_rng(6)
    X, coef, intercept, y, sw = _problem(rng, n=100)
    targets = Targets.from_labels(y, 4)
    loss, _ = data_loss_gradient((X,), False, targets, sw, coef, intercept, 0.0, True)
    assert np.isfinite(loss)
    Z = linear_predictor(X, coef, intercept)
    softmax(Z.copy())
    log_softmax(Z.copy())


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("n_parts", [1, 3, 10])
def test_sum_partials_adds_chunks_in_order(transposed, n_parts):
    rng = np.random.default_rng(n_parts)
    K, m = 7, 700
    shape = (n_parts, m, K) if transposed else (n_parts, K, m)
    G_parts = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)
    expected = G_parts.sum(axis=0)
    expected = expected.T if transposed else expected
    for kernel in (_kernels.sum_partials, _kernels.sum_partials_serial):
        out = np.full((K, m), np.nan)
        kernel(G_parts, transposed, out)
        # Bitwise numpy's sum over axis 0: the chunk order is fixed.
        np.testing.assert_array_equal(out, expected)
