"""Model selection with probability targets (#14): score, scorer, CV, search."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.base import ClassifierMixin
from sklearn.datasets import (
    load_breast_cancer,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, get_scorer
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    check_cv,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import (
    CrossEntropyScorer,
    SoftmaxClassifier,
    neg_cross_entropy_scorer,
)

SHUFFLED = KFold(5, shuffle=True, random_state=0)


def _iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris_soft():
    X, y = _iris()
    teacher = SoftmaxClassifier().fit(X, y)
    Y = teacher.predict_proba(X)
    return X, y, Y, SoftmaxClassifier().fit(X, Y)


def _manual_ce(log_proba, Y, w=None):
    w = np.ones(Y.shape[0]) if w is None else np.asarray(w, dtype=float)
    terms = np.where(Y > 0, Y * log_proba, 0.0).sum(axis=1)
    return -np.dot(w, terms) / w.sum()


def _entropy(Y):
    return _manual_ce(np.log(np.where(Y > 0, Y, 1)), Y)


# ---------------------------------------------------------------- score


@pytest.mark.parametrize("weighted", [False, True])
def test_score_on_labels_is_classifier_mixin_accuracy(weighted):
    X, y = _iris()
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    w = np.random.default_rng(0).uniform(0, 2, y.shape[0]) if weighted else None
    clf = SoftmaxClassifier(C=0.05).fit(X, labels)
    expected = ClassifierMixin.score(clf, X, labels, sample_weight=w)
    assert clf.score(X, labels, sample_weight=w) == expected
    assert expected < 1  # the test would not see a wrong argmax otherwise


@pytest.mark.parametrize(
    "to_y",
    [
        lambda Y: Y,
        lambda Y: Y.astype(np.int64),
        lambda Y: Y.astype(np.float32),
        sp.csr_matrix,
        sp.csc_matrix,
        sp.coo_matrix,
        lambda Y: Y.tolist(),
        pd.DataFrame,
    ],
    ids=["float", "int", "float32", "csr", "csc", "coo", "list", "frame"],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_one_hot_scores_as_its_labels(to_y, weighted):
    X, y = _iris()
    w = np.random.default_rng(1).uniform(0, 2, y.shape[0]) if weighted else None
    clf = SoftmaxClassifier(C=0.05).fit(X, y)
    Y = to_y(np.eye(3)[y])
    assert clf.score(X, Y, sample_weight=w) == clf.score(X, y, sample_weight=w)
    ce = neg_cross_entropy_scorer(clf, X, Y, sample_weight=w)
    assert ce == pytest.approx(neg_cross_entropy_scorer(clf, X, y, w), abs=1e-14)


def test_score_on_probability_targets_is_accuracy_against_the_argmax(iris_soft):
    X, y, _, clf = iris_soft
    rng = np.random.default_rng(2)
    Y = rng.dirichlet(np.ones(3), size=X.shape[0])
    w = rng.uniform(0, 3, X.shape[0])
    expected = accuracy_score(Y.argmax(axis=1), clf.predict(X), sample_weight=w)
    assert clf.score(X, Y, sample_weight=w) == expected
    assert clf.score(X, sp.csr_matrix(Y), sample_weight=w) == expected
    assert 0 < expected < 1


def test_score_ties_go_to_the_first_column(iris_soft):
    X, _, _, clf = iris_soft
    pred = clf.predict(X[:6])
    Y = np.array(
        [
            [0.5, 0.5, 0.0],
            [0.0, 0.5, 0.5],
            [0.5, 0.0, 0.5],
            [0.4, 0.3, 0.3],
            [0.3, 0.4, 0.3],
            [1 / 3, 1 / 3, 1 / 3],
        ]
    )
    first = np.array([0, 1, 0, 0, 1, 0])
    assert clf.score(X[:6], Y) == np.mean(pred == first)
    # A sparse row whose tied entries are stored in reverse column order.
    csr = sp.csr_matrix(
        (np.array([0.5, 0.5]), np.array([2, 1]), np.array([0, 2])), shape=(1, 3)
    )
    assert not csr.has_sorted_indices
    one = X[[1]]
    assert clf.score(one, csr) == float(clf.predict(one)[0] == 1)


def test_columns_follow_the_classes_parameter(iris_soft):
    X, _, Y, _ = iris_soft
    names = np.array(["virginica", "setosa", "versicolor"])
    clf = SoftmaxClassifier(classes=names).fit(X, Y)
    assert clf.classes_.tolist() == sorted(names)
    truth = names[Y.argmax(axis=1)]
    assert clf.score(X, Y) == accuracy_score(truth, clf.predict(X))
    assert clf.score(X, Y) == clf.score(X, truth)
    assert clf.score(X, Y) > 0.9
    # The cross-entropy reads the columns the same way, inside a pipeline too.
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(classes=names)).fit(X, Y)
    for model in (clf, pipe):
        order = np.searchsorted(model.classes_, names)
        expected = -_manual_ce(model.predict_log_proba(X)[:, order], Y)
        assert neg_cross_entropy_scorer(model, X, Y) == pytest.approx(expected)


def _accepted_targets():
    X, y = _iris()
    Y = SoftmaxClassifier(C=0.1).fit(X, y).predict_proba(X)
    near = Y.copy()
    near[:, 0] += 5e-7  # rows summing to 1 + 5e-7: within ROW_SUM_ATOL
    yield "dense", X, Y
    yield "near-one", X, near
    pruned = np.where(Y > 0.2, Y, 0)
    yield "csr", X, sp.csr_matrix(pruned / pruned.sum(axis=1, keepdims=True))
    yield "float32", X.astype(np.float32), Y.astype(np.float32)
    yield "binary", X[y > 0], np.eye(2)[y[y > 0] - 1] * 0.8 + 0.1
    yield "one-class-rows", X[:50], Y[:50]


@pytest.mark.parametrize("case", list(_accepted_targets()), ids=lambda c: c[0])
def test_score_and_scorer_never_raise_for_targets_fit_accepts(case):
    _, X, Y = case
    clf = SoftmaxClassifier().fit(X, Y)
    for rows in (slice(None), slice(0, 1)):  # all rows, a single row
        assert 0 <= clf.score(X[rows], Y[rows]) <= 1
        assert np.isfinite(neg_cross_entropy_scorer(clf, X[rows], Y[rows]))


def test_scorer_works_on_test_folds_that_lack_classes(iris_soft):
    X, y, _, clf = iris_soft
    setosa = y == 0
    with pytest.raises(ValueError):
        get_scorer("neg_log_loss")(clf, X[setosa], y[setosa])
    expected = np.mean(clf.predict_log_proba(X[setosa])[:, 0])
    assert neg_cross_entropy_scorer(clf, X[setosa], y[setosa]) == pytest.approx(
        expected, abs=1e-14
    )


def test_invalid_probability_targets_are_refused(iris_soft):
    X, _, Y, clf = iris_soft
    with pytest.raises(ValueError, match="sum to 1"):
        clf.score(X, Y * 1.1)
    with pytest.raises(ValueError, match="columns"):
        clf.score(X, np.c_[Y, np.zeros(X.shape[0])])
    with pytest.raises(ValueError, match="not in classes"):
        neg_cross_entropy_scorer(clf, X, np.full(X.shape[0], 7))


# ---------------------------------------------------------------- scorer


def _datasets():
    X, y = _iris()
    yield "iris", X, y
    X, y = load_wine(return_X_y=True)
    yield "wine", StandardScaler().fit_transform(X), y
    X, y = load_breast_cancer(return_X_y=True)
    yield "cancer", StandardScaler().fit_transform(X), y
    X, y = make_classification(300, 12, n_informative=6, n_classes=4, random_state=0)
    yield "four-classes", X, np.array(list("abcd"))[y]


@pytest.mark.parametrize("case", list(_datasets()), ids=lambda c: c[0])
@pytest.mark.parametrize("weighted", [False, True])
def test_scorer_equals_neg_log_loss_on_labels(case, weighted):
    _, X, y = case
    rng = np.random.default_rng(3)
    w = rng.uniform(0, 2, X.shape[0]) if weighted else None
    neg_log_loss = get_scorer("neg_log_loss")
    for C in (0.1, 1.0):
        clf = SoftmaxClassifier(C=C, max_iter=500).fit(X, y)
        ours = neg_cross_entropy_scorer(clf, X, y, sample_weight=w)
        theirs = neg_log_loss(clf, X, y, sample_weight=w)
        assert ours == pytest.approx(theirs, rel=0, abs=1e-12)
    # Other classifiers too: the scorer needs only predict_log_proba.
    lr = LogisticRegression(max_iter=1000).fit(X, y)
    ours = neg_cross_entropy_scorer(lr, X, y, sample_weight=w)
    assert ours == pytest.approx(neg_log_loss(lr, X, y, sample_weight=w), abs=1e-12)


def test_scorer_on_probability_targets_is_minus_the_mean_cross_entropy(iris_soft):
    X, _, Y, clf = iris_soft
    rng = np.random.default_rng(4)
    T = rng.dirichlet(np.ones(3) * 0.3, size=X.shape[0])
    T[T < 0.05] = 0
    T /= T.sum(axis=1, keepdims=True)
    w = rng.uniform(0, 2, X.shape[0])
    log_proba = clf.predict_log_proba(X)
    for weights in (None, w):
        expected = -_manual_ce(log_proba, T, weights)
        for target in (T, sp.csr_matrix(T), T.astype(np.float32)):
            got = neg_cross_entropy_scorer(clf, X, target, sample_weight=weights)
            assert got == pytest.approx(
                expected, rel=1e-6 if target.dtype == np.float32 else 1e-13
            )
    # Never above minus the mean entropy of the targets (Gibbs' inequality).
    assert neg_cross_entropy_scorer(clf, X, Y) <= -_entropy(Y)


def test_scorer_is_stable_where_probabilities_underflow():
    X, y = _iris()
    clf = SoftmaxClassifier(C=1e6, max_iter=2000).fit(X * 50, y)
    log_proba = clf.predict_log_proba(X * 50)
    wrong = (y + 1) % 3
    assert log_proba[np.arange(150), wrong].min() < -300  # p below 1e-130
    score = neg_cross_entropy_scorer(clf, X * 50, wrong)
    assert score == pytest.approx(np.mean(log_proba[np.arange(150), wrong]))
    # log_loss clips p to [eps, 1 - eps]: it reports at most -log(eps) per row.
    clipped = get_scorer("neg_log_loss")(clf, X * 50, wrong)
    assert clipped > score + 100
    assert clipped >= np.log(np.finfo(float).eps)


def test_scorer_repr_and_request_copies():
    assert repr(neg_cross_entropy_scorer) == "neg_cross_entropy_scorer"
    with pytest.raises(RuntimeError, match="metadata routing"):
        neg_cross_entropy_scorer.set_score_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        requested = neg_cross_entropy_scorer.set_score_request(sample_weight=True)
    assert isinstance(requested, CrossEntropyScorer)
    assert requested is not neg_cross_entropy_scorer
    assert "sample_weight=True" in repr(requested)
    assert repr(neg_cross_entropy_scorer) == "neg_cross_entropy_scorer"


# ------------------------------------------------- cross-validation, search


def test_check_cv_gives_unshuffled_kfold_for_probability_targets(iris_soft):
    X, y, Y, _ = iris_soft
    for target in (Y, np.eye(3)[y], sp.csr_matrix(Y)):
        cv = check_cv(5, target, classifier=True)
        assert type(cv) is KFold and not cv.shuffle
    assert type(check_cv(5, y, classifier=True)) is StratifiedKFold
    with pytest.raises(ValueError, match="continuous-multioutput"):
        next(StratifiedKFold(5).split(X, Y))


@pytest.mark.parametrize("cv", [5, SHUFFLED, "stratified-argmax"])
def test_cross_val_score_is_finite_with_probability_targets(iris_soft, cv):
    X, _, Y, _ = iris_soft
    if cv == "stratified-argmax":
        # The recipe of the user guide: stratify on the most probable class.
        cv = list(
            StratifiedKFold(5, shuffle=True, random_state=0).split(X, Y.argmax(1))
        )
    est = SoftmaxClassifier()
    accuracy = cross_val_score(est, X, Y, cv=cv, error_score="raise")
    assert np.all((accuracy > 0.5) & (accuracy <= 1))
    ce = cross_val_score(est, X, Y, cv=cv, scoring=neg_cross_entropy_scorer)
    assert np.all(np.isfinite(ce)) and np.all(ce < 0)
    both = cross_validate(
        est,
        X,
        Y,
        cv=cv,
        scoring={"ce": neg_cross_entropy_scorer, "acc": lambda e, X, Y: e.score(X, Y)},
        error_score="raise",
    )
    np.testing.assert_allclose(both["test_ce"], ce)
    np.testing.assert_allclose(both["test_acc"], accuracy)


def test_grid_search_distils_the_teacher_with_the_largest_c():
    # Noise-free targets: the student best matching held-out teacher
    # probabilities is the least penalised one (at C = inf it is the
    # teacher), and its cross-entropy nears the entropy of the targets.
    X, y = make_classification(400, 10, n_informative=6, n_classes=3, random_state=1)
    teacher = SoftmaxClassifier(C=0.3).fit(X, y)
    Y = teacher.predict_proba(X)
    grid = {"C": [1e-3, 1e-2, 1e3]}
    search = GridSearchCV(
        SoftmaxClassifier(max_iter=1000),
        grid,
        scoring=neg_cross_entropy_scorer,
        cv=SHUFFLED,
        error_score="raise",
    ).fit(X, Y)
    assert search.best_params_ == {"C": 1e3}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.diff(scores) > 0.02)
    assert search.best_score_ == pytest.approx(-_entropy(Y), abs=2e-3)
    assert search.score(X, Y) == pytest.approx(-_entropy(Y), abs=1e-3)
    # The default scoring (SoftmaxClassifier.score) is finite too.
    default = GridSearchCV(
        SoftmaxClassifier(max_iter=1000), grid, cv=SHUFFLED, error_score="raise"
    ).fit(X, Y)
    assert np.all(np.isfinite(default.cv_results_["mean_test_score"]))
    assert default.best_params_ == {"C": 1e3}


def test_grid_search_finds_the_oracle_c_on_noisy_targets():
    # Targets are empirical distributions of 3 draws from a teacher's
    # probabilities P. The expected cross-entropy against them is the
    # cross-entropy against P plus a constant, so the C that cross-validation
    # picks should be the C whose student is closest to P on new data: a
    # middle one, since small C underfits and large C fits the noise.
    rng = np.random.default_rng(0)
    X, y = make_classification(
        2300, 20, n_informative=12, n_classes=4, random_state=0, class_sep=2
    )
    teacher = SoftmaxClassifier(C=1.0).fit(X, y)
    X, X_new = X[:300], X[300:]
    P, P_new = teacher.predict_proba(X), teacher.predict_proba(X_new)
    Y = np.stack([rng.multinomial(3, p) for p in P]) / 3
    grid = [1e-2, 1.0, 1e2]
    search = GridSearchCV(
        SoftmaxClassifier(max_iter=2000),
        {"C": grid},
        scoring=neg_cross_entropy_scorer,
        cv=SHUFFLED,
        error_score="raise",
    ).fit(X, Y)
    oracle = [
        neg_cross_entropy_scorer(
            SoftmaxClassifier(C=C, max_iter=2000).fit(X, Y), X_new, P_new
        )
        for C in grid
    ]
    assert int(np.argmax(oracle)) == 1, oracle
    assert search.best_params_ == {"C": grid[1]}, search.cv_results_["mean_test_score"]


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_scorer_receives_sample_weight_through_metadata_routing(routing):
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    w = np.random.default_rng(5).uniform(0, 2, X.shape[0])
    est = SoftmaxClassifier(C=0.1).set_fit_request(sample_weight=True)
    params = {"sample_weight": w}

    def run(scorer, target=y):
        return cross_validate(
            est, X, target, cv=SHUFFLED, scoring=scorer, params=params
        )["test_score"]

    ours = run(neg_cross_entropy_scorer.set_score_request(sample_weight=True))
    theirs = run(get_scorer("neg_log_loss").set_score_request(sample_weight=True))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    unweighted = run(neg_cross_entropy_scorer.set_score_request(sample_weight=False))
    assert np.all(np.abs(unweighted - ours) > 1e-6)
    # Passed but not requested: an error, as for scikit-learn's scorers.
    with pytest.raises(UnsetMetadataPassedError):
        run(neg_cross_entropy_scorer)
    # Probability targets, weighted folds checked by hand.
    Y = SoftmaxClassifier().fit(X, y).predict_proba(X)
    soft = run(neg_cross_entropy_scorer.set_score_request(sample_weight=True), Y)
    for score, (train, test) in zip(soft, SHUFFLED.split(X), strict=True):
        fold = SoftmaxClassifier(C=0.1).fit(X[train], Y[train], w[train])
        expected = -_manual_ce(fold.predict_log_proba(X[test]), Y[test], w[test])
        assert score == pytest.approx(expected, abs=1e-12)


def test_default_score_receives_sample_weight_through_metadata_routing(routing):
    X, y = _iris()
    Y = SoftmaxClassifier().fit(X, y).predict_proba(X)
    w = np.random.default_rng(6).uniform(0, 2, X.shape[0])
    est = (
        SoftmaxClassifier(C=0.01)
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=True)
    )
    search = GridSearchCV(est, {"C": [0.01]}, cv=SHUFFLED).fit(X, Y, sample_weight=w)
    expected = []
    for train, test in SHUFFLED.split(X):
        fold = SoftmaxClassifier(C=0.01).fit(X[train], Y[train], w[train])
        pred = fold.predict(X[test])
        expected.append(accuracy_score(Y[test].argmax(1), pred, sample_weight=w[test]))
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(np.mean(expected))


def test_grid_search_accepts_sparse_probability_targets(iris_soft):
    X, _, Y, _ = iris_soft
    grid = {"C": [1e-3, 1.0]}
    kwargs = dict(scoring=neg_cross_entropy_scorer, cv=SHUFFLED, error_score="raise")
    dense = GridSearchCV(SoftmaxClassifier(), grid, **kwargs).fit(X, Y)
    sparse = GridSearchCV(SoftmaxClassifier(), grid, **kwargs).fit(X, sp.csr_matrix(Y))
    np.testing.assert_allclose(
        sparse.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"]
    )
    assert sparse.best_params_ == dense.best_params_ == {"C": 1.0}
