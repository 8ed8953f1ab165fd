r"""OWL-QN: L-BFGS for objectives with an L1 part.

Orthant-wise limited-memory quasi-Newton (Andrew and Gao, 2007) minimises
``F(theta) = f(theta) + lam ||W||_1`` with ``f`` smooth. Where ``F`` is
differentiable within an orthant, it is smooth there, and L-BFGS applies:

* the gradient is replaced by the *pseudo-gradient*, the minimum-norm
  subgradient of ``F`` (zero exactly at a minimiser, so its largest entry is
  the stopping test, as the projected gradient is for L-BFGS-B);
* the L-BFGS direction ``-H pg`` (pairs from differences of the smooth
  gradient) keeps only the components that descend along ``-pg``;
* each trial point is projected onto the orthant of the current point (a
  coefficient that would change sign becomes exactly zero), and a
  backtracking search accepts the first point with sufficient decrease of
  ``F``.

Exact zeros in the solution come from the projection. The recursion and its
memory are those of the two-loop L-BFGS (:mod:`._two_loop`), including its
parallel vector passes on large problems.
"""

from __future__ import annotations

import numpy as np

from ._result import MSG_CALLBACK, SolverResult
from ._two_loop import _Memory, print_iteration

__all__ = ["owlqn"]

_EPS = np.finfo(np.float64).eps
# Sufficient-decrease constant of the backtracking search, and the largest
# first step (as in L-BFGS-B).
_ARMIJO, _STP_MAX = 1e-4, 1e10
# From this many parameters the recursion uses the parallel vector kernel.
_PARALLEL_MIN_PARAMS = 50_000

MSG_PGTOL = "CONVERGENCE: NORM OF PSEUDO-GRADIENT <= TOL"
MSG_FTOL = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
MSG_MAXITER = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
MSG_ABNORMAL = (
    "ABNORMAL: THE LINE SEARCH FOUND NO DECREASE OF THE OBJECTIVE ALONG THE "
    "STEEPEST DESCENT DIRECTION"
)


def owlqn(
    objective,
    theta0,
    *,
    max_iter=100,
    tol=1e-4,
    verbose=0,
    memory=10,
    max_ls=50,
    ftol=64 * _EPS,
    callback=None,
):
    """Minimise a composite ``objective`` (smooth part plus L1) with OWL-QN.

    Parameters
    ----------
    objective : Objective
        Provides ``loss_gradient`` (smooth part), ``nonsmooth_value``,
        ``pseudo_gradient``, ``orthant`` and ``project_orthant`` (see
        :class:`~sklearn_softmax._solvers.Objective`).
    theta0 : ndarray of float64
        Starting point.
    max_iter : int, default=100
        Maximum number of iterations.
    tol : float, default=1e-4
        Stop when the largest absolute entry of the pseudo-gradient is at most
        ``tol``.
    verbose : int, default=0
        When positive, print the objective and the pseudo-gradient's largest
        entry every iteration.
    memory : int, default=10
        Number of stored pairs.
    max_ls : int, default=50
        Maximum number of halvings in one line search.
    ftol : float, default=64 * machine epsilon
        Stop when ``(F_old - F) / max(|F_old|, |F|, 1) <= ftol``.
    callback : callable, optional
        ``callback(n_iter, theta) -> bool`` after every iteration; True stops.

    Returns
    -------
    result : SolverResult
        ``objective`` is the whole objective ``F``; ``history`` holds ``F``
        after every iteration.
    """
    x = np.array(theta0, dtype=np.float64)
    f, g = objective.loss_gradient(x)
    F = f + objective.nonsmooth_value(x)
    pg = objective.pseudo_gradient(x, g)
    parallel = getattr(objective, "parallel", True) and x.size >= _PARALLEL_MIN_PARAMS
    mem = _Memory(x.size, memory, parallel)
    history = []
    n_iter = 0

    def done(message, converged):
        return SolverResult(
            theta=x,
            objective=float(F),
            n_iter=n_iter,
            converged=converged,
            message=message,
            history=tuple(history),
            extra={"stopped_by_callback": message == MSG_CALLBACK},
        )

    if max_iter <= 0:
        return done(MSG_MAXITER, False)
    if np.max(np.abs(pg), initial=0.0) <= tol:
        return done(MSG_PGTOL, True)
    while True:
        d = mem.direction(pg)
        # Components that would not descend along -pg are dropped.
        d[d * pg >= 0.0] = 0.0
        gd = float(np.dot(pg, d))
        trial = None
        if gd < 0.0:
            xi = objective.orthant(x, pg)
            first = mem.count == 0
            trial = _backtrack(objective, x, F, pg, d, xi, first, max_ls)
        if trial is None:
            # Forget the pairs and retry along -pg, once, as L-BFGS-B does.
            if mem.count == 0:
                return done(MSG_ABNORMAL, False)
            mem.reset()
            continue
        x_new, f_new, g_new, F_new = trial
        n_iter += 1
        history.append(F_new)
        s, y = mem.slot()
        np.subtract(x_new, x, out=s)
        np.subtract(g_new, g, out=y)
        F_old, x, f, g, F = F, x_new, f_new, g_new, F_new
        pg = objective.pseudo_gradient(x, g)
        if verbose:
            print_iteration(n_iter, F, pg)
        if callback is not None and callback(n_iter, x):
            return done(MSG_CALLBACK, False)
        if n_iter >= max_iter:
            return done(MSG_MAXITER, False)
        if np.max(np.abs(pg)) <= tol:
            return done(MSG_PGTOL, True)
        if F_old - F <= ftol * max(abs(F_old), abs(F), 1.0):
            return done(MSG_FTOL, True)
        sy, yy = float(np.dot(s, y)), float(np.dot(y, y))
        # Pairs with too little curvature would make H indefinite.
        if sy > _EPS * yy:
            mem.commit(sy, yy)


def _backtrack(objective, x, F, pg, d, xi, first, max_ls):
    """Projected backtracking along ``d`` within the orthant ``xi``.

    Returns ``(x, f, g, F)`` at the first point with
    ``F_new <= F + c pg . (x_new - x)``, or ``None`` after ``max_ls`` halvings.
    """
    step = min(1.0 / np.sqrt(float(np.dot(d, d))), _STP_MAX) if first else 1.0
    for _ in range(max_ls):
        x_new = x + step * d
        objective.project_orthant(x_new, xi)
        f_new, g_new = objective.loss_gradient(x_new)
        F_new = f_new + objective.nonsmooth_value(x_new)
        if np.isfinite(F_new) and F_new <= F + _ARMIJO * float(np.dot(pg, x_new - x)):
            return x_new, f_new, g_new, F_new
        step *= 0.5
    return None
