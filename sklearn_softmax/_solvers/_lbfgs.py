"""L-BFGS: scipy's L-BFGS-B, or the same steps by the two-loop recursion.

Below :data:`TWO_LOOP_MIN_PARAMS` parameters the solver is
:func:`scipy.optimize.minimize` with ``method="L-BFGS-B"``, exactly as
scikit-learn's ``LogisticRegression`` runs it. From there on L-BFGS-B's own
bookkeeping (single-threaded passes over its ``2 m`` stored vectors) costs as
much as an evaluation of the loss, and :func:`~._two_loop.lbfgs_two_loop`
takes the same steps for a fraction of that.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ._result import MSG_CALLBACK, MSG_LINE_SEARCH, SolverResult
from ._two_loop import lbfgs_two_loop, print_iteration, two_loop_available

__all__ = ["TWO_LOOP_MIN_PARAMS", "lbfgs"]

#: Number of parameters from which ``backend="auto"`` uses the two-loop
#: recursion. scipy's L-BFGS-B bookkeeping took 0.6 ms per iteration at 10,000
#: parameters, 6.5 ms at 100,000 and 40 to 47 ms at 400,000 on a 2-core
#: machine (the two-loop recursion 0.45, 3 and 10 ms; at a few hundred
#: parameters scipy is the faster, 40 against 120 microseconds); below this
#: size either is small against one evaluation of the loss.
TWO_LOOP_MIN_PARAMS = 50_000


def lbfgs(
    objective,
    theta0,
    *,
    max_iter=100,
    tol=1e-4,
    verbose=0,
    backend="auto",
    callback=None,
):
    """Minimise ``objective`` with L-BFGS.

    The options are those of scikit-learn's ``LogisticRegression`` (``gtol=tol``,
    ``ftol=64 * machine epsilon``, ``maxls=50``, 10 stored pairs), so that from
    the same start both follow the same iterates.

    Parameters
    ----------
    objective : SoftmaxObjective
        Provides ``loss_gradient(theta) -> (loss, grad)``.
    theta0 : ndarray of float64
        Starting point.
    max_iter : int, default=100
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-4
        Stop when the largest absolute entry of the projected gradient is
        below ``tol``.
    verbose : int, default=0
        When positive, print the objective and gradient norm every iteration.
    backend : {"auto", "scipy", "two-loop"}, default="auto"
        ``"scipy"`` runs :func:`scipy.optimize.minimize`, ``"two-loop"``
        :func:`~._two_loop.lbfgs_two_loop`; ``"auto"`` picks the two-loop
        recursion from :data:`TWO_LOOP_MIN_PARAMS` parameters on.
    callback : callable, optional
        ``callback(n_iter, theta) -> bool`` after every iteration; returning
        True stops the solver (message :data:`~._result.MSG_CALLBACK`).

    Returns
    -------
    result : SolverResult
    """
    if backend == "auto":
        large = np.size(theta0) >= TWO_LOOP_MIN_PARAMS
        backend = "two-loop" if large and two_loop_available() else "scipy"
    if backend == "two-loop":
        return lbfgs_two_loop(
            objective,
            theta0,
            max_iter=max_iter,
            tol=tol,
            verbose=verbose,
            callback=callback,
        )
    if backend != "scipy":
        raise ValueError(
            f"backend must be 'auto', 'scipy' or 'two-loop', got {backend!r}"
        )
    history = []
    last = {}
    stopped = []

    def fun(theta):
        loss, grad = objective.loss_gradient(theta)
        if verbose:
            last["theta"], last["grad"] = theta.copy(), grad
        return loss, grad

    def on_iteration(intermediate_result):
        history.append(float(intermediate_result.fun))
        if verbose:
            # The accepted iterate is the last point the line search evaluated.
            if np.array_equal(last.get("theta"), intermediate_result.x):
                grad = last["grad"]
            else:
                _, grad = objective.loss_gradient(intermediate_result.x)
            print_iteration(len(history), history[-1], grad)
        if callback is not None and callback(len(history), intermediate_result.x):
            stopped.append(True)
            # scipy >= 1.11 ends the minimisation at this iterate.
            raise StopIteration

    res = minimize(
        fun,
        np.asarray(theta0, dtype=np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=on_iteration,
        options={
            "maxiter": max_iter,
            "maxls": 50,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    message = res.message if isinstance(res.message, str) else str(res.message)
    if stopped:
        message = MSG_CALLBACK
    elif res.status == 2 and message.strip() in ("ABNORMAL:", "ABNORMAL"):
        # scipy leaves the reason of a failed line search empty.
        message = MSG_LINE_SEARCH
    return SolverResult(
        theta=np.asarray(res.x, dtype=np.float64),
        objective=float(res.fun),
        n_iter=int(min(res.nit, max_iter)),
        converged=bool(res.status == 0) and not stopped,
        message=message,
        history=tuple(history),
        extra={"stopped_by_callback": bool(stopped)},
    )
