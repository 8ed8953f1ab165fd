r"""Minibatch stochastic gradient descent on a :class:`SoftmaxObjective`.

Every minibatch ``B`` gives an unbiased estimate of the gradient of the full
objective (see :mod:`sklearn_softmax._objective`)

.. math::

    \hat g_B = \frac{1}{|B|\,\bar s} \sum_{i \in B} s_i (p_i - t_i) [x_i, 1]
               + \frac{\lambda_2}{S} [W, 0],
    \qquad \bar s = S / n,

so the iterates approach the same optimum L-BFGS finds. Except under Adam,
the L2 part is applied as its proximal step after the data step,
:math:`W \leftarrow W / (1 + a \lambda_2 / S)`, which is stable for any
penalty strength and has the same fixed point. With ``average`` the model
(objective, returned ``theta``) is the Polyak-Ruppert average of the iterates
once averaging has begun. An L1 part enters
through the cumulative L1 penalty after every update (the one of
scikit-learn's ``SGDClassifier``, see :mod:`sklearn_softmax._kernels._sgd`),
which makes coefficients exactly zero.
``partial_fit`` uses the same rule with ``S`` and ``n`` counted over all rows
seen so far.

The parameters live in a float64 array ``P`` of shape ``(K, d + 1)`` whose
last column holds the intercepts (kept at zero without intercept).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ._result import MSG_CALLBACK, SolverResult
from ._schedules import SCHEDULES

__all__ = ["sgd", "sgd_pass", "theta_to_params", "params_to_theta"]


def theta_to_params(objective, theta):
    """Unpack ``theta`` into the ``(K, d + 1)`` parameter array (a new array)."""
    coef, intercept = objective.unpack(theta)
    P = np.zeros((objective.n_classes, objective.n_features + 1))
    P[:, :-1] = coef
    P[:, -1] = intercept
    return P


def params_to_theta(objective, P):
    """Pack the ``(K, d + 1)`` parameter array into ``theta``."""
    return objective.pack(P[:, :-1], P[:, -1])


def sgd_pass(objective, P, optimizer, order, *, batch_size, weight_mean, weight_total):
    """One pass over the rows ``order`` in minibatches, updating ``P`` in place.

    The pass runs in the objective's epoch kernel (one serial numba call per
    pass: at small batch sizes, Python overhead per minibatch would cost
    several times the arithmetic).

    Parameters
    ----------
    objective : Objective
        Data, targets, weights and penalty.
    P : ndarray of float64, shape (K, d + 1)
        Parameters, C-contiguous; updated in place.
    optimizer : SGDOptimizer
        Update rule and its state; updated in place.
    order : ndarray of int64
        Rows to visit, in this order.
    batch_size : int
        Rows per update (the last batch may be smaller).
    weight_mean, weight_total : float
        Mean weight and total weight ``S`` of the estimate (module docstring).

    Returns
    -------
    mean_loss : float
        Average over the batches of the minibatch estimates of the objective
        (at the parameters before each update); NaN for an empty pass.
    """
    total, n_updates, l1_total = objective.sgd_pass(
        P,
        optimizer,
        order,
        batch_size=batch_size,
        weight_mean=weight_mean,
        weight_total=weight_total,
    )
    optimizer.t += n_updates
    optimizer.l1_total = l1_total
    return total / n_updates if n_updates else float("nan")


def sgd(
    objective,
    theta0,
    optimizer,
    *,
    batch_size=32,
    max_iter=100,
    tol=1e-4,
    n_iter_no_change=5,
    shuffle=True,
    random_state=None,
    validation_score=None,
    verbose=0,
    callback=None,
):
    """Minimise ``objective`` by minibatch SGD, one epoch per iteration.

    Stopping follows scikit-learn's ``MLPClassifier``: after every epoch the
    full objective (or, with ``validation_score``, the validation score) is
    compared with the best so far; after ``n_iter_no_change`` consecutive
    epochs without an improvement of at least ``tol`` the fit stops, except
    under the ``"adaptive"`` schedule, which first divides the learning rate
    by 5 and stops only once it falls below ``1e-6``.

    Parameters
    ----------
    objective : Objective
        The objective (training rows only).
    theta0 : ndarray of float64
        Starting point.
    optimizer : SGDOptimizer
        Update rule with its state; updated in place.
    batch_size : int, default=32
        Rows per update; larger than ``n_samples`` means full batches.
    max_iter : int, default=100
        Maximum number of epochs.
    tol : float, default=1e-4
        Minimum improvement of the objective (or validation score).
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping (or decaying the rate).
    shuffle : bool, default=True
        Visit the rows in a new random order every epoch.
    random_state : int, RandomState instance or None, default=None
        Source of the permutations (see :func:`sklearn.utils.check_random_state`).
    validation_score : callable, optional
        ``theta -> float``, larger is better. When given, stopping watches it
        and the parameters of the best epoch are returned.
    verbose : int, default=0
        When positive, print one line per epoch.
    callback : callable, optional
        ``callback(epoch, theta) -> bool`` after every epoch; True stops.

    Returns
    -------
    result : SolverResult
        ``history`` holds the objective after every epoch; ``extra`` holds
        ``"validation_scores"`` (a list, empty without ``validation_score``),
        ``"best_epoch"`` and ``"params"``, the last iterate as a ``(K, d + 1)``
        array (with averaging, ``theta`` is the average instead).
    """
    n = objective.n_samples
    random_state = check_random_state(random_state)
    batch_size = max(1, min(int(batch_size), n))
    weight_total = objective.sw_sum
    weight_mean = weight_total / n
    P = theta_to_params(objective, theta0)
    start_loss = objective.loss(theta0)
    adaptive = optimizer.code == SCHEDULES["adaptive"]
    history, scores = [], []
    best, best_epoch, best_theta, stall = -np.inf, 0, None, 0
    converged, message = False, f"reached max_iter={max_iter} epochs"
    stopped = False
    for epoch in range(1, max_iter + 1):
        order = random_state.permutation(n) if shuffle else np.arange(n)
        sgd_pass(
            objective,
            P,
            optimizer,
            order,
            batch_size=batch_size,
            weight_mean=weight_mean,
            weight_total=weight_total,
        )
        theta = params_to_theta(objective, optimizer.model_params(P))
        loss = objective.loss(theta)
        if not (np.isfinite(loss) and np.all(np.isfinite(P))):
            raise ValueError(
                f"SGD diverged: the objective is {loss} after epoch {epoch}. "
                "Lower eta0, or scale the features."
            )
        history.append(loss)
        # Larger is better for the watched quantity.
        if validation_score is not None:
            watched = validation_score(theta)
            scores.append(watched)
        else:
            watched = -loss
        stall = 0 if watched > best + tol else stall + 1
        if watched > best:
            best, best_epoch = watched, epoch
            if validation_score is not None:
                best_theta = theta
        rate = optimizer.current_rate()
        decayed = stop = False
        if stall >= n_iter_no_change:
            decayed = adaptive and optimizer.decay()
            if decayed and optimizer.average_start >= 0:
                # The iterates of the larger rate are noisier and further off:
                # the average begins anew with those of the smaller one.
                optimizer.average_start = max(optimizer.average_start, optimizer.t)
            stall, stop = (0, False) if decayed else (stall, True)
        if verbose:
            extra = f"  validation score {scores[-1]:.6f}" if scores else ""
            note = f"  -> learning rate {optimizer.eta:.3e}" if decayed else ""
            print(
                f"SGD epoch {epoch:4d}  objective {loss:.10e}{extra}  "
                f"learning rate {rate:.3e}  updates {optimizer.t}{note}",
                flush=True,
            )
        if callback is not None and callback(epoch, theta):
            converged, message, stopped = False, MSG_CALLBACK, True
            break
        if stop:
            converged = True
            what = "validation score" if validation_score is not None else "objective"
            message = (
                f"the {what} improved by less than tol={tol} for "
                f"{n_iter_no_change} consecutive epochs"
            )
            break
    n_iter = len(history)
    final_theta = params_to_theta(objective, optimizer.model_params(P))
    final_loss = history[-1] if history else objective.loss(final_theta)
    if best_theta is not None:
        # Early stopping keeps the epoch with the best validation score.
        final_theta, final_loss = best_theta, history[best_epoch - 1]
    if final_loss > start_loss:
        # Steps too large for the data grow the coefficients without bound
        # long before the objective overflows.
        converged = False
        message = (
            f"the objective rose from {start_loss:.6g} at the start to "
            f"{final_loss:.6g}: the steps diverge; lower eta0 or scale the features"
        )
    return SolverResult(
        theta=final_theta,
        objective=float(final_loss),
        n_iter=n_iter,
        converged=converged,
        message=message,
        history=tuple(history),
        extra={
            "validation_scores": scores,
            "best_epoch": best_epoch,
            "stopped_by_callback": stopped,
            "params": P,
        },
    )
