"""Newton-CG with a subsampled Hessian: the operator, its scaling, the solver."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import datasets
from sklearn.linear_model import LogisticRegression

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets
from sklearn_softmax._config import compute_threads
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._solvers import hessian_fraction, newton_cg

SPARSE = pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])


def _data(n=600, d=8, K=4, seed=0):
    X, y = datasets.make_classification(
        n_samples=n, n_features=d, n_informative=5, n_classes=K, random_state=seed
    )
    sw = np.random.default_rng(seed).uniform(0.5, 2.0, n)
    return X, y, sw


def _objective(X, y, sw, sparse=False, C=1.0, **kw):
    X = sp.csr_matrix(X) if sparse else X
    K = int(np.max(y)) + 1
    return SoftmaxObjective(
        X, Targets.from_labels(y, K), sw, C=C, fit_intercept=True, **kw
    )


def _point(obj, seed=1):
    rng = np.random.default_rng(seed)
    return 0.3 * rng.standard_normal(obj.n_params), rng.standard_normal(obj.n_params)


@SPARSE
@pytest.mark.parametrize("K", [2, 4])
def test_all_rows_give_the_full_hessian(sparse, K):
    X, y, sw = _data(K=K)
    obj = _objective(X, y, sw, sparse)
    theta, v = _point(obj)
    sub = obj.subsampled_hessian(1.0)
    assert sub.n_rows == X.shape[0] and sub.cost == 1.0
    full = obj.gradient_hessian_product(theta)[2]
    part = sub.at(theta)
    np.testing.assert_allclose(part(v), full(v), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(part.diagonal(), full.diagonal(), rtol=1e-12)


@SPARSE
@pytest.mark.parametrize("k", [2, 5])
def test_one_copy_of_repeated_rows_gives_the_full_hessian(sparse, k):
    # Every row repeated k times in a block: the evenly spaced subset of a
    # k-th of the rows takes one row of every block, so its Hessian scaled
    # by S / S_sub is the full one up to rounding (the expectation is right).
    X, y, sw = _data(n=300, K=3)
    rep = np.repeat(np.arange(X.shape[0]), k)
    obj = _objective(X[rep], y[rep], sw[rep], sparse, C=0.3)
    theta, v = _point(obj)
    sub = obj.subsampled_hessian(1.0 / k)
    assert sub.n_rows == X.shape[0]
    full = obj.gradient_hessian_product(theta)[2]
    part = sub.at(theta)
    np.testing.assert_allclose(part(v), full(v), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(part.preconditioner(), full.preconditioner())
    # Not a trivial identity: another subset's estimate differs.
    other = obj.subsampled_hessian(0.7 / k).at(theta)
    assert not np.allclose(other(v), full(v), rtol=1e-6)


@SPARSE
def test_operator_is_the_hessian_of_the_rows_scaled(sparse):
    X, y, sw = _data()
    obj = _objective(X, y, sw, sparse)
    theta, v = _point(obj)
    sub = obj.subsampled_hessian(0.25)
    n, m = X.shape[0], sub.n_rows
    rows = ((2 * np.arange(m) + 1) * n) // (2 * m)
    # The objective of the rows alone, with the penalty scaled so that its
    # Hessian is (1/S_sub)(sum_sub s_i H_i + l2 (S_sub / S) I_W).
    S, S_sub = obj.sw_sum, sw[rows].sum()
    alone = _objective(X[rows], y[rows], sw[rows], sparse, C=S / S_sub)
    expected = alone.gradient_hessian_product(theta)[2](v)
    np.testing.assert_allclose(sub.at(theta)(v), expected, rtol=1e-10, atol=1e-14)


def test_rejects_l1():
    X, y, sw = _data()
    obj = _objective(X, y, sw, l1_ratio=0.5)
    with pytest.raises(ValueError, match="smooth"):
        obj.subsampled_hessian(0.5)


@SPARSE
@pytest.mark.parametrize("K", [3, 5])
def test_solver_matches_logistic_regression(sparse, K):
    # The gradient and the objective are exact: subsampling changes the path,
    # not the optimum.
    X, y, sw = _data(n=2000, K=K)
    obj = _objective(X, y, sw, sparse)
    res = newton_cg(obj, np.zeros(obj.n_params), tol=1e-10, hessian_fraction=0.1)
    assert res.converged and res.extra["hessian_rows"] == 200
    ref = LogisticRegression(C=1.0, solver="newton-cg", tol=1e-10, max_iter=10000)
    ref.fit(X, y, sw)
    coef, intercept = obj.unpack(res.theta)
    scale = max(1.0, np.abs(ref.coef_).max())
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-8 * scale)
    np.testing.assert_allclose(intercept, ref.intercept_, atol=1e-8 * scale)


@SPARSE
def test_solver_counts_subset_passes(sparse):
    X, y, sw = _data(n=2000)
    obj = _objective(X, y, sw, sparse)
    res = newton_cg(obj, np.zeros(obj.n_params), tol=1e-8, hessian_fraction=0.1)
    extra = res.extra
    # One evaluation per iteration and the first; a subset pass per accepted
    # point and per CG step.
    low = 1 + res.n_iter + 0.1 * (1 + extra["n_cg"])
    high = low + 0.1 * res.n_iter
    assert low - 1e-9 <= extra["n_passes"] <= high + 1e-9
    full = newton_cg(obj, np.zeros(obj.n_params), tol=1e-8)
    assert full.extra["hessian_rows"] is None


@SPARSE
def test_bitwise_identical_for_any_thread_count(sparse):
    X, y, sw = _data(n=6000, d=20, K=5)
    obj = _objective(X, y, sw, sparse)
    results = []
    for n_jobs in (1, 2, -1, 1):
        with compute_threads(n_jobs):
            results.append(
                newton_cg(obj, np.zeros(obj.n_params), tol=1e-8, hessian_fraction=0.2)
            )
    for other in results[1:]:
        np.testing.assert_array_equal(other.theta, results[0].theta)
        assert other.history == results[0].history
        assert other.extra["n_cg"] == results[0].extra["n_cg"]


def test_fraction_rule():
    # Small problems, and subsets that would be most of the rows: all rows.
    assert hessian_fraction(600, 8, 4) is None
    assert hessian_fraction(10_000, 1000, 10) is None
    fraction = hessian_fraction(100_000, 100, 10)
    assert fraction is not None and 0.0 < fraction < 0.5
    # More parameters per class need more rows.
    assert hessian_fraction(100_000, 400, 10) > fraction


def test_estimator_subsamples_and_matches_logistic_regression():
    n, d, K = 40_000, 10, 3
    assert hessian_fraction(n, d, K) is not None
    X, y = datasets.make_classification(
        n_samples=n, n_features=d, n_informative=6, n_classes=K, random_state=0
    )
    fits = [
        SoftmaxClassifier(
            solver="newton-cg", tol=1e-10, max_iter=1000, n_jobs=n_jobs
        ).fit(X, y)
        for n_jobs in (1, -1)
    ]
    ours = fits[0]
    np.testing.assert_array_equal(fits[1].coef_, ours.coef_)
    assert fits[1].loss_curve_ == ours.loss_curve_
    ref = LogisticRegression(solver="newton-cg", tol=1e-10, max_iter=1000).fit(X, y)
    scale = max(1.0, np.abs(ref.coef_).max())
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8 * scale)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-8 * scale)
