"""SoftmaxClassifierCV against LogisticRegressionCV, and its own contracts."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import log_loss, make_scorer
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier, SoftmaxClassifierCV
from sklearn_softmax._config import resolve_n_threads
from sklearn_softmax._cv_path import thread_split

TIGHT = dict(tol=1e-8, max_iter=5000)


def _standardised(X, y, n_rows=None, seed=0):
    if n_rows is not None:
        rows = np.random.RandomState(seed).choice(len(y), n_rows, replace=False)
        X, y = X[rows], y[rows]
    return StandardScaler().fit_transform(X), y


def _iris():
    return (*_standardised(*load_iris(return_X_y=True)), None)


def _digits():
    # 200 of the 1797 rows keep LogisticRegressionCV's tight fits quick.
    return (*_standardised(*load_digits(return_X_y=True), n_rows=200), None)


def _breast_cancer():
    return (*_standardised(*load_breast_cancer(return_X_y=True)), None)


def _weighted():
    X, y = make_classification(200, 6, n_informative=4, n_classes=3, random_state=0)
    return X, y, np.random.RandomState(1).uniform(0.1, 3.0, 200)


PROBLEMS = {
    "iris": (_iris, [0.01, 0.1, 1.0, 10.0, 100.0]),
    "digits": (_digits, [0.01, 0.1, 1.0]),
    "breast_cancer": (_breast_cancer, [0.01, 0.1, 1.0, 10.0]),
    "weighted": (_weighted, [0.01, 0.1, 1.0, 10.0]),
}


def _pair(Cs, cv=3, scoring="neg_log_loss", **params):
    lr = LogisticRegressionCV(
        Cs=Cs,
        cv=cv,
        l1_ratios=(0.0,),
        scoring=scoring,
        use_legacy_attributes=False,
        **TIGHT,
        **params,
    )
    sm = SoftmaxClassifierCV(Cs=Cs, cv=cv, scoring=scoring, **TIGHT, **params)
    return lr, sm


@pytest.mark.parametrize("name", list(PROBLEMS))
@pytest.mark.parametrize("refit", [True, False])
def test_matches_logistic_regression_cv(name, refit):
    make, Cs = PROBLEMS[name]
    X, y, sw = make()
    lr, sm = _pair(Cs, refit=refit)
    lr.fit(X, y, sample_weight=sw)
    sm.fit(X, y, sample_weight=sw)
    assert isinstance(sm.C_, float) and isinstance(sm.l1_ratio_, float)
    assert sm.C_ == pytest.approx(lr.C_, rel=1e-12)
    assert sm.l1_ratio_ == lr.l1_ratio_ == 0.0
    assert_allclose(sm.Cs_, lr.Cs_)
    assert_allclose(sm.l1_ratios_, [0.0])
    assert sm.scores_.shape == lr.scores_.shape
    assert_allclose(sm.scores_, lr.scores_, rtol=0, atol=1e-4)
    assert sm.coefs_paths_.shape == lr.coefs_paths_.shape
    assert_allclose(sm.coefs_paths_, lr.coefs_paths_, rtol=0, atol=1e-4)
    assert sm.n_iter_.shape == lr.n_iter_.shape
    assert sm.coef_.shape == lr.coef_.shape
    assert_allclose(sm.coef_, lr.coef_, rtol=0, atol=1e-4)
    assert_allclose(sm.intercept_, lr.intercept_, rtol=0, atol=1e-4)
    assert_array_equal(sm.predict(X), lr.predict(X))


def test_paths_close_where_well_conditioned():
    # Away from the weakly penalised end the optimum is sharp, and both
    # solvers agree far below the tolerance of the comparison above.
    X, y, _ = _iris()
    lr, sm = _pair([0.01, 0.1, 1.0, 10.0])
    lr.fit(X, y)
    sm.fit(X, y)
    assert_allclose(sm.coefs_paths_, lr.coefs_paths_, rtol=0, atol=1e-6)
    assert_allclose(sm.scores_, lr.scores_, rtol=0, atol=1e-8)


def test_binary_layout():
    X, y, _ = _breast_cancer()
    clf = SoftmaxClassifierCV(Cs=[0.1, 1.0], cv=4, **TIGHT).fit(X, y)
    d = X.shape[1]
    assert clf.coefs_paths_.shape == (4, 1, 2, 1, d + 1)
    assert clf.scores_.shape == clf.n_iter_.shape == (4, 1, 2)
    assert clf.coef_.shape == (1, d) and clf.intercept_.shape == (1,)
    no_intercept = SoftmaxClassifierCV(Cs=[0.1], cv=3, fit_intercept=False)
    no_intercept.fit(X, y)
    assert no_intercept.coefs_paths_.shape == (3, 1, 1, 1, d)
    assert_array_equal(no_intercept.intercept_, [0.0])


def test_refit_false_averages_fold_best():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=[0.01, 1.0, 100.0], l1_ratios=(0.0, 0.5))
    clf.set_params(refit=False, cv=4, max_iter=500).fit(X, y)
    n_folds, n_l1, n_cs = clf.scores_.shape
    rows, Cs, ratios = [], [], []
    for fold in range(n_folds):
        # LogisticRegressionCV's order on ties: C first, then l1_ratio.
        best = np.argmax(clf.scores_[fold].T)
        i_C, i_l1 = np.unravel_index(best, (n_cs, n_l1))
        rows.append(clf.coefs_paths_[fold, i_l1, i_C])
        Cs.append(clf.Cs_[i_C])
        ratios.append(clf.l1_ratios_[i_l1])
    w = np.mean(rows, axis=0)
    assert_allclose(clf.coef_, w[:, :-1], rtol=1e-15)
    assert_allclose(clf.intercept_, w[:, -1], rtol=1e-15)
    assert clf.C_ == pytest.approx(np.mean(Cs))
    assert clf.l1_ratio_ == pytest.approx(np.mean(ratios))


def test_refit_picks_best_mean_and_is_a_softmax_classifier_fit():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=[0.01, 0.1, 1.0, 10.0], cv=3, **TIGHT).fit(X, y)
    best = np.argmax(clf.scores_.mean(axis=0)[0])
    assert clf.C_ == clf.Cs_[best]
    single = SoftmaxClassifier(C=clf.C_, **TIGHT).fit(X, y)
    # Different starts, the same optimum to the solver's tolerance.
    assert_allclose(clf.coef_, single.coef_, atol=1e-4)
    assert_allclose(clf.intercept_, single.intercept_, atol=1e-4)
    assert_allclose(clf.predict_proba(X), single.predict_proba(X), atol=1e-6)


def test_elastic_net_path_has_exact_zeros():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=[0.01, 0.1, 1.0], l1_ratios=(0.5,), cv=3)
    clf.set_params(max_iter=1000).fit(X, y)
    zeros = (clf.coefs_paths_[..., :-1] == 0).sum(axis=(0, 1, 3, 4))
    # Strong penalties zero whole features; fewer zeros as C grows.
    assert zeros[0] > zeros[-1] and zeros[0] > 0
    assert np.all(np.diff(zeros) <= 0)
    assert clf.l1_ratio_ == 0.5
    # Elastic-net coefficients are not centred over classes.
    strong = SoftmaxClassifierCV(Cs=[0.01], l1_ratios=(0.5,), cv=3).fit(X, y)
    assert np.any(strong.coef_ == 0.0)


def test_mixed_l1_ratios_layout():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=[0.1, 1.0], l1_ratios=(0.0, 1.0), cv=3)
    clf.set_params(max_iter=300).fit(X, y)
    assert clf.scores_.shape == (3, 2, 2)
    assert clf.coefs_paths_.shape == (3, 2, 2, 3, X.shape[1] + 1)
    # l1_ratio 0 rows are centred over classes, as SoftmaxClassifier's.
    assert_allclose(clf.coefs_paths_[:, 0, :, :, :-1].sum(axis=2), 0, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
def test_bitwise_independent_of_n_jobs(sparse):
    X, y, sw = _weighted()
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    fits = [
        SoftmaxClassifierCV(Cs=4, cv=4, n_jobs=n_jobs, max_iter=200).fit(
            X, y, sample_weight=sw
        )
        for n_jobs in (1, 2, None)
    ]
    for other in fits[1:]:
        for name in ("scores_", "coefs_paths_", "n_iter_", "coef_", "intercept_"):
            assert_array_equal(getattr(fits[0], name), getattr(other, name))
        assert fits[0].C_ == other.C_


def test_sparse_matches_dense():
    X, y, sw = _weighted()
    X = np.where(np.abs(X) > 0.5, X, 0.0)
    dense = SoftmaxClassifierCV(Cs=3, cv=3, **TIGHT).fit(X, y, sample_weight=sw)
    csr = SoftmaxClassifierCV(Cs=3, cv=3, **TIGHT)
    csr.fit(sp.csr_matrix(X), y, sample_weight=sw)
    assert_allclose(csr.scores_, dense.scores_, atol=1e-6)
    # The CSR kernel sums in another order: the same optimum to tolerance.
    assert_allclose(csr.coefs_paths_, dense.coefs_paths_, atol=1e-4)
    assert csr.C_ == dense.C_


def test_float32_keeps_its_dtype():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=3, cv=3, max_iter=200)
    clf.fit(X.astype(np.float32), y)
    assert clf.coef_.dtype == clf.coefs_paths_.dtype == np.float32
    assert clf.predict_proba(X.astype(np.float32)).shape == (150, 3)


def _teacher_problem(C_teacher=0.05, n=300, d=6, seed=0):
    X, y = make_classification(n, d, n_informative=4, n_classes=3, random_state=seed)
    teacher = SoftmaxClassifier(C=C_teacher, **TIGHT).fit(X, y)
    return X, teacher


def test_probability_targets_distilled_from_a_teacher():
    # The teacher's probabilities are exactly those of a softmax model, so
    # the student recovers the teacher best with the weakest penalty: its own
    # C would shrink the teacher's (already shrunk) coefficients once more.
    # With Cs = [1e-3, C_teacher, 1e3] the right answer is therefore 1e3, by
    # a wide margin, and the student's model is the teacher's.
    C_teacher = 0.05
    X, teacher = _teacher_problem(C_teacher)
    Y = teacher.predict_proba(X)
    student = SoftmaxClassifierCV(Cs=[1e-3, C_teacher, 1e3], cv=5, **TIGHT)
    student.fit(X, Y)
    mean = student.scores_.mean(axis=0)[0]
    assert student.C_ == 1e3
    assert mean[0] < mean[1] < mean[2]
    # At the optimum the cross-entropy is the teacher's own entropy.
    entropy = -np.mean(np.sum(Y * np.log(Y), axis=1))
    assert -mean[2] == pytest.approx(entropy, rel=1e-3)
    assert_allclose(student.predict_proba(X), Y, atol=2e-3)
    assert_allclose(student.coef_, teacher.coef_, atol=0.05)


def test_probability_targets_pick_an_interior_C_when_noisy():
    # Noisy soft targets (Dirichlet around the teacher's probabilities) need
    # a penalty with 40 features and 100 rows: both ends of the grid lose
    # clearly (mean scores -1.10, -0.95, -1.33) against the teacher's C, and
    # the scores are the cross-entropies of SoftmaxClassifier fits on folds.
    C_teacher = 0.05
    X, teacher = _teacher_problem(C_teacher, n=100, d=40, seed=3)
    rng = np.random.RandomState(0)
    Y = np.array([rng.dirichlet(3 * p + 0.2) for p in teacher.predict_proba(X)])
    Cs = [1e-4, C_teacher, 1e4]
    student = SoftmaxClassifierCV(Cs=Cs, cv=4, **TIGHT).fit(X, Y)
    assert student.C_ == C_teacher
    for fold, (train, test) in enumerate(KFold(4).split(X)):
        for j, C in enumerate(Cs):
            clf = SoftmaxClassifier(C=C, **TIGHT).fit(X[train], Y[train])
            ce = -np.mean(np.sum(Y[test] * clf.predict_log_proba(X[test]), axis=1))
            assert student.scores_[fold, 0, j] == pytest.approx(-ce, abs=1e-6)


def test_one_hot_probability_targets_score_like_labels():
    X, y, _ = _iris()
    Y = np.eye(3)[y]
    cv = KFold(3, shuffle=True, random_state=0)
    soft = SoftmaxClassifierCV(Cs=4, cv=cv, max_iter=300).fit(X, Y)
    hard = SoftmaxClassifierCV(Cs=4, cv=cv, max_iter=300).fit(X, y)
    assert_allclose(soft.scores_, hard.scores_, atol=1e-9)
    assert soft.C_ == hard.C_
    assert soft.score(X, Y) == pytest.approx(hard.score(X, y), abs=1e-9)


def test_callable_scorer_and_score_method():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=3, cv=3, max_iter=300).fit(X, y)
    assert clf.score(X, y) == pytest.approx(-log_loss(y, clf.predict_proba(X)))
    calls = []

    def scorer(estimator, X_val, y_val):
        calls.append(len(y_val))
        return -np.abs(estimator.coef_).sum()

    picky = SoftmaxClassifierCV(Cs=[0.01, 1.0], cv=3, scoring=scorer).fit(X, y)
    assert len(calls) == 3 * 2 + 0
    assert picky.C_ == 0.01
    accuracy = SoftmaxClassifierCV(Cs=[0.01, 1.0], cv=3, scoring="accuracy")
    assert 0.5 < accuracy.fit(X, y).score(X, y) <= 1.0


def test_groups_go_to_the_splitter_without_routing():
    X, y, _ = _weighted()
    groups = np.arange(len(y)) % 7
    by_groups = SoftmaxClassifierCV(Cs=3, cv=GroupKFold(3), max_iter=200)
    by_groups.fit(X, y, groups=groups)
    splits = list(GroupKFold(3).split(X, y, groups))
    listed = SoftmaxClassifierCV(Cs=3, cv=splits, max_iter=200).fit(X, y)
    assert_array_equal(by_groups.scores_, listed.scores_)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        by_groups.fit(X, y, other=groups)


def test_metadata_routing_matches_logistic_regression_cv():
    X, y, sw = _weighted()
    groups = np.arange(len(y)) % 5
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(
            log_loss, response_method="predict_proba", greater_is_better=False
        ).set_score_request(sample_weight=True)
        lr, sm = _pair([0.01, 0.1, 1.0], cv=GroupKFold(3), scoring=scorer)
        lr.fit(X, y, sample_weight=sw, groups=groups)
        sm.fit(X, y, sample_weight=sw, groups=groups)
        assert_allclose(sm.scores_, lr.scores_, atol=1e-8)
        assert sm.C_ == lr.C_
        weighted = sm.score(X, y, sample_weight=sw)
        assert weighted == pytest.approx(
            -log_loss(y, sm.predict_proba(X), sample_weight=sw)
        )
        # A scorer that does not request the weights is scored without them.
        unweighted = make_scorer(
            log_loss, response_method="predict_proba", greater_is_better=False
        ).set_score_request(sample_weight=False)
        plain = SoftmaxClassifierCV(Cs=[0.01, 0.1, 1.0], cv=GroupKFold(3), **TIGHT)
        plain.set_params(scoring=unweighted)
        plain.fit(X, y, sample_weight=sw, groups=groups)
    unweighted_scores = []
    for train, test in GroupKFold(3).split(X, y, groups):
        fold = SoftmaxClassifier(C=plain.C_, **TIGHT)
        fold.fit(X[train], y[train], sample_weight=sw[train])
        unweighted_scores.append(-log_loss(y[test], fold.predict_proba(X[test])))
    best = list(plain.Cs_).index(plain.C_)
    assert_allclose(plain.scores_[:, 0, best], unweighted_scores, atol=1e-6)


def test_stratified_by_default_for_labels():
    X, y, _ = _iris()
    default = SoftmaxClassifierCV(Cs=2, max_iter=200).fit(X, y)
    explicit = SoftmaxClassifierCV(Cs=2, cv=StratifiedKFold(5), max_iter=200)
    assert_array_equal(default.scores_, explicit.fit(X, y).scores_)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(Cs=[]), "Cs must be"),
        (dict(Cs=[1.0, -1.0]), "Cs must be"),
        (dict(l1_ratios=[0.5, 2.0]), "l1_ratios must be"),
        (dict(l1_ratios=[]), "l1_ratios must be"),
    ],
)
def test_invalid_grids(params, match):
    X, y, _ = _iris()
    with pytest.raises(ValueError, match=match):
        SoftmaxClassifierCV(**params).fit(X, y)


def test_convergence_warning_once_for_the_path():
    X, y, _ = _iris()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SoftmaxClassifierCV(Cs=3, cv=3, max_iter=2, refit=False).fit(X, y)
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert len(messages) == 1 and "of the 9 solves" in messages[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SoftmaxClassifierCV(Cs=[1e4], cv=3, max_iter=2).fit(X, y)
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert len(messages) == 2 and "refit" in messages[1]


def test_failed_fit_keeps_the_fitted_state():
    X, y, _ = _iris()
    clf = SoftmaxClassifierCV(Cs=2, cv=3, max_iter=100).fit(X, y)
    before = clf.coef_.copy()
    with pytest.raises(ValueError):
        clf.fit(X[:, :2], y, sample_weight=-np.ones(len(y)))
    assert_array_equal(clf.coef_, before)
    assert clf.n_features_in_ == X.shape[1]


def test_folds_share_the_allowed_threads():
    allowed = resolve_n_threads(-1)
    assert thread_split(None, 5) == (1, allowed)
    assert thread_split(1, 5) == (1, allowed)
    assert thread_split(2, 5) == (2, max(1, allowed // 2))
    # Never more workers than folds, never fewer than one thread each.
    assert thread_split(-1, 1) == (1, allowed)
    n_workers, n_threads = thread_split(64, 64)
    assert n_threads == max(1, allowed // n_workers) >= 1
