"""The estimator side of the stochastic solver: ``solver="sgd"`` and ``partial_fit``.

:class:`~sklearn_softmax.SoftmaxClassifier` delegates here so that its own
module stays about validation, fitted attributes and predictions. The state
of the update rule lives in an :class:`OnlineState` stored on the estimator
as ``_sgd_state``: ``fit`` replaces it, ``partial_fit`` continues it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._predict import linear_predictor
from ._solvers import SGDOptimizer, params_to_theta, sgd, sgd_pass, theta_to_params
from ._targets import encode_targets, is_probability_targets

__all__ = [
    "OnlineState",
    "fit_sgd",
    "is_stochastic",
    "partial_fit",
    "reset_online_attributes",
]

_ONLINE_ATTRIBUTES = ("_sgd_state", "loss_curve_", "validation_scores_", "t_")


@dataclass
class OnlineState:
    """What ``partial_fit`` needs to continue where the last call stopped.

    Attributes
    ----------
    params : ndarray of float64, shape (K, d + 1)
        Current parameters, intercepts in the last column (uncentred).
    optimizer : SGDOptimizer
        Update rule with its counters and moments.
    random_state : numpy.random.RandomState
        Source of the shuffling permutations.
    n_seen : int
        Rows passed so far.
    weight_seen : float
        Total effective sample weight passed so far (the ``S`` of the penalty).
    """

    params: np.ndarray
    optimizer: SGDOptimizer
    random_state: np.random.RandomState
    n_seen: int
    weight_seen: float


def is_stochastic(est):
    """Availability test of ``partial_fit``: only with ``solver="sgd"``."""
    if est.solver != "sgd":
        raise AttributeError(
            f"partial_fit is only available with solver='sgd', not {est.solver!r}."
        )
    return True


def reset_online_attributes(est):
    """Forget the state and the attributes a previous stochastic fit left."""
    for name in _ONLINE_ATTRIBUTES:
        if hasattr(est, name):
            delattr(est, name)


def _make_optimizer(est, shape):
    return SGDOptimizer(
        shape,
        learning_rate=est.learning_rate,
        eta0=est.eta0,
        power_t=est.power_t,
        momentum=est.momentum,
        beta_1=est.beta_1,
        beta_2=est.beta_2,
        epsilon=est.epsilon,
    )


def dominant_class(targets):
    """Most probable class of every target row (the label, for hard labels)."""
    n = targets.n_samples
    lengths = np.diff(targets.ptr)
    if np.all(lengths == 1):
        return np.asarray(targets.cls)
    rows = np.repeat(np.arange(n), lengths)
    # Sort entries by (row, probability); the last entry of a row wins.
    order = np.lexsort((targets.prob, rows))
    return np.asarray(targets.cls)[order[targets.ptr[1:] - 1]]


def _split(est, X, targets, sw, rng):
    """Stratified training/validation split for early stopping."""
    n = targets.n_samples
    strata = dominant_class(targets)
    try:
        train, val = train_test_split(
            np.arange(n),
            test_size=est.validation_fraction,
            stratify=strata,
            random_state=rng,
        )
    except ValueError as exc:
        raise ValueError(
            "early_stopping needs a stratified validation split of "
            f"validation_fraction={est.validation_fraction} of the samples, "
            f"which is impossible here: {exc}"
        ) from exc
    train.sort()
    val.sort()
    return (X[train], targets.take(train), sw[train]), (X[val], strata[val], sw[val])


def _accuracy_scorer(objective, X_val, y_val, sw_val):
    """Weighted accuracy of the model ``theta`` on the validation rows."""

    def score(theta):
        coef, intercept = objective.unpack(theta)
        Z = linear_predictor(X_val, coef, intercept)
        hit = np.argmax(Z, axis=1) == y_val
        total = float(sw_val.sum())
        # Validation rows that all weigh zero still give a usable score.
        return float(np.dot(sw_val, hit) / total) if total > 0 else float(hit.mean())

    return score


def fit_sgd(est, X, targets, sw, theta0):
    """Fit ``est`` by minibatch SGD; return the objective and the result.

    Sets ``loss_curve_``, ``validation_scores_``, ``t_`` and the state that
    ``partial_fit`` continues from.
    """
    reset_online_attributes(est)
    rng = check_random_state(est.random_state)
    scorer = None
    if est.early_stopping:
        (X, targets, sw), (X_val, y_val, sw_val) = _split(est, X, targets, sw, rng)
    objective = est._objective(X, targets, sw)
    if est.early_stopping:
        scorer = _accuracy_scorer(objective, X_val, y_val, sw_val)
    optimizer = _make_optimizer(est, (objective.n_classes, objective.n_features + 1))
    result = sgd(
        objective,
        theta0,
        optimizer,
        batch_size=est.batch_size,
        max_iter=est.max_iter,
        tol=est.tol,
        n_iter_no_change=est.n_iter_no_change,
        shuffle=est.shuffle,
        random_state=rng,
        validation_score=scorer,
        verbose=est.verbose,
    )
    est.loss_curve_ = list(result.history)
    est.validation_scores_ = (
        list(result.extra["validation_scores"]) if est.early_stopping else None
    )
    est.t_ = optimizer.t
    est._sgd_state = OnlineState(
        params=theta_to_params(objective, result.theta),
        optimizer=optimizer,
        random_state=rng,
        n_seen=objective.n_samples,
        weight_seen=objective.sw_sum,
    )
    return objective, result


def _partial_fit_classes(est, classes, y):
    """Check ``classes`` against the call history.

    Returns the classes in the order the columns of probability targets
    follow: as given, else ``classes_``, else the ``classes`` parameter; for
    probability targets on a first call without any, ``arange(n_columns)``.
    """
    fitted = getattr(est, "classes_", None)
    if classes is None and fitted is None:
        classes = getattr(est, "classes", None)
    if classes is None and fitted is None and is_probability_targets(y):
        classes = np.arange(y.shape[1])
    if classes is not None:
        classes = np.asarray(classes)
        unique = np.unique(classes)
        if unique.shape[0] != classes.shape[0]:
            raise ValueError(f"classes={classes.tolist()} contains repeated labels.")
        if fitted is not None and not np.array_equal(fitted, unique):
            raise ValueError(
                f"classes={classes.tolist()} is not the same as on the previous "
                f"call to partial_fit or fit, which used {fitted.tolist()}."
            )
        if unique.shape[0] < 2:
            raise ValueError(
                f"classes={classes.tolist()} must hold at least 2 classes for "
                "partial_fit."
            )
        return classes
    if fitted is None:
        raise ValueError(
            "classes must be passed on the first call to partial_fit: a batch "
            "need not contain every class, so they cannot be inferred from y."
        )
    return fitted


def partial_fit(est, X, y, classes=None, sample_weight=None):
    """One SGD pass over ``X, y`` continuing the state on ``est``."""
    first = not hasattr(est, "classes_")
    soft = is_probability_targets(y)
    classes = _partial_fit_classes(est, classes, y)
    X, y = validate_data(
        est,
        X,
        y,
        accept_sparse="csr",
        dtype=[np.float64, np.float32],
        order="C",
        reset=first,
        multi_output=soft,
    )
    if not soft:
        check_classification_targets(y)
    enc = encode_targets(
        y,
        sample_weight,
        classes=classes,
        class_weight=est.class_weight,
        whole_data=False,
    )
    classes = enc.classes
    objective = est._objective(X, enc.targets, enc.sample_weight)
    state = getattr(est, "_sgd_state", None)
    continuing = state is not None
    shape = (objective.n_classes, objective.n_features + 1)
    if state is None or state.params.shape != shape:
        if first:
            params = np.zeros(shape)
        else:
            # Continue from a model fitted by another solver.
            coef, intercept = est._full_coef()
            params = np.column_stack([coef, intercept]).astype(np.float64)
        state = OnlineState(
            params=params,
            optimizer=_make_optimizer(est, shape),
            random_state=check_random_state(est.random_state),
            n_seen=0,
            weight_seen=0.0,
        )
    state.n_seen += objective.n_samples
    state.weight_seen += objective.sw_sum
    n = objective.n_samples
    order = state.random_state.permutation(n) if est.shuffle else np.arange(n)
    mean_loss = np.nan
    if state.weight_seen > 0:
        mean_loss = sgd_pass(
            objective,
            state.params,
            state.optimizer,
            order,
            batch_size=max(1, min(int(est.batch_size), n)),
            weight_mean=state.weight_seen / state.n_seen,
            weight_total=state.weight_seen,
        )
    theta = params_to_theta(objective, state.params)
    est.classes_ = classes
    est._set_coef(*objective.unpack(theta), X.dtype)
    est._sgd_state = state
    est.n_iter_ = est.n_iter_ + 1 if continuing else 1
    est.t_ = state.optimizer.t
    est.loss_curve_ = [*getattr(est, "loss_curve_", []), float(mean_loss)]
    if est.verbose:
        print(
            f"SGD partial_fit call {est.n_iter_:4d}  mean minibatch objective "
            f"{mean_loss:.10e}  updates {est.t_}",
            flush=True,
        )
    est.validation_scores_ = None
    return est
