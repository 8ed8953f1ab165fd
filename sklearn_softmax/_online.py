"""The estimator side of the stochastic solver: ``solver="sgd"`` and ``partial_fit``.

:class:`~sklearn_softmax.SoftmaxClassifier` delegates here so that its own
module stays about validation, fitted attributes and predictions. Nothing
here writes to the estimator: :func:`fit_sgd` and :func:`partial_fit_step`
return an :class:`OnlineFit` record, which the estimator turns into its
fitted attributes. The state of the update rule, :class:`OnlineState`, is
kept by the estimator as ``_sgd_state`` in the plain form of
:meth:`OnlineState.to_dict` (arrays and Python scalars only, which skops
loads without trusting any type but the estimator's): ``fit`` replaces it,
``partial_fit`` continues it.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._arrays import readonly
from ._predict import linear_predictor
from ._solvers import SGDOptimizer, params_to_theta, sgd, sgd_pass, theta_to_params
from ._targets import is_probability_targets

__all__ = [
    "OnlineFit",
    "OnlineState",
    "fit_sgd",
    "sgd_only",
    "partial_fit_classes",
    "partial_fit_step",
]


@dataclass
class OnlineState:
    """What ``partial_fit`` needs to continue where the last call stopped.

    Attributes
    ----------
    params : ndarray of float64, shape (K, d + 1)
        Current iterate, intercepts in the last column (uncentred); with
        ``average`` the model is the optimizer's ``average_params``.
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

    def to_dict(self):
        """Return the state as a dict of arrays and Python scalars (as stored).

        The optimizer keeps only its state: its hyper-parameters are the
        estimator's parameters. The random state is the tuple of
        ``RandomState.get_state`` under names.

        Returns
        -------
        state : dict
            Keys ``params`` (the iterate), ``optimizer`` (a dict: ``t``,
            ``eta``, ``l1_total``, ``buf1``, ``buf2``, ``l1_applied``,
            ``average_params``),
            ``random_state`` (a dict: ``name``, ``key``, ``pos``,
            ``has_gauss``, ``cached_gaussian``), ``n_seen``, ``weight_seen``.
        """
        name, key, pos, has_gauss, cached = self.random_state.get_state()
        return {
            "params": np.array(self.params, dtype=np.float64),
            "optimizer": self.optimizer.get_state(),
            "random_state": {
                "name": str(name),
                "key": np.array(key, dtype=np.uint32),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached_gaussian": float(cached),
            },
            "n_seen": int(self.n_seen),
            "weight_seen": float(self.weight_seen),
        }

    @classmethod
    def from_dict(cls, state, est):
        """Rebuild the state of :meth:`to_dict`, with ``est``'s hyper-parameters.

        The learning rate ``eta`` is the saved one (``"adaptive"`` may have
        divided it); every array is copied, so a pass that fails leaves
        ``state`` intact.
        """
        params = np.array(state["params"], dtype=np.float64)
        optimizer = _make_optimizer(est, params.shape).set_state(state["optimizer"])
        rs = state["random_state"]
        random_state = np.random.RandomState()
        random_state.set_state(
            (
                rs["name"],
                np.array(rs["key"], dtype=np.uint32),
                rs["pos"],
                rs["has_gauss"],
                rs["cached_gaussian"],
            )
        )
        return cls(
            params=params,
            optimizer=optimizer,
            random_state=random_state,
            n_seen=int(state["n_seen"]),
            weight_seen=float(state["weight_seen"]),
        )


class sgd_only:  # noqa: N801 - used as a decorator, like available_if
    """Make a method exist only on estimators with ``solver="sgd"``.

    Like scikit-learn's ``available_if`` (``hasattr`` is False otherwise, so
    meta-estimators see no ``partial_fit``), but the AttributeError says why
    and what to change.
    """

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.method
        if obj.solver != "sgd":
            raise AttributeError(
                f"{type(obj).__name__}.{self.method.__name__} is only available "
                f"with solver='sgd' (this estimator has solver={obj.solver!r}); "
                "set solver='sgd' to train incrementally."
            )
        return types.MethodType(self.method, obj)


@dataclass
class OnlineFit:
    """What a stochastic fit or ``partial_fit`` call produced.

    Attributes
    ----------
    theta : ndarray of float64
        Final parameters, packed by the objective.
    state : OnlineState
        The state the next ``partial_fit`` continues from (the estimator
        stores its :meth:`OnlineState.to_dict`).
    loss_curve : list of float
        Objective after every epoch (``partial_fit``: the mean minibatch
        objective of this call, appended to the previous curve).
    validation_scores : list of float or None
        Validation accuracy after every epoch under early stopping.
    n_iter : int
        Epochs of this fit, or the running count of ``partial_fit`` calls.
    converged : bool
        Whether the stopping rule was met.
    message : str
        Why the solver stopped.
    stopped_by_callback : bool
        Whether a fit callback asked the solver to stop.
    """

    theta: np.ndarray
    state: OnlineState
    loss_curve: list
    validation_scores: list | None
    n_iter: int
    converged: bool = True
    message: str = ""
    stopped_by_callback: bool = False


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
        average=resolve_average(est),
    )


def resolve_average(est):
    """``est.average`` with ``"auto"`` resolved: on without an L1 part."""
    if isinstance(est.average, str):
        return est.l1_ratio == 0
    return est.average


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


def _split(est, targets, rng):
    """Stratified training/validation split for early stopping.

    Returns
    -------
    train, val : ndarray of int
        Sorted row indices.
    strata : ndarray
        Dominant class of every row (the validation labels).
    """
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
    return train, val, strata


class _RowSubset:
    """Data term of some rows of another data term, without a copy of them.

    What the objective of ``X[rows]`` would see, bitwise: the SGD epochs
    visit the rows through their ``order`` (mapped to rows of ``X``), and the
    loss is evaluated chunk by chunk
    (:meth:`~sklearn_softmax._datafit.SoftmaxDataTerm.loss_gradient_rows`).
    Copying the training rows for early stopping took as much memory again
    as ``X``.
    """

    def __init__(self, data, rows):
        self.data = data
        self.rows = readonly(np.asarray(rows, dtype=np.int64))
        self.n_samples = self.rows.shape[0]
        self.n_features = data.n_features
        self.n_classes = data.n_classes
        self.dtype = data.dtype
        self.parallel = data.parallel
        self.sw_sum = float(data.sample_weight[self.rows].sum())

    def loss_gradient(self, coef, intercept):
        """Weighted data term of the rows and its gradient, unnormalised."""
        return self.data.loss_gradient_rows(coef, intercept, self.rows)

    def sgd_epoch(self, P, optimizer, order, **kwargs):
        """One pass of minibatch updates over the rows ``order`` of the subset."""
        return self.data.sgd_epoch(P, optimizer, self.rows[order], **kwargs)


def _accuracy_scorer(objective, X, val, y_val, sw_val):
    """Weighted accuracy of the model ``theta`` on the rows ``val`` of ``X``."""
    # Blocks of validation rows, not X[val]: rows are predicted independently,
    # so the scores are the same, in a 64th of the memory.
    step = max(1024, -(-val.shape[0] // 64))

    def score(theta):
        coef, intercept = objective.unpack(theta)
        hit = np.empty(val.shape[0], dtype=bool)
        for s0 in range(0, val.shape[0], step):
            Z = linear_predictor(X[val[s0 : s0 + step]], coef, intercept)
            hit[s0 : s0 + step] = np.argmax(Z, axis=1) == y_val[s0 : s0 + step]
        total = float(sw_val.sum())
        # Validation rows that all weigh zero still give a usable score.
        return float(np.dot(sw_val, hit) / total) if total > 0 else float(hit.mean())

    return score


def fit_sgd(est, X, targets, sw, theta0, make_objective, callback=None):
    """Fit by minibatch SGD with the settings of ``est``.

    ``make_objective(X, targets, sw)`` builds the objective of the data.
    Under early stopping the solver sees the training rows only, as a
    :class:`_RowSubset` of that objective's data term (no copy of ``X``).

    Returns
    -------
    objective : Objective
    record : OnlineFit
    """
    rng = check_random_state(est.random_state)
    scorer = None
    if est.early_stopping:
        train, val, strata = _split(est, targets, rng)
    objective = make_objective(X, targets, sw)
    if est.early_stopping:
        scorer = _accuracy_scorer(objective, X, val, strata[val], sw[val])
        objective = type(objective).from_parts(
            _RowSubset(objective.data, train),
            objective.penalty,
            objective.fit_intercept,
        )
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
        callback=callback,
    )
    # The iterate goes on; with averaging the model is the average instead.
    last = result.extra["params"] if optimizer.averaging else None
    state = OnlineState(
        params=last if last is not None else theta_to_params(objective, result.theta),
        optimizer=optimizer,
        random_state=rng,
        n_seen=objective.n_samples,
        weight_seen=objective.sw_sum,
    )
    record = OnlineFit(
        theta=result.theta,
        state=state,
        loss_curve=list(result.history),
        validation_scores=(
            list(result.extra["validation_scores"]) if est.early_stopping else None
        ),
        n_iter=result.n_iter,
        converged=result.converged,
        message=result.message,
        stopped_by_callback=result.extra.get("stopped_by_callback", False),
    )
    return objective, record


def partial_fit_classes(est, classes, y):
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


def partial_fit_step(est, objective, first):
    """One SGD pass over the rows of ``objective``, continuing ``est``'s state.

    Parameters
    ----------
    est : SoftmaxClassifier
        Read only: its settings, ``_sgd_state`` and, when the state is
        missing or does not fit, its fitted coefficients.
    objective : Objective
        The objective of this batch.
    first : bool
        Whether ``est`` has not been fitted yet.

    Returns
    -------
    record : OnlineFit
    """
    stored = getattr(est, "_sgd_state", None)
    continuing = stored is not None
    shape = (objective.n_classes, objective.n_features + 1)
    if stored is None or stored["params"].shape != shape:
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
    else:
        # A copy: the record must not share mutable state with the estimator
        # until the estimator takes it, so a failed pass leaves the old state
        # intact.
        state = OnlineState.from_dict(stored, est)
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
    if not np.all(np.isfinite(state.params)):
        raise ValueError(
            "SGD diverged in partial_fit: the coefficients are no longer finite "
            "after this batch. Lower eta0, or scale the features."
        )
    n_iter = int(np.asarray(est.n_iter_).ravel()[0]) + 1 if continuing else 1
    if est.verbose:
        print(
            f"SGD partial_fit call {n_iter:4d}  mean minibatch objective "
            f"{mean_loss:.10e}  updates {state.optimizer.t}",
            flush=True,
        )
    return OnlineFit(
        theta=params_to_theta(objective, state.optimizer.model_params(state.params)),
        state=state,
        loss_curve=[*getattr(est, "loss_curve_", []), float(mean_loss)],
        validation_scores=None,
        n_iter=n_iter,
    )
