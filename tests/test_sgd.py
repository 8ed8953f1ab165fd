"""solver="sgd": update rule, convergence to the L-BFGS optimum, stopping."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets, readonly
from sklearn_softmax._datafit import data_loss_gradient


def _objective_value(clf, X, y, sample_weight=None):
    """Objective of ``clf``'s model on ``X, y`` (as the estimator defines it)."""
    y_enc = np.searchsorted(clf.classes_, y)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    objective = clf._objective(X, Targets.from_labels(y_enc, len(clf.classes_)), sw)
    coef, intercept = clf._full_coef()
    return objective.loss(objective.pack(coef, intercept))


def _small_problem(n=30, d=5, k=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    y = rng.randint(0, k, n)
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, sw


def _reference_epoch(X, y, sw, P, order, *, batch_size, C, fit_intercept, rule, state):
    """The documented update rule, written with the objective's own gradient.

    Data gradient step (with momentum), then the proximal step of the L2
    penalty ``W <- W / (1 + a * alpha / S)`` with ``a = rate / (1 - mu)``;
    Adam instead adds the penalty's gradient. No averaging (``params`` is
    the iterate).
    """
    n, d = X.shape
    k = P.shape[0]
    S, n_total = sw.sum(), n
    alpha = (2.0 if k == 2 else 1.0) / C
    targets = Targets.from_labels(y, k)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        _, G = data_loss_gradient(
            (readonly(np.ascontiguousarray(X[idx])),),
            False,
            targets.take(idx),
            readonly(sw[idx]),
            P[:, :d].copy(),
            P[:, d].copy(),
            0.0,
            False,
        )
        G = G / (len(idx) * S / n_total)
        if rule == "adam":
            # Adam keeps the L2 penalty in its gradient.
            G[:, :d] += alpha / S * P[:, :d]
        if not fit_intercept:
            G[:, d] = 0.0
        state["t"] += 1
        t = state["t"]
        if rule == "adam":
            b1, b2, eta = 0.9, 0.999, state["eta0"]
            state["m"] = b1 * state["m"] + (1 - b1) * G
            state["u"] = b2 * state["u"] + (1 - b2) * G * G
            rate = eta * np.sqrt(1 - b2**t) / (1 - b1**t)
            P -= rate * state["m"] / (np.sqrt(state["u"]) + 1e-8)
        else:
            rate = state["eta0"] / t**0.5 if rule == "invscaling" else state["eta0"]
            state["m"] = state["momentum"] * state["m"] - rate * G
            P += state["m"]
            # The exact proximal step of the L2 penalty, at the step the
            # gradient gets under momentum.
            P[:, :d] /= 1.0 + rate / (1.0 - state["momentum"]) * alpha / S
        state.setdefault("trace", []).append(P.copy())
    return P


@pytest.mark.parametrize("rule", ["constant", "invscaling", "adam"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("k", [2, 3])
def test_updates_follow_the_documented_rule(rule, fit_intercept, k):
    X, y, sw = _small_problem(k=k)
    batch_size, C, epochs = 7, 0.5, 3
    clf = SoftmaxClassifier(
        C=C,
        solver="sgd",
        fit_intercept=fit_intercept,
        learning_rate=rule,
        eta0=0.05,
        momentum=0.8,
        batch_size=batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=100,
        random_state=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    rng = np.random.RandomState(3)
    P = np.zeros((k, X.shape[1] + 1))
    state = {"t": 0, "eta0": 0.05, "momentum": 0.8, "m": 0.0 * P, "u": 0.0 * P}
    for _ in range(epochs):
        order = rng.permutation(len(y))
        P = _reference_epoch(
            X,
            y,
            sw,
            P,
            order,
            batch_size=batch_size,
            C=C,
            fit_intercept=fit_intercept,
            rule=rule,
            state=state,
        )
    np.testing.assert_allclose(clf._sgd_state["params"], P, rtol=1e-10, atol=1e-12)
    assert clf.t_ == epochs * -(-len(y) // batch_size)


@pytest.mark.parametrize("sparse", [False, True])
def test_full_batch_step_is_a_gradient_step(sparse):
    # With one batch per epoch the estimate is the exact gradient of the
    # objective L-BFGS minimises (weights, penalty scaling and all).
    X, y, sw = _small_problem(n=40, d=6, k=4, seed=1)
    clf = SoftmaxClassifier(
        C=0.3,
        solver="sgd",
        learning_rate="constant",
        eta0=0.1,
        momentum=0.0,
        batch_size=1000,
        max_iter=1,
        shuffle=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=sw)
    objective = clf._objective(X, Targets.from_labels(y, 4), sw)
    _, grad = objective.loss_gradient(np.zeros(objective.n_params))
    expected = (-0.1 * grad).reshape(objective.shape)
    # Then the proximal step of the L2 penalty (1 / C over S).
    expected[:, :-1] /= 1.0 + 0.1 / (0.3 * sw.sum())
    np.testing.assert_allclose(
        clf._sgd_state["params"], expected, rtol=1e-12, atol=1e-15
    )


def test_reaches_lbfgs_optimum_on_digits():
    # digits, standardised, C=0.01: condition number ~1e2; the former
    # default schedule ("adaptive", eta0=0.01, momentum 0.9, batch 32, no
    # average, n_iter_no_change=5) with tol=1e-5 stops after ~55-85 epochs
    # within 1e-4..3e-4 of the optimum (seeds 0-3). (With C=1 the problem is
    # ~100x worse conditioned: see test_defaults_reach_lbfgs_optimum_on_digits.)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = SoftmaxClassifier(C=0.01, max_iter=1000, tol=1e-10).fit(X, y)
    clf = SoftmaxClassifier(
        C=0.01,
        solver="sgd",
        tol=1e-5,
        max_iter=200,
        random_state=0,
        eta0=0.01,
        n_iter_no_change=5,
        average=False,
    )
    clf.fit(X, y)
    f_ref, f_sgd = _objective_value(ref, X, y), _objective_value(clf, X, y)
    assert clf.n_iter_ < 200
    assert clf.loss_curve_[-1] == pytest.approx(f_sgd, rel=1e-12)
    assert 0 <= (f_sgd - f_ref) / f_ref < 1e-3
    assert (clf.predict(X) == ref.predict(X)).mean() > 0.99


def test_reaches_lbfgs_optimum_on_synthetic_50k():
    # 50 000 x 50, 8 classes drawn from a softmax model (not separable).
    # "adaptive" with eta0=0.002, n_iter_no_change=2, tol=1e-4: after 12
    # epochs the objective is 2.3e-5..2.9e-5 relative above L-BFGS (seeds
    # 0-2); it passes 1e-3 at epoch 8.
    rng = np.random.default_rng(0)
    n, d, k = 50_000, 50, 8
    X = rng.standard_normal((n, d))
    Z = X @ (0.3 * rng.standard_normal((k, d))).T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    ref = SoftmaxClassifier(max_iter=1000, tol=1e-8).fit(X, y)
    clf = SoftmaxClassifier(
        solver="sgd",
        eta0=0.002,
        tol=1e-4,
        n_iter_no_change=2,
        average=False,
        max_iter=12,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    f_ref, f_sgd = _objective_value(ref, X, y), _objective_value(clf, X, y)
    assert 0 <= (f_sgd - f_ref) / f_ref < 1e-3
    assert len(clf.loss_curve_) == clf.n_iter_ == 12
    assert clf.t_ == 12 * -(-n // 32)


def test_deterministic_and_independent_of_n_jobs():
    X, y = make_classification(600, 10, n_informative=6, n_classes=4, random_state=0)
    fits = [
        SoftmaxClassifier(solver="sgd", random_state=7, n_jobs=n_jobs, max_iter=5).fit(
            X, y
        )
        for n_jobs in (1, 2, 1)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].coef_, other.coef_)
        np.testing.assert_array_equal(fits[0].intercept_, other.intercept_)
        assert fits[0].loss_curve_ == other.loss_curve_
    different = SoftmaxClassifier(solver="sgd", random_state=8, max_iter=5).fit(X, y)
    assert not np.array_equal(fits[0].coef_, different.coef_)


def test_sparse_and_float32():
    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=1)
    X[X < 0.3] = 0.0
    params = dict(solver="sgd", random_state=0, max_iter=10)
    dense = SoftmaxClassifier(**params).fit(X, y)
    sparse = SoftmaxClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    single = SoftmaxClassifier(**params).fit(X.astype(np.float32), y)
    assert single.coef_.dtype == np.float32
    assert single.intercept_.dtype == np.float32
    np.testing.assert_allclose(single.coef_, dense.coef_, rtol=1e-3, atol=1e-3)


def test_early_stopping_keeps_best_validation_epoch():
    X, y = make_classification(
        1000, 20, n_informative=5, n_classes=3, flip_y=0.2, random_state=0
    )
    clf = SoftmaxClassifier(
        solver="sgd",
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        learning_rate="constant",
        random_state=0,
        max_iter=50,
    ).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == len(clf.loss_curve_) == clf.n_iter_ < 50
    best = int(np.argmax(scores))
    assert clf.n_iter_ == best + 1 + 3
    # The validation rows are the held-out stratified 20 percent: refit the
    # split to score the returned (best-epoch) model on them.
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state

    _, val = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=check_random_state(0)
    )
    assert np.all(np.abs(np.bincount(y[val]) - 0.2 * np.bincount(y)) <= 1)
    assert clf.score(X[val], y[val]) == pytest.approx(scores[best])


def test_no_validation_scores_without_early_stopping():
    X, y = make_classification(200, 5, random_state=0)
    clf = SoftmaxClassifier(solver="sgd", random_state=0).fit(X, y)
    assert clf.validation_scores_ is None


def test_early_stopping_needs_a_stratifiable_split():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array([0] * 9 + [1])
    clf = SoftmaxClassifier(solver="sgd", early_stopping=True)
    with pytest.raises(ValueError, match="stratified validation split"):
        clf.fit(X, y)


@pytest.mark.parametrize("rule, epochs", [("constant", 6), ("adaptive", 31)])
def test_plateau_stops_or_decays(rule, epochs):
    # tol=10 makes every epoch after the first a plateau epoch: "constant"
    # stops after n_iter_no_change of them, "adaptive" divides eta0=0.01 by 5
    # six times (0.01 / 5**6 < 1e-6) before stopping.
    X, y = make_classification(100, 4, random_state=0)
    clf = SoftmaxClassifier(
        solver="sgd",
        learning_rate=rule,
        tol=10.0,
        max_iter=100,
        random_state=0,
        eta0=0.01,
        n_iter_no_change=5,
    ).fit(X, y)
    assert clf.n_iter_ == epochs
    assert clf._sgd_state["optimizer"]["eta"] == pytest.approx(
        0.01 / 5**6 if rule == "adaptive" else 0.01
    )


def test_max_iter_warns_and_counts_epochs():
    X, y = make_classification(100, 4, random_state=0)
    clf = SoftmaxClassifier(solver="sgd", max_iter=3, tol=0.0, batch_size=16)
    with pytest.warns(ConvergenceWarning, match="max_iter=3 epochs"):
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3
    assert clf.t_ == 3 * 7


@pytest.mark.parametrize("rule", ["constant", "invscaling", "adaptive", "adam"])
def test_every_schedule_decreases_the_objective(rule):
    X, y = load_digits(n_class=4, return_X_y=True)
    X = X / 16.0
    clf = SoftmaxClassifier(
        solver="sgd", learning_rate=rule, max_iter=20, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.loss_curve_[-1] < 0.5 * np.log(4)
    assert clf.score(X, y) > 0.95


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = make_classification(100, 4, random_state=0)
    SoftmaxClassifier(
        solver="sgd", verbose=1, tol=10.0, eta0=0.01, n_iter_no_change=5
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 31  # see test_plateau_stops_or_decays
    assert all(line.startswith("SGD epoch") and "objective" in line for line in lines)
    assert sum("-> learning rate" in line for line in lines) == 5


def test_warm_start_continues_from_previous_solution():
    X, y = make_classification(300, 6, n_classes=3, n_informative=4, random_state=0)
    params = dict(solver="sgd", random_state=0, max_iter=2, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold = SoftmaxClassifier(**params).fit(X, y)
        warm = SoftmaxClassifier(warm_start=True, **params).fit(X, y)
        warm.fit(X, y)
    assert warm.t_ == cold.t_  # the update state restarts with every fit
    assert warm.loss_curve_[-1] < cold.loss_curve_[-1]


def test_divergence_raises():
    X, y = make_classification(100, 4, random_state=0)
    clf = SoftmaxClassifier(solver="sgd", eta0=1e300, learning_rate="constant")
    with pytest.raises(ValueError, match="SGD diverged"):
        clf.fit(X * 1e10, y)


def test_lbfgs_fit_clears_sgd_attributes():
    X, y = make_classification(100, 4, random_state=0)
    clf = SoftmaxClassifier(solver="sgd", random_state=0).fit(X, y)
    clf.set_params(solver="lbfgs").fit(X, y)
    for name in ("validation_scores_", "t_", "_sgd_state"):
        assert not hasattr(clf, name)
    # loss_curve_ is now the lbfgs fit's: one objective per iteration.
    assert len(clf.loss_curve_) == clf.n_iter_[0]


def test_probability_targets_and_label_smoothing_compose():
    # The epoch kernel reads the same Targets and label smoothing as the
    # objective: one full-batch step is minus eta times its gradient.
    X, y, sw = _small_problem(n=40, d=5, k=3, seed=2)
    rng = np.random.RandomState(0)
    Y = rng.dirichlet(np.ones(3), size=40)
    clf = SoftmaxClassifier(
        solver="sgd",
        label_smoothing=0.1,
        learning_rate="constant",
        eta0=0.2,
        momentum=0.0,
        batch_size=1000,
        max_iter=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y, sample_weight=sw)
    objective = clf._objective(X, Targets.from_proba(Y), sw)
    assert objective.data.label_smoothing == 0.1
    _, grad = objective.loss_gradient(np.zeros(objective.n_params))
    expected = (-0.2 * grad).reshape(objective.shape)
    expected[:, :-1] /= 1.0 + 0.2 / sw.sum()  # the L2 penalty's proximal step
    np.testing.assert_allclose(
        clf._sgd_state["params"], expected, rtol=1e-12, atol=1e-15
    )


def test_early_stopping_with_probability_targets():
    from sklearn_softmax._online import dominant_class

    rng = np.random.RandomState(0)
    Y = rng.dirichlet(np.ones(3), size=300)
    np.testing.assert_array_equal(
        dominant_class(Targets.from_proba(Y)), np.argmax(Y, axis=1)
    )
    X = Y @ rng.standard_normal((3, 4)) + 0.1 * rng.standard_normal((300, 4))
    clf = SoftmaxClassifier(solver="sgd", early_stopping=True, random_state=0)
    clf.fit(X, Y)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert max(clf.validation_scores_) > 0.5


FORK_SCRIPT = """
import multiprocessing as mp
import warnings

import numpy as np

from sklearn_softmax import SoftmaxClassifier

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.standard_normal((3000, 5))
y = np.arange(3000) % 3
params = dict(solver="sgd", random_state=0, max_iter=5, early_stopping=True)
parent = SoftmaxClassifier(**params).fit(X, y)


def work(_):
    clf = SoftmaxClassifier(**params).fit(X, y)
    return clf.coef_.tobytes(), clf.loss_curve_


if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:
        results = pool.map(work, range(2))
    same = all(
        c == parent.coef_.tobytes() and curve == parent.loss_curve_
        for c, curve in results
    )
    print("SAME" if same else "DIFFERENT")
"""


def test_sgd_fit_in_forked_children(tmp_path):
    # Forked children cannot use the OpenMP pool: the per-epoch objective and
    # the validation score fall back to the serial twins with the same bits.
    import subprocess
    import sys

    script = tmp_path / "fork_sgd.py"
    script.write_text(FORK_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SAME", out.stdout + out.stderr


def test_early_stopping_with_csr_and_float32():
    X, y = make_classification(500, 10, n_informative=5, n_classes=3, random_state=0)
    params = dict(solver="sgd", early_stopping=True, random_state=0)
    dense = SoftmaxClassifier(**params).fit(X, y)
    csr = SoftmaxClassifier(**params).fit(sp.csr_matrix(X), y)
    single = SoftmaxClassifier(**params).fit(X.astype(np.float32), y)
    assert csr.validation_scores_ == dense.validation_scores_
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    assert single.coef_.dtype == np.float32 and len(single.validation_scores_) > 1


@pytest.mark.parametrize("fmt", ["dense", "float32", "csr"])
def test_loss_of_a_row_subset_is_that_of_its_copy(fmt):
    # Early stopping evaluates the training objective on the rows of X
    # without copying them; chunk by chunk, the loss is bitwise the one of
    # the copy X[rows] (several dense chunks and CSR row chunks here).
    from sklearn_softmax._datafit import SoftmaxDataTerm

    rng = np.random.default_rng(0)
    n, d, k = 3000, 7, 4
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.5] = 0.0
    X = {"dense": X, "float32": X.astype(np.float32), "csr": sp.csr_matrix(X)}[fmt]
    y, sw = rng.integers(0, k, n), rng.uniform(0.1, 2.0, n)
    targets = Targets.from_labels(y, k)
    rows = np.sort(rng.permutation(n)[:2700])
    full = SoftmaxDataTerm(X, targets, sw, label_smoothing=0.1)
    copy = SoftmaxDataTerm(X[rows], targets.take(rows), sw[rows], label_smoothing=0.1)
    W, b = rng.standard_normal((k, d)), rng.standard_normal(k)
    loss, grad = full.loss_gradient_rows(W, b, rows)
    loss_copy, grad_copy = copy.loss_gradient(W, b)
    assert loss == loss_copy
    if fmt == "csr":
        # The copy's column layout splits the rows into groups.
        np.testing.assert_allclose(grad, grad_copy, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(grad, grad_copy)


@pytest.mark.parametrize("sparse", [False, True])
def test_early_stopping_without_copies_matches_the_copied_split(sparse):
    # The fit visits the training rows of X by index; it is bitwise the fit
    # of the objective of the copies X[train] scored on the copy X[val].
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state

    from sklearn_softmax._online import _make_optimizer
    from sklearn_softmax._predict import linear_predictor
    from sklearn_softmax._solvers import sgd

    X, y = make_classification(
        3000, 8, n_informative=5, n_classes=3, flip_y=0.1, random_state=0
    )
    sw = np.random.RandomState(1).uniform(0.5, 2.0, len(y))
    X = sp.csr_matrix(X) if sparse else X
    params = dict(
        solver="sgd",
        early_stopping=True,
        learning_rate="adam",
        l1_ratio=0.5,
        random_state=0,
        max_iter=6,
        n_iter_no_change=100,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)

    rng = check_random_state(0)
    train, val = train_test_split(
        np.arange(len(y)), test_size=0.1, stratify=y, random_state=rng
    )
    train.sort()
    val.sort()
    objective = clf._objective(X[train], Targets.from_labels(y[train], 3), sw[train])

    def score(theta):
        hit = np.argmax(linear_predictor(X[val], *objective.unpack(theta)), axis=1)
        return float(np.dot(sw[val], hit == y[val]) / sw[val].sum())

    result = sgd(
        objective,
        np.zeros(objective.n_params),
        _make_optimizer(clf, (3, 9)),
        max_iter=6,
        n_iter_no_change=100,
        random_state=rng,
        validation_score=score,
    )
    coef, intercept = objective.unpack(result.theta)
    np.testing.assert_array_equal(clf._sgd_state["params"][:, :-1], coef)
    np.testing.assert_array_equal(clf._sgd_state["params"][:, -1], intercept)
    assert clf.loss_curve_ == list(result.history)
    assert clf.validation_scores_ == result.extra["validation_scores"]
    assert clf._sgd_state["weight_seen"] == objective.sw_sum


# -- #17: the proximal L2 step, averaging, the defaults, coef_init ------------


@pytest.mark.parametrize("average", [True, 5])
@pytest.mark.parametrize("rule", ["constant", "adam"])
def test_average_is_the_mean_of_the_iterates(average, rule):
    # Polyak-Ruppert: the model is the mean of the iterates from update
    # number ``average`` on (True: from the first); the iterate goes on.
    X, y, sw = _small_problem(k=3)
    clf = SoftmaxClassifier(
        C=0.5,
        solver="sgd",
        learning_rate=rule,
        eta0=0.05,
        momentum=0.8,
        batch_size=7,
        max_iter=3,
        tol=0.0,
        n_iter_no_change=100,
        random_state=3,
        average=average,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sw)
    rng = np.random.RandomState(3)
    P = np.zeros((3, X.shape[1] + 1))
    state = {"t": 0, "eta0": 0.05, "momentum": 0.8, "m": 0.0 * P, "u": 0.0 * P}
    for _ in range(3):
        P = _reference_epoch(
            X,
            y,
            sw,
            P,
            rng.permutation(len(y)),
            batch_size=7,
            C=0.5,
            fit_intercept=True,
            rule=rule,
            state=state,
        )
    mean = np.mean(state["trace"][int(average) - 1 :], axis=0)
    np.testing.assert_allclose(clf._sgd_state["params"], P, rtol=1e-10, atol=1e-12)
    stored = clf._sgd_state["optimizer"]["average_params"]
    np.testing.assert_allclose(stored, mean, rtol=1e-10, atol=1e-12)
    coef, intercept = clf._full_coef()
    np.testing.assert_allclose(coef, mean[:, :-1] - mean[:, :-1].mean(0), atol=1e-12)
    np.testing.assert_allclose(intercept, mean[:, -1] - mean[:, -1].mean(), atol=1e-12)
    # The objective is that of the average (uncentred: Adam's steps do not
    # keep the columns centred, and centring lowers the penalty).
    objective = clf._objective(X, Targets.from_labels(y, 3), sw)
    f_mean = objective.loss(objective.pack(mean[:, :-1], mean[:, -1]))
    assert clf.loss_curve_[-1] == pytest.approx(f_mean, rel=1e-12)


def test_average_starts_late_and_auto_skips_l1():
    X, y = make_classification(200, 5, n_classes=3, n_informative=3, random_state=0)
    late = SoftmaxClassifier(
        solver="sgd", max_iter=2, tol=0, average=10**6, random_state=0
    )
    plain = SoftmaxClassifier(
        solver="sgd", max_iter=2, tol=0, average=False, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        late.fit(X, y)
        plain.fit(X, y)
    # Averaging has not begun: the model is the iterate.
    np.testing.assert_array_equal(late.coef_, plain.coef_)
    # "auto" averages the L2 fit and not the L1 fit, whose zeros it keeps.
    l1 = SoftmaxClassifier(C=0.05, l1_ratio=1.0, solver="sgd", random_state=0)
    l1.fit(X, y)
    assert (l1.coef_ == 0).sum() > 0
    assert not l1._sgd_state["optimizer"]["average_params"].any()


@pytest.mark.parametrize("rule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_strong_l2_penalty_is_stable(rule, momentum):
    # eta0 * lambda = 0.3 * 2 / (1e-6 * 20) = 3e4 per update: an explicit
    # step diverges at once; the proximal one keeps W at the optimum's scale.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    ref = SoftmaxClassifier(C=1e-6).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = SoftmaxClassifier(
            solver="sgd", C=1e-6, learning_rate=rule, momentum=momentum
        ).fit(X, y, sample_weight=np.full(20, 1.0))
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-5)


def test_defaults_reach_lbfgs_optimum_on_digits():
    # digits / 16, C=1 (badly conditioned): with the defaults (eta0=0.3,
    # momentum 0.9, "adaptive", average restarted at every decay) the model
    # is 4.7e-4..5.2e-4 above the L-BFGS objective when the fit stops after
    # 71-78 epochs (seeds 0-4); the former defaults (eta0=0.01, no average)
    # stayed 1.2e-2 above after 100 epochs.
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    ref = SoftmaxClassifier(max_iter=2000, tol=1e-10).fit(X, y)
    f_ref = _objective_value(ref, X, y)
    for seed in (0, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = SoftmaxClassifier(solver="sgd", random_state=seed).fit(X, y)
        assert clf.n_iter_ < 100
        assert 0 <= _objective_value(clf, X, y) - f_ref < 1e-3


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
@pytest.mark.parametrize("k", [2, 3])
def test_coef_init_is_the_starting_point(solver, k):
    X, y = make_classification(150, 5, n_classes=k, n_informative=3, random_state=0)
    ref = SoftmaxClassifier(max_iter=1000, tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # No iteration: the model is the starting point, in coef_'s shape.
        start = SoftmaxClassifier(solver=solver, max_iter=0).fit(
            X, y, coef_init=ref.coef_, intercept_init=ref.intercept_
        )
    np.testing.assert_allclose(start.coef_, ref.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(start.intercept_, ref.intercept_, rtol=1e-12)
    # It overrides warm_start: a warm refit from zeros is the cold fit.
    cold = SoftmaxClassifier(solver=solver, max_iter=3, random_state=0)
    warm = SoftmaxClassifier(solver=solver, max_iter=3, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold.fit(X, y)
        warm.fit(X, y).fit(
            X,
            y,
            coef_init=np.zeros_like(ref.coef_),
            intercept_init=np.zeros_like(ref.intercept_),
        )
    np.testing.assert_array_equal(warm.coef_, cold.coef_)
    np.testing.assert_array_equal(warm.intercept_, cold.intercept_)


def test_coef_init_validation():
    X, y = make_classification(60, 5, n_classes=3, n_informative=3, random_state=0)
    X = X[:, :4]
    clf = SoftmaxClassifier()
    with pytest.raises(ValueError, match=r"coef_init has shape \(1, 4\), expected"):
        clf.fit(X, y, coef_init=np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"intercept_init has shape \(2,\)"):
        clf.fit(X, y, intercept_init=np.zeros(2))
    with pytest.raises(ValueError, match="coef_init contains NaN or infinity"):
        clf.fit(X, y, coef_init=np.full((3, 4), np.inf))
    with pytest.raises(ValueError, match="fit_intercept=False"):
        SoftmaxClassifier(fit_intercept=False).fit(X, y, intercept_init=np.zeros(3))
    with pytest.raises(ValueError, match="array of numbers"):
        clf.fit(X, y, coef_init=[["a"] * 4] * 3)
    assert not hasattr(clf, "coef_")  # failed fits leave nothing behind
    # Binary: coef_'s one row, also as a 1-D array.
    yb = y % 2
    zero = SoftmaxClassifier(solver="sgd", max_iter=0)  # no epoch: the start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = clone(zero).fit(X, yb, coef_init=np.ones((1, 4)), intercept_init=[2.0])
        b = clone(zero).fit(X, yb, coef_init=np.ones(4))
    np.testing.assert_array_equal(a.coef_, np.ones((1, 4)))
    np.testing.assert_array_equal(a.intercept_, [2.0])
    np.testing.assert_array_equal(b.coef_, a.coef_)


def test_adaptive_decay_restarts_the_average():
    # tol=10: every epoch after the first is a plateau epoch, so "adaptive"
    # divides the rate every n_iter_no_change=5 epochs; the average then
    # begins anew at the update of the last decay.
    X, y = make_classification(100, 4, random_state=0)
    clf = SoftmaxClassifier(solver="sgd", tol=10.0, max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    state = clf._sgd_state["optimizer"]
    per_epoch = -(-100 // 32)
    assert state["average_start"] == 6 * per_epoch  # the decay after epoch 6
    assert clf.t_ == 8 * per_epoch
    # The model is the mean of the 8 iterates since: one further partial_fit
    # pass over the same rows folds 4 more in, without a restart.
    clf.partial_fit(X, y)
    assert clf._sgd_state["optimizer"]["average_start"] == 6 * per_epoch
