"""SoftmaxClassifierCV(solver=...): Newton-CG along the path, and "auto"."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegressionCV
from test_cv import PROBLEMS, TIGHT, _iris, _weighted

from sklearn_softmax import SoftmaxClassifier, SoftmaxClassifierCV

FITTED = ("scores_", "coefs_paths_", "n_iter_", "coef_", "intercept_")


def _assert_same_fit(a, b):
    for name in FITTED:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.C_ == b.C_


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_newton_cg_matches_logistic_regression_cv_newton_cg(name, sparse):
    # CSR data run the preconditioned solver; LogisticRegressionCV's
    # newton-cg is the reference for both (on dense data).
    make, Cs = PROBLEMS[name]
    X, y, sw = make()
    lr = LogisticRegressionCV(
        Cs=Cs,
        cv=3,
        l1_ratios=(0.0,),
        scoring="neg_log_loss",
        use_legacy_attributes=False,
        solver="newton-cg",
        **TIGHT,
    ).fit(X, y, sample_weight=sw)
    sm = SoftmaxClassifierCV(Cs=Cs, cv=3, solver="newton-cg", **TIGHT)
    sm.fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=sw)
    assert sm.C_ == pytest.approx(lr.C_, rel=1e-12)
    assert_allclose(sm.scores_, lr.scores_, rtol=0, atol=1e-6)
    assert_allclose(sm.coefs_paths_, lr.coefs_paths_, rtol=0, atol=1e-4)
    assert_allclose(sm.coef_, lr.coef_, rtol=0, atol=1e-4)
    assert_allclose(sm.intercept_, lr.intercept_, rtol=0, atol=1e-4)
    assert (sm.n_iter_ >= 0).all() and sm.n_iter_.dtype.kind == "i"


def test_refit_is_the_newton_cg_fit_at_the_chosen_C():
    X, y, sw = _weighted()
    clf = SoftmaxClassifierCV(Cs=4, cv=3, solver="newton-cg", **TIGHT)
    clf.fit(X, y, sample_weight=sw)
    single = SoftmaxClassifier(C=clf.C_, solver="newton-cg", **TIGHT)
    single.fit(X, y, sample_weight=sw)
    assert_allclose(clf.coef_, single.coef_, atol=1e-7)
    assert_allclose(clf.intercept_, single.intercept_, atol=1e-7)


def _sparse_weighted():
    X, y, sw = _weighted()
    return sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)), y, sw


@pytest.mark.parametrize(
    "data, expected",
    [(_sparse_weighted, "newton-cg"), (_weighted, "lbfgs")],
    ids=["csr", "small dense"],
)
def test_auto_is_bitwise_the_solver_it_picks(data, expected):
    # As SoftmaxClassifier(solver="auto") on every fold's objective: CSR
    # data take Newton-CG, dense data needing the Hessian of all rows lbfgs.
    X, y, sw = data()
    fits = {
        solver: SoftmaxClassifierCV(Cs=4, cv=3, solver=solver, max_iter=300).fit(
            X, y, sample_weight=sw
        )
        for solver in ("auto", "lbfgs", "newton-cg")
    }
    _assert_same_fit(fits["auto"], fits[expected])
    other = "lbfgs" if expected == "newton-cg" else "newton-cg"
    assert not np.array_equal(fits["auto"].n_iter_, fits[other].n_iter_)


def test_auto_with_elastic_net_grid():
    # l1_ratio=0 points take Newton-CG on CSR data, the others the L1 solver.
    X, y, sw = _sparse_weighted()
    grid = dict(Cs=3, cv=3, l1_ratios=(0.0, 0.5), max_iter=300)
    auto = SoftmaxClassifierCV(solver="auto", **grid).fit(X, y, sample_weight=sw)
    lbfgs = SoftmaxClassifierCV(solver="lbfgs", **grid).fit(X, y, sample_weight=sw)
    ncg = SoftmaxClassifierCV(solver="newton-cg", Cs=3, cv=3, max_iter=300)
    ncg.fit(X, y, sample_weight=sw)
    assert_array_equal(auto.coefs_paths_[:, 0], ncg.coefs_paths_[:, 0])
    assert_array_equal(auto.coefs_paths_[:, 1], lbfgs.coefs_paths_[:, 1])
    assert_array_equal(auto.n_iter_[:, 1], lbfgs.n_iter_[:, 1])


@pytest.mark.parametrize("l1_ratios", [(0.5,), (0.0, 1.0)])
def test_newton_cg_refuses_l1_ratios_before_fitting(l1_ratios):
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=2, cv=3, max_iter=200).fit(X, y)
    before = clf.coef_.copy()
    clf.set_params(solver="newton-cg", l1_ratios=l1_ratios)
    with pytest.raises(ValueError, match="newton-cg.*l1_ratio=0.*l1_ratios="):
        clf.fit(X, y)
    assert_array_equal(clf.coef_, before)


def test_sgd_is_not_a_path_solver():
    X, y, _ = _iris()
    with pytest.raises(ValueError, match="solver"):
        SoftmaxClassifierCV(solver="sgd").fit(X, y)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_newton_cg_bitwise_independent_of_n_jobs(sparse):
    X, y, sw = _sparse_weighted() if sparse else _weighted()
    fits = [
        SoftmaxClassifierCV(Cs=4, cv=4, n_jobs=n_jobs, solver="newton-cg").fit(
            X, y, sample_weight=sw
        )
        for n_jobs in (1, 2, None)
    ]
    for other in fits[1:]:
        _assert_same_fit(fits[0], other)


def test_a_point_whose_start_meets_tol_keeps_the_previous_solution():
    # Weak penalties barely change the gradient at the previous solution:
    # Newton-CG, which converges to tol, then takes no iteration there.
    X, y, _ = _iris()
    Cs = [1.0, 1e3, 1e4]
    clf = SoftmaxClassifierCV(Cs=Cs, cv=3, solver="newton-cg", tol=1e-3).fit(X, y)
    assert (clf.n_iter_[:, 0, 0] > 0).all()
    idle = np.argwhere(clf.n_iter_[:, 0, 1:] == 0)
    assert len(idle) > 0
    for fold, j in idle:
        assert_array_equal(
            clf.coefs_paths_[fold, 0, j + 1], clf.coefs_paths_[fold, 0, j]
        )
        assert clf.scores_[fold, 0, j + 1] == clf.scores_[fold, 0, j]
