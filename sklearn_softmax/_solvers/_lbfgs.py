"""L-BFGS through :func:`scipy.optimize.minimize`."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ._result import SolverResult

__all__ = ["lbfgs"]


def lbfgs(objective, theta0, *, max_iter=100, tol=1e-4, verbose=0):
    """Minimise ``objective`` with L-BFGS-B.

    The options are those of scikit-learn's ``LogisticRegression`` (``gtol=tol``,
    ``ftol=64 * machine epsilon``, ``maxls=50``), so that from the same start
    both follow the same iterates.

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

    Returns
    -------
    result : SolverResult
    """
    history = []
    last = {}

    def fun(theta):
        loss, grad = objective.loss_gradient(theta)
        if verbose:
            last["theta"], last["grad"] = theta.copy(), grad
        return loss, grad

    def callback(intermediate_result):
        history.append(float(intermediate_result.fun))
        if verbose:
            # The accepted iterate is the last point the line search evaluated.
            if np.array_equal(last.get("theta"), intermediate_result.x):
                grad = last["grad"]
            else:
                _, grad = objective.loss_gradient(intermediate_result.x)
            print(
                f"L-BFGS iter {len(history):5d}  objective {history[-1]:.10e}  "
                f"|grad|_inf {np.max(np.abs(grad)):.3e}",
                flush=True,
            )

    res = minimize(
        fun,
        np.asarray(theta0, dtype=np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=callback,
        options={
            "maxiter": max_iter,
            "maxls": 50,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    message = res.message if isinstance(res.message, str) else str(res.message)
    return SolverResult(
        theta=np.asarray(res.x, dtype=np.float64),
        objective=float(res.fun),
        n_iter=int(min(res.nit, max_iter)),
        converged=bool(res.status == 0),
        message=message,
        history=tuple(history),
    )
