"""The two-loop L-BFGS takes the steps of scipy's L-BFGS-B (without bounds)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.datasets import make_classification

from sklearn_softmax import SoftmaxClassifier, _kernels
from sklearn_softmax._arrays import Targets
from sklearn_softmax._config import compute_threads
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._solvers import _lbfgs as lbfgs_module
from sklearn_softmax._solvers import lbfgs, lbfgs_two_loop


def _objective(n=800, d=15, k=4, C=1.0, sparse=False, weights=False, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=8, n_classes=k, random_state=seed
    )
    sw = np.random.default_rng(seed).uniform(0.2, 3.0, n) if weights else np.ones(n)
    X = sp.csr_matrix(X) if sparse else X
    return SoftmaxObjective(X, Targets.from_labels(y, k), sw, C=C, fit_intercept=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(C=1e4, k=6, seed=1),
        dict(sparse=True, k=3, seed=2),
        dict(weights=True, d=40, seed=3),
        dict(C=np.inf, n=300, seed=4),
    ],
)
def test_same_iterates_as_scipy(kwargs):
    obj = _objective(**kwargs)
    theta0 = np.zeros(obj.n_params)
    with compute_threads(None):
        ref = lbfgs(obj, theta0, max_iter=200, tol=1e-6, backend="scipy")
        new = lbfgs(obj, theta0, max_iter=200, tol=1e-6, backend="two-loop")
    assert new.n_iter == ref.n_iter
    assert new.converged == ref.converged
    assert new.message == ref.message
    # The same steps: the objective after every iteration agrees to rounding.
    np.testing.assert_allclose(new.history, ref.history, rtol=1e-12)
    np.testing.assert_allclose(new.theta, ref.theta, rtol=1e-6, atol=1e-8)


def test_stops_like_scipy():
    obj = _objective()
    theta0 = np.zeros(obj.n_params)
    with compute_threads(None):
        for max_iter, tol in [(1, 1e-4), (7, 1e-4), (200, 1e3)]:
            ref = lbfgs(obj, theta0, max_iter=max_iter, tol=tol, backend="scipy")
            new = lbfgs_two_loop(obj, theta0, max_iter=max_iter, tol=tol)
            assert (new.n_iter, new.converged, new.message) == (
                ref.n_iter,
                ref.converged,
                ref.message,
            )
            assert new.objective == pytest.approx(ref.objective, rel=1e-13)


class _Uphill:
    """The gradient has the wrong sign: every step along -g increases f."""

    parallel = False

    def loss_gradient(self, theta):
        return float(np.sum(theta**2)), -2.0 * theta


class _NaNAway:
    """Finite only at the start: every trial step gives NaN."""

    parallel = False

    def loss_gradient(self, theta):
        if np.array_equal(theta, np.ones(5)):
            return float(np.sum(theta**2)), 2.0 * theta
        return np.nan, np.full(5, np.nan)


@pytest.mark.parametrize("broken", [_Uphill(), _NaNAway()])
def test_failed_line_searches_end_as_in_scipy(broken):
    ref = minimize(
        broken.loss_gradient,
        np.ones(5),
        jac=True,
        method="L-BFGS-B",
        options={"maxls": 50, "gtol": 1e-8, "ftol": 64 * np.finfo(float).eps},
    )
    res = lbfgs_two_loop(broken, np.ones(5), max_iter=50, tol=1e-8)
    assert res.converged == ref.success
    assert res.message.split(":")[0] == ref.message.split(":")[0]
    assert res.n_iter == ref.nit
    np.testing.assert_array_equal(res.theta, ref.x)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        lbfgs(_objective(), np.zeros(64), backend="newton")


@pytest.mark.parametrize("parallel", [False, True])
def test_axpy_dot_against_numpy(parallel):
    rng = np.random.default_rng(0)
    for n in (1, 15, 16, 1001):
        q, y, s = rng.standard_normal((3, n))
        parts = np.empty(16)
        kernel = _kernels.axpy_dot if parallel else _kernels.axpy_dot_serial
        expected = q - 0.7 * y
        kernel(q, 0.7, y, s, parts)
        # Fused multiply-add: equal to rounding, not bitwise.
        np.testing.assert_allclose(q, expected, rtol=1e-14, atol=1e-15)
        assert parts.sum() == pytest.approx(np.dot(s, expected), rel=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_estimator_uses_two_loop_from_the_threshold(monkeypatch, sparse):
    X, y = make_classification(
        n_samples=1500, n_features=12, n_informative=6, n_classes=3, random_state=5
    )
    X = sp.csr_matrix(X) if sparse else X
    ref = SoftmaxClassifier(C=0.5).fit(X, y)
    calls = []
    original = lbfgs_module.lbfgs_two_loop

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(lbfgs_module, "lbfgs_two_loop", spy)
    monkeypatch.setattr(lbfgs_module, "TWO_LOOP_MIN_PARAMS", 0)
    fits = [SoftmaxClassifier(C=0.5, n_jobs=n_jobs).fit(X, y) for n_jobs in (1, 2)]
    assert len(calls) == 2
    assert fits[0].n_iter_ == ref.n_iter_
    np.testing.assert_allclose(fits[0].coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    # Fixed chunks in the vector kernel: bitwise the same for any thread count.
    np.testing.assert_array_equal(fits[1].coef_, fits[0].coef_)
    np.testing.assert_array_equal(fits[1].intercept_, fits[0].intercept_)


def _naive_direction(g, pairs):
    """-H g by the textbook two-loop recursion; pairs oldest first."""
    q = -g.copy()
    alphas = []
    for s, y in reversed(pairs):
        a = np.dot(s, q) / np.dot(s, y)
        q -= a * y
        alphas.append(a)
    s, y = pairs[-1]
    q *= np.dot(s, y) / np.dot(y, y)
    for (s, y), a in zip(pairs, reversed(alphas), strict=True):
        q += (a - np.dot(y, q) / np.dot(s, y)) * s
    return q


@pytest.mark.parametrize("parallel", [False, True])
def test_memory_keeps_the_last_pairs_and_survives_a_rejected_one(parallel):
    from sklearn_softmax._solvers._two_loop import _Memory

    rng = np.random.default_rng(0)
    n, m = 50, 3
    A = rng.standard_normal((n, n))
    A = A @ A.T + n * np.eye(n)  # pairs of a convex quadratic: s'y > 0
    mem = _Memory(n, m, parallel)
    pairs = []
    for _ in range(5):
        s_new = rng.standard_normal(n)
        y_new = A @ s_new
        s, y = mem.slot()
        s[:], y[:] = s_new, y_new
        mem.commit(np.dot(s_new, y_new), np.dot(y_new, y_new))
        pairs.append((s_new, y_new))
    g = rng.standard_normal(n)
    expected = _naive_direction(g, pairs[-m:])
    np.testing.assert_allclose(mem.direction(g), expected, rtol=1e-12)
    # A pair written but not committed (too little curvature) changes nothing.
    s, y = mem.slot()
    s[:], y[:] = rng.standard_normal((2, n))
    np.testing.assert_allclose(mem.direction(g), expected, rtol=1e-12)
    assert mem.count == m


def test_without_scipys_line_search_auto_falls_back(monkeypatch):
    from sklearn_softmax import _compat

    obj = _objective()
    with compute_threads(None):
        ref = lbfgs(obj, np.zeros(obj.n_params), backend="scipy")
        monkeypatch.setattr(_compat, "DCSRCH", None)
        monkeypatch.setattr(lbfgs_module, "TWO_LOOP_MIN_PARAMS", 0)
        res = lbfgs(obj, np.zeros(obj.n_params))
        np.testing.assert_array_equal(res.theta, ref.theta)
        with pytest.raises(ImportError, match="_dcsrch"):
            lbfgs(obj, np.zeros(obj.n_params), backend="two-loop")


def test_large_sparse_fit_at_the_real_threshold(monkeypatch):
    # 10 classes x 5001 columns: above TWO_LOOP_MIN_PARAMS, so the default
    # fit runs the two-loop recursion; it must match scipy's L-BFGS-B.
    rng = np.random.default_rng(0)
    X = sp.random(3000, 5000, density=0.004, format="csr", random_state=rng)
    W = rng.standard_normal((10, 5000))
    y = np.argmax(X @ W.T + rng.gumbel(size=(3000, 10)), axis=1)
    assert 10 * 5001 >= lbfgs_module.TWO_LOOP_MIN_PARAMS
    fast = SoftmaxClassifier(C=10.0, max_iter=300).fit(X, y)
    monkeypatch.setattr(lbfgs_module, "TWO_LOOP_MIN_PARAMS", 10**9)
    ref = SoftmaxClassifier(C=10.0, max_iter=300).fit(X, y)
    assert fast.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(fast.coef_, ref.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        fast.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-8
    )
