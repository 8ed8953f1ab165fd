"""L-BFGS by the two-loop recursion, for problems with many parameters.

Without bounds, L-BFGS-B (scipy's ``method="L-BFGS-B"``) takes the step
``d = -H g`` of the limited-memory BFGS matrix ``H`` built from the last ``m``
pairs ``(s, y)`` with ``H0 = (s'y / y'y) I``, and searches along it with the
Moré-Thuente line search (``ftol=1e-3``, ``gtol=0.9``, ``xtol=0.1``; first step
``1 / ||d||``, then 1). This module takes the same steps with the two-loop
recursion (Nocedal and Wright, algorithm 7.4) instead of L-BFGS-B's compact
representation, and the same line search (scipy's port of MINPACK-2's
``dcsrch``), stopping tests, update-skipping rule and restart after a failed
line search. Iterates agree with L-BFGS-B's up to rounding.

The reason is cost: L-BFGS-B's bookkeeping reads its ``2 m`` stored vectors
several times per iteration, single-threaded (about 40 ms per iteration at
400,000 parameters on a 2-core machine, more than a third of a sparse fit's
time), where the recursion reads them twice in fused parallel passes
(:func:`sklearn_softmax._vector_ops.axpy_dot_function`).
"""

from __future__ import annotations

import numpy as np

from .. import _compat
from .._vector_ops import axpy_dot_function
from ._result import MSG_CALLBACK, SolverResult

__all__ = ["lbfgs_two_loop", "two_loop_available"]

# L-BFGS-B's constants for the line search and the largest step it allows
# without bounds.
_LS_FTOL, _LS_GTOL, _LS_XTOL, _STP_MAX = 1e-3, 0.9, 0.1, 1e10
_EPS = np.finfo(np.float64).eps
# Vectors are split into this many chunks for the parallel dot products: a
# fixed number, so that the sums do not depend on the thread count.
_DOT_CHUNKS = 16

MSG_PGTOL = "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
MSG_FTOL = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
MSG_MAXITER = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
MSG_ABNORMAL = "ABNORMAL: LINE SEARCH FAILED FROM THE STEEPEST DESCENT DIRECTION"


class _Memory:
    """The last ``m`` pairs ``(s, y)``, and ``H g`` from them.

    The pairs live in ``m + 1`` slots: a new pair is written into the spare
    slot, so that the stored pairs survive when the new one is rejected.
    """

    def __init__(self, n, m, parallel):
        self.S = np.empty((m + 1, n))
        self.Y = np.empty((m + 1, n))
        self.rho = np.empty(m + 1)
        self.m = m
        self.reset()
        self._axpy_dot = axpy_dot_function(parallel)
        self._parts = np.empty(_DOT_CHUNKS)
        self._alpha = np.empty(m + 1)

    def reset(self):
        self.order = []  # slots of the stored pairs, newest first
        self.spare = 0
        self.gamma = 1.0  # H0 = gamma I

    @property
    def count(self):
        """Number of stored pairs."""
        return len(self.order)

    def slot(self):
        """Return views ``(s, y)`` of the spare slot, for the next pair."""
        return self.S[self.spare], self.Y[self.spare]

    def commit(self, sy, yy):
        """Keep the pair written into :meth:`slot`; drop the oldest beyond ``m``."""
        self.rho[self.spare] = 1.0 / sy
        self.gamma = sy / yy
        self.order.insert(0, self.spare)
        if len(self.order) > self.m:
            self.spare = self.order.pop()
        else:
            self.spare = len(self.order)

    def _step(self, q, a, v, w):
        # q -= a v, then the dot product of w and the new q.
        self._axpy_dot(q, a, v, w, self._parts)
        return float(self._parts.sum())

    def direction(self, g):
        """``-H g`` by the two-loop recursion."""
        q = -g
        if self.count == 0:
            return q
        order = self.order
        S, Y, rho, alpha = self.S, self.Y, self.rho, self._alpha
        # First loop, newest pair first; each pass applies the previous
        # pair's update and takes the next pair's dot product.
        a, v = 0.0, Y[order[0]]
        for i in order:
            alpha[i] = rho[i] * self._step(q, a, v, S[i])
            a, v = alpha[i], Y[i]
        oldest = order[-1]
        # Second loop, oldest pair first, on r = gamma q.
        yr = self._step(q, a, v, Y[oldest])
        q *= self.gamma
        yr *= self.gamma
        rev = order[::-1]
        for k, i in enumerate(rev):
            c = alpha[i] - rho[i] * yr
            if k + 1 < len(rev):
                yr = self._step(q, -c, S[i], Y[rev[k + 1]])
            else:
                q += c * S[i]
        return q


def print_iteration(n_iter, f, g):
    """Print one line of ``verbose`` output (shared by both L-BFGS backends)."""
    print(
        f"L-BFGS iter {n_iter:5d}  objective {f:.10e}  "
        f"|grad|_inf {np.max(np.abs(g)):.3e}",
        flush=True,
    )


def two_loop_available():
    """Whether this SciPy has the line search the two-loop L-BFGS needs."""
    return _compat.DCSRCH is not None


def lbfgs_two_loop(
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
    """Minimise ``objective`` with L-BFGS, the steps of unbounded L-BFGS-B.

    Parameters
    ----------
    objective : SoftmaxObjective
        Provides ``loss_gradient(theta) -> (loss, grad)``; its ``parallel``
        attribute selects the parallel or serial vector kernel.
    theta0 : ndarray of float64
        Starting point.
    max_iter : int, default=100
        Maximum number of iterations.
    tol : float, default=1e-4
        Stop when the largest absolute entry of the gradient is at most
        ``tol``.
    verbose : int, default=0
        When positive, print the objective and gradient norm every iteration.
    memory : int, default=10
        Number of stored pairs (L-BFGS-B's ``maxcor``).
    max_ls : int, default=50
        Maximum number of evaluations in one line search.
    ftol : float, default=64 * machine epsilon
        Stop when ``(f_old - f) / max(|f_old|, |f|, 1) <= ftol``.
    callback : callable, optional
        ``callback(n_iter, theta) -> bool`` after every iteration; True stops.

    Returns
    -------
    result : SolverResult
    """
    if not two_loop_available():
        raise ImportError(
            "the two-loop L-BFGS needs scipy.optimize._dcsrch (SciPy >= 1.12), "
            "which this SciPy does not have; use backend='scipy'"
        )
    x = np.array(theta0, dtype=np.float64)
    f, g = objective.loss_gradient(x)
    mem = _Memory(x.size, memory, getattr(objective, "parallel", True))
    history = []
    n_iter = 0

    def done(message, converged):
        return SolverResult(
            theta=x,
            objective=float(f),
            n_iter=n_iter,
            converged=converged,
            message=message,
            history=tuple(history),
            extra={"stopped_by_callback": message == MSG_CALLBACK},
        )

    if max_iter <= 0:
        # As scipy's L-BFGS-B: no iteration, n_iter_ 0.
        return done(MSG_MAXITER, False)
    if np.max(np.abs(g), initial=0.0) <= tol:
        return done(MSG_PGTOL, True)
    while True:
        d = mem.direction(g)
        gd = float(np.dot(g, d))
        trial = _line_search(objective, x, f, d, gd, n_iter == 0, max_ls)
        if trial is None:
            # No acceptable step (or an ascent direction from rounding):
            # L-BFGS-B forgets its pairs and retries along -g, once.
            if mem.count == 0:
                return done(MSG_ABNORMAL, False)
            mem.reset()
            continue
        stp, x_new, f_new, g_new = trial
        n_iter += 1
        history.append(f_new)
        # The pair goes straight into the memory's spare slot; it is kept
        # only if its curvature passes the test below.
        s, y = mem.slot()
        np.subtract(x_new, x, out=s)
        np.subtract(g_new, g, out=y)
        f_old, x, f, g = f, x_new, f_new, g_new
        if verbose:
            print_iteration(n_iter, f, g)
        if callback is not None and callback(n_iter, x):
            return done(MSG_CALLBACK, False)
        if n_iter >= max_iter:
            return done(MSG_MAXITER, False)
        if np.max(np.abs(g)) <= tol:
            return done(MSG_PGTOL, True)
        if f_old - f <= ftol * max(abs(f_old), abs(f), 1.0):
            return done(MSG_FTOL, True)
        sy = float(np.dot(s, y))
        # L-BFGS-B skips pairs with too little curvature (keeps H positive).
        if sy > _EPS * (-gd * stp):
            mem.commit(sy, float(np.dot(y, y)))


def _line_search(objective, x, f, d, gd, first, max_ls):
    """Moré-Thuente search along ``d`` as L-BFGS-B runs it.

    Returns ``(step, x, f, g)`` at the accepted point, or ``None`` when the
    direction is not one of descent or more than ``max_ls`` evaluations
    found no acceptable step. Like L-BFGS-B, a search that ends with a
    warning (interval below ``xtol``, rounding errors) accepts its last point.
    """
    if not gd < 0:
        return None
    last = {}

    def phi(a):
        xt = x + a * d
        ft, gt = objective.loss_gradient(xt)
        last.update(a=a, x=xt, f=float(ft), g=gt, n=last.get("n", 0) + 1)
        return ft

    def derphi(a):
        return float(np.dot(last["g"], d))

    stp0 = min(1.0 / np.sqrt(float(np.dot(d, d))), _STP_MAX) if first else 1.0
    search = _compat.DCSRCH(phi, derphi, _LS_FTOL, _LS_GTOL, _LS_XTOL, 0.0, _STP_MAX)
    # One call more than max_ls: the last evaluation still gets its test.
    stp, _, _, task = search(stp0, phi0=f, derphi0=gd, maxiter=max_ls + 1)
    if not last or last["n"] > max_ls or not np.isfinite(last["f"]):
        return None
    if stp is None and not task.startswith(b"WARN"):
        return None
    if stp is not None and stp != last["a"]:
        phi(stp)
    return last["a"], last["x"], last["f"], last["g"]
