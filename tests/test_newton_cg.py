"""solver="newton-cg": the trust-region Newton solver and its estimator."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._solvers import lbfgs, newton_cg

TIGHT = dict(tol=1e-10, max_iter=10000)


def _synthetic(n=600, d=8, K=4, seed=0):
    return datasets.make_classification(
        n_samples=n, n_features=d, n_informative=5, n_classes=K, random_state=seed
    )


def _objective(X, y, C=1.0, sw=None, **kw):
    K = int(np.max(y)) + 1
    sw = np.ones(len(y)) if sw is None else sw
    return SoftmaxObjective(X, Targets.from_labels(y, K), sw, C=C, **kw)


@pytest.mark.parametrize("K", [2, 3, 5])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_matches_logistic_regression_newton_cg(K, C, sparse):
    # LogisticRegression's own newton-cg at tol=1e-10 is accurate to rounding
    # (its lbfgs stops on the relative reduction first, some 1e-7 away from
    # the optimum on some problems); the binary 2C mapping is the estimator's.
    X, y = _synthetic(K=K)
    sw = np.random.default_rng(0).uniform(0.0, 3.0, X.shape[0])
    Xf = sp.csr_matrix(X) if sparse else X
    ours = SoftmaxClassifier(C=C, solver="newton-cg", **TIGHT).fit(Xf, y, sw)
    ref = LogisticRegression(C=C, solver="newton-cg", **TIGHT).fit(X, y, sw)
    scale = max(1.0, np.abs(ref.coef_).max())
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8 * scale)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-8 * scale)


@pytest.mark.parametrize(
    "loader",
    [datasets.load_iris, datasets.load_digits, datasets.load_breast_cancer],
    ids=["iris", "digits", "breast_cancer"],
)
def test_matches_logistic_regression_lbfgs_like_lbfgs(loader):
    # As tests/test_parity.py holds our lbfgs to LogisticRegression(lbfgs).
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LogisticRegression(**TIGHT).fit(X, y)
    ours = SoftmaxClassifier(solver="newton-cg", **TIGHT).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    assert np.abs(ours.predict_proba(X) - ref.predict_proba(X)).max() < 1e-5


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("preconditioner", [False, True])
def test_reaches_the_optimum_of_lbfgs(fit_intercept, preconditioner):
    X, y = _synthetic(n=2000, d=12, K=4, seed=1)
    obj = _objective(X, y, C=0.5, fit_intercept=fit_intercept)
    theta0 = np.zeros(obj.n_params)
    ref = lbfgs(obj, theta0, tol=1e-12, max_iter=10000)
    res = newton_cg(obj, theta0, tol=1e-10, preconditioner=preconditioner)
    assert res.converged, res.message
    assert res.objective <= ref.objective + 1e-14
    np.testing.assert_allclose(res.theta, ref.theta, atol=1e-6)
    # Far fewer iterations; every pass over X is counted.
    assert res.n_iter < ref.n_iter / 3
    extra = res.extra
    base = 1 + res.n_iter + extra["n_cg"]
    if preconditioner:  # one diagonal at the start and per accepted step
        assert base + 1 <= extra["n_passes"] <= base + 1 + res.n_iter
    else:
        assert extra["n_passes"] == base
    # The intercepts stay centred over classes, as with lbfgs from zero.
    if fit_intercept:
        assert abs(res.theta.reshape(obj.shape)[:, -1].sum()) < 1e-10


def test_estimator_attributes_and_convergence_warning():
    X, y = _synthetic()
    clf = SoftmaxClassifier(solver="newton-cg").fit(X, y)
    assert clf.n_iter_.dtype == np.int32 and 1 <= clf.n_iter_[0] < 30
    assert len(clf.loss_curve_) == clf.n_iter_[0]
    assert np.all(np.diff(clf.loss_curve_) <= 0)
    with pytest.warns(ConvergenceWarning, match="newton-cg failed to converge"):
        short = SoftmaxClassifier(solver="newton-cg", max_iter=1).fit(X, y)
    assert short.n_iter_[0] == 1
    zero = SoftmaxClassifier(solver="newton-cg", max_iter=0)
    with pytest.warns(ConvergenceWarning):
        zero.fit(X, y)
    assert zero.n_iter_[0] == 0


def test_lbfgs_iterates_unchanged():
    # The lbfgs path does not go through the new kernels: same bits as the
    # solver called directly on the objective.
    X, y = _synthetic()
    clf = SoftmaxClassifier(max_iter=30).fit(X, y)
    obj = _objective(X, y, fit_intercept=True)
    res = lbfgs(obj, np.zeros(obj.n_params), max_iter=30, tol=1e-4)
    assert clf.n_iter_[0] == res.n_iter
    assert clf.loss_curve_ == list(res.history)


@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_l1_ratio_rejected(l1_ratio):
    X, y = _synthetic()
    with pytest.raises(ValueError, match="newton-cg.*l1_ratio=0"):
        SoftmaxClassifier(solver="newton-cg", l1_ratio=l1_ratio).fit(X, y)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bitwise_identical_for_any_n_jobs(sparse, dtype):
    X, y = datasets.make_classification(
        n_samples=6000, n_features=20, n_informative=10, n_classes=5, random_state=0
    )
    X = X.astype(dtype)
    X = sp.csr_matrix(X) if sparse else X
    fits = [
        SoftmaxClassifier(solver="newton-cg", n_jobs=n_jobs, tol=1e-8).fit(X, y)
        for n_jobs in (1, 2, -1, 1)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
        assert other.n_iter_ == fits[0].n_iter_
        assert other.loss_curve_ == fits[0].loss_curve_


def test_callback_stops_the_solver():
    X, y = _synthetic()
    obj = _objective(X, y, fit_intercept=True)
    seen = []

    def callback(n_iter, theta):
        seen.append(n_iter)
        return n_iter == 2

    res = newton_cg(obj, np.zeros(obj.n_params), tol=1e-12, callback=callback)
    assert seen == [1, 2] and res.n_iter == 2
    assert res.extra["stopped_by_callback"] and not res.converged


def test_sample_weight_equals_repetition():
    X, y = _synthetic(n=300)
    rng = np.random.default_rng(0)
    reps = rng.integers(0, 3, X.shape[0])
    a = SoftmaxClassifier(solver="newton-cg", **TIGHT).fit(X, y, reps)
    b = SoftmaxClassifier(solver="newton-cg", **TIGHT).fit(
        np.repeat(X, reps, axis=0), np.repeat(y, reps)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)


def _auto_cases():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=20000, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    Xs, ys = make_classification(
        n_samples=600, n_features=10, n_informative=6, n_classes=3, random_state=1
    )
    rng = np.random.default_rng(2)
    Xc = sp.random(3000, 200, density=0.05, format="csr", random_state=3)
    yc = rng.integers(0, 4, 3000)
    return [
        # Many rows per parameter: a subsampled Hessian.
        ("big dense", X, y, {}, "newton-cg"),
        # CSR: products skip the softmax.
        ("csr", Xc, yc, {}, "newton-cg"),
        # Dense data that would need the Hessian of all rows.
        ("small dense", Xs, ys, {}, "lbfgs"),
        # The L1 part has no Hessian.
        ("l1", X, y, {"l1_ratio": 0.5, "C": 0.1}, "lbfgs"),
    ]


@pytest.mark.parametrize("case", _auto_cases(), ids=lambda c: c[0])
def test_auto_runs_the_solver_it_names(case):
    _, X, y, params, expected = case
    auto = SoftmaxClassifier(solver="auto", **params).fit(X, y)
    named = SoftmaxClassifier(solver=expected, **params).fit(X, y)
    np.testing.assert_array_equal(auto.coef_, named.coef_)
    np.testing.assert_array_equal(auto.intercept_, named.intercept_)
    np.testing.assert_array_equal(auto.n_iter_, named.n_iter_)


def test_auto_warning_names_the_solver_that_ran():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=20000, n_features=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="^newton-cg failed to converge"):
        SoftmaxClassifier(solver="auto", max_iter=1).fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_preconditioned_iterates_stay_centred(fit_intercept):
    # Weakly penalised, the objective curves only by 1/(C S) along the shift
    # of every class's coefficients: a preconditioner that differs between
    # classes steps off the centred solution, and tol cannot see it.
    X, y = _synthetic(K=3)
    sw = np.random.default_rng(0).uniform(0.0, 3.0, X.shape[0])
    obj = _objective(X, y, C=100.0, sw=sw, fit_intercept=fit_intercept)
    theta0 = np.zeros(obj.n_params)
    res = newton_cg(obj, theta0, tol=1e-10, max_iter=1000, preconditioner=True)
    ref = newton_cg(obj, theta0, tol=1e-10, max_iter=1000)
    assert res.converged and ref.converged
    W = res.theta.reshape(obj.shape)
    scale = np.abs(W).max()
    assert np.abs(W.sum(axis=0)).max() < 1e-10 * scale
    np.testing.assert_allclose(res.theta, ref.theta, atol=1e-8 * scale)
    _, _, hessp = obj.gradient_hessian_product(res.theta)
    D = hessp.preconditioner().reshape(obj.shape)
    assert np.all(D > 0) and np.all(D == D[0])


def _solver_options(monkeypatch, X, y):
    import sklearn_softmax._training as training

    seen = {}

    def recording(objective, theta0, **options):
        seen.update(options)
        return newton_cg(objective, theta0, **options)

    monkeypatch.setattr(training, "newton_cg", recording)
    SoftmaxClassifier(solver="newton-cg").fit(X, y)
    return seen


def test_csr_preconditioned_only_with_the_hessian_of_all_rows(monkeypatch):
    Xs, ys = _synthetic(n=2000, d=30)
    csr = _solver_options(monkeypatch, sp.csr_matrix(Xs), ys)
    assert csr["preconditioner"] and csr["hessian_fraction"] is None
    dense = _solver_options(monkeypatch, Xs, ys)
    assert not dense["preconditioner"] and dense["hessian_fraction"] is None
    # Enough rows for a subset: its Hessian, without the preconditioner.
    Xb, yb = _synthetic(n=20000, K=3)
    big = _solver_options(monkeypatch, sp.csr_matrix(Xb), yb)
    assert not big["preconditioner"] and 0 < big["hessian_fraction"] < 0.5
