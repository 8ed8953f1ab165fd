"""Trust-region Newton-CG in the style of liblinear's TRON.

Every iteration solves the Newton system ``H s = -g`` approximately by
(preconditioned) conjugate gradients inside a trust region ``||s||_M <=
delta`` (Steihaug's truncated CG), evaluates the objective at ``theta + s``
and accepts the step when the actual reduction is a large enough share of the
one the quadratic model predicts; the radius follows the ratio of the two
(Lin, Weng and Keerthi, "Trust region Newton method for large-scale logistic
regression", JMLR 9, 2008; the preconditioned variant of liblinear 2.20 and
later: Hsia, Chiang and Lin, ACML 2018).

Cost is counted in passes over ``X``: one evaluation of the loss, gradient
and kept probabilities per iteration (at the trial point, so an accepted step
needs no other pass) and one pass per CG step (a Hessian-vector product).
CG stops when the residual has fallen by the relative factor
``min(cg_tol, sqrt(||g||))`` (in the norm of the preconditioner), the
forcing sequence that makes the outer iterations superlinear near the
optimum while keeping early steps cheap.

With ``hessian_fraction`` the products use the Hessian of a fixed subset
of the rows, scaled to the whole weight (Byrd, Chin, Neveitt and Nocedal,
"On the use of stochastic Hessian information in optimization methods for
machine learning", SIAM J. Optim. 21, 2011): a CG step then costs that
share of a pass, the trial point needs only the loss and the gradient, and
an accepted point one pass over the subset for its probabilities. The loss
and the gradient stay exact, so the acceptance test, the stopping rule and
the solution are unchanged; CG stops at ``cg_tol`` (the subset's Hessian
errs by more than the forcing would remove), and once a step fails where
the objective cannot tell its decrease from rounding the solver finishes
with the Hessian of all rows.

The stopping rule is the one of the L-BFGS solvers: the largest absolute
entry of the gradient below ``tol``, ``max_iter`` iterations, or a
reduction below the rounding of the objective (``ftol``, here: a predicted
reduction that small and a step that no longer shrinks the gradient);
``callback(n_iter, theta)`` after every iteration may stop it.
"""

from __future__ import annotations

import numpy as np

from ._result import MSG_CALLBACK, SolverResult
from ._two_loop import MSG_FTOL, MSG_MAXITER, MSG_PGTOL

__all__ = [
    "HESSIAN_MAX_FRACTION",
    "HESSIAN_MIN_SAMPLES",
    "HESSIAN_ROWS_PER_DIRECTION",
    "hessian_fraction",
    "newton_cg",
]

_EPS = np.finfo(np.float64).eps
# TRON's constants: acceptance of a step (eta0) and the radius update.
_ETA0, _ETA1, _ETA2 = 1e-4, 0.25, 0.75
_SIGMA1, _SIGMA2, _SIGMA3 = 0.25, 0.5, 4.0


#: Rows of the Hessian's subset per direction of curvature. The Hessian of
#: ``K`` classes and ``d`` features has ``P = (K - 1) (d + 1)`` directions
#: with curvature (the shift of all classes has none) and every row adds
#: curvature of rank ``K - 1``, so the estimate is useful only from some
#: multiple of ``P`` rows on; a subset of a share ``f`` of the rows, drawn
#: without replacement, errs as a sample of ``m / (1 - f)`` rows would (the
#: finite-population correction), so the rule asks
#: ``m / (1 - f) >= HESSIAN_ROWS_PER_DIRECTION * P``. The multiple is
#: measured on several shapes (docs/user_guide/solvers.rst, newton-cg).
HESSIAN_ROWS_PER_DIRECTION = 5
#: Above this share of the rows a subset saves too little to pay for the
#: worse steps: the Hessian of all rows.
HESSIAN_MAX_FRACTION = 0.5
#: Fewer rows than this: all rows. A pass over them costs less than the
#: interpreter's work of an iteration, and a subset adds iterations.
HESSIAN_MIN_SAMPLES = 10_000


def hessian_fraction(n_samples, n_features, n_classes):
    """Share of the rows for the Hessian of ``newton_cg``, or ``None`` for all.

    The share ``f = c P / (n + c P)`` with ``P = (K - 1) (d + 1)`` and
    ``c =`` :data:`HESSIAN_ROWS_PER_DIRECTION`: the smallest subset of
    ``m = f n`` rows with ``m / (1 - f) >= c P``. ``None`` when ``f``
    exceeds :data:`HESSIAN_MAX_FRACTION` or there are fewer than
    :data:`HESSIAN_MIN_SAMPLES` rows.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        Shape of the problem.

    Returns
    -------
    fraction : float or None
    """
    if n_samples < HESSIAN_MIN_SAMPLES:
        return None
    rows = HESSIAN_ROWS_PER_DIRECTION * max(n_classes - 1, 1) * (n_features + 1)
    fraction = rows / (n_samples + rows)
    return None if fraction > HESSIAN_MAX_FRACTION else fraction


def _dot(u, w):
    # numpy's pairwise sum, not BLAS: the same bits for any thread count.
    return float(np.multiply(u, w).sum())


def _trust_region_cg(hessp, g, M, delta, rtol, max_cg):
    """Steihaug's preconditioned CG for ``H s = -g`` with ``||s||_M <= delta``.

    Returns
    -------
    s : ndarray
        The step.
    r : ndarray
        The residual ``-g - H s``.
    n_cg : int
        Hessian-vector products made.
    boundary : bool
        Whether the step ends on the trust region's boundary.
    """
    s = np.zeros_like(g)
    r = -g
    z = r / M
    d = z.copy()
    zr = _dot(z, r)
    stop = rtol * np.sqrt(zr)
    n_cg = 0
    while n_cg < max_cg and np.sqrt(zr) > stop:
        Hd = hessp(d)
        n_cg += 1
        dHd = _dot(d, Hd)
        if not dHd > 0.0:
            # Flat (or, from rounding, negative) curvature along d: the
            # objective is strictly convex but d lies in the null space of the
            # data term, where it is constant; keep the step so far.
            break
        alpha = zr / dHd
        s_new = s + alpha * d
        if np.sqrt(_dot(s_new * M, s_new)) > delta:
            # Walk along d to the boundary instead: the positive root of
            # ||s + t d||_M = delta.
            sMd, sMs, dMd = _dot(s * M, d), _dot(s * M, s), _dot(d * M, d)
            dsq = delta * delta
            rad = np.sqrt(max(0.0, sMd * sMd + dMd * (dsq - sMs)))
            if sMd >= 0.0:
                t = (dsq - sMs) / (sMd + rad)
            else:
                t = (rad - sMd) / dMd
            s += t * d
            r -= t * Hd
            return s, r, n_cg, True
        s = s_new
        r -= alpha * Hd
        z = r / M
        zr_new = _dot(z, r)
        d *= zr_new / zr
        d += z
        zr = zr_new
    return s, r, n_cg, False


def _radius(delta, actred, prered, gs, curv, snorm, boundary):
    """TRON's update of the trust-region radius from the step's outcome.

    ``alpha * snorm`` is where the quadratic through ``f``, the slope
    ``gs = g . s`` and ``f_new`` (``curv = f_new - f - gs``) has its minimum
    along ``s``.
    """
    alpha = _SIGMA3 if curv <= 0.0 else max(_SIGMA1, -0.5 * (gs / curv))
    if actred < _ETA0 * prered:
        return min(alpha * snorm, _SIGMA2 * delta)
    if actred < _ETA1 * prered:
        return max(_SIGMA1 * delta, min(alpha * snorm, _SIGMA2 * delta))
    if actred < _ETA2 * prered:
        return max(_SIGMA1 * delta, min(alpha * snorm, _SIGMA3 * delta))
    if boundary:
        return _SIGMA3 * delta
    return max(delta, min(alpha * snorm, _SIGMA3 * delta))


def _preconditioner(hessp, size, use):
    if not use:
        return np.ones(size)
    D = np.asarray(hessp.preconditioner(), dtype=np.float64)
    # Guard entries without curvature (features that are zero in every row
    # of an unpenalised fit).
    return np.maximum(D, 1e-12 * max(float(D.max(initial=0.0)), _EPS))


def newton_cg(
    objective,
    theta0,
    *,
    max_iter=100,
    tol=1e-4,
    verbose=0,
    callback=None,
    preconditioner=False,
    cg_tol=0.1,
    max_cg=None,
    ftol=64 * _EPS,
    hessian_fraction=None,
):
    """Minimise a smooth ``objective`` by trust-region Newton-CG (TRON).

    Parameters
    ----------
    objective : Objective
        Provides ``gradient_hessian_product(theta) -> (loss, grad, hessp)``
        (and ``hessp.preconditioner()`` with ``preconditioner=True``).
    theta0 : ndarray of float64
        Starting point.
    max_iter : int, default=100
        Maximum number of Newton iterations (accepted or not).
    tol : float, default=1e-4
        Stop when the largest absolute entry of the gradient is below
        ``tol`` (the test of the L-BFGS solvers).
    verbose : int, default=0
        When positive, print one line per iteration.
    callback : callable, optional
        ``callback(n_iter, theta) -> bool`` after every iteration; returning
        True stops the solver (message :data:`~._result.MSG_CALLBACK`).
    preconditioner : bool, default=False
        Precondition CG by the diagonal of the Hessian (one more pass over
        ``X`` per accepted step).
    cg_tol : float, default=0.1
        Largest relative residual at which CG stops.
    max_cg : int, optional
        CG steps per iteration at most; ``max(5, n_params)`` by default.
    ftol : float, default=64 * machine epsilon
        Where the model predicts a reduction below ``ftol * max(|f|, 1)``,
        rounding hides it in the objective: a step is then taken if it
        shrinks the gradient, and the solver stops (converged) when it does
        not.
    hessian_fraction : float in (0, 1], optional
        Estimate the Hessian in CG on this share of the rows
        (``objective.subsampled_hessian``, which may return ``None``: all
        rows; see :func:`hessian_fraction`), so
        a CG step costs ``hessian_fraction`` of a pass; the loss and the
        gradient stay exact, so the solution and the stopping rule do not
        change. ``None`` or 1: the Hessian of all rows.

    Returns
    -------
    result : SolverResult
        ``extra`` holds ``n_passes`` (evaluations plus Hessian-vector
        products plus diagonals: passes over ``X``, a pass over a subset
        counted as its share of the rows), ``n_cg`` (CG steps),
        ``hessian_rows`` (rows of the Hessian's subset, ``None`` for all;
        the solver finishes with the Hessian of all rows once the objective
        cannot tell the subset's steps from rounding)
        and ``stopped_by_callback``.
    """
    theta = np.array(theta0, dtype=np.float64)
    sub = None
    subsample = getattr(objective, "subsampled_hessian", None)
    if subsample is not None and hessian_fraction is not None:
        if hessian_fraction < 1.0:
            sub = subsample(hessian_fraction)
    if sub is None:
        evaluate, product_cost = objective.gradient_hessian_product, 1
    else:
        product_cost = sub.cost

        def evaluate(point):
            # The trial point needs no probabilities: the subset's are
            # computed (on the subset) only once a step is accepted.
            return (*objective.loss_gradient(point), None)

    hessian_rows = None if sub is None else sub.n_rows
    f, g, hessp = evaluate(theta)
    passes, total_cg = 1, 0
    if max_cg is None:
        max_cg = max(5, theta.size)
    history = []
    n_iter = 0

    def done(message, converged):
        return SolverResult(
            theta=theta,
            objective=float(f),
            n_iter=n_iter,
            converged=converged,
            message=message,
            history=tuple(history),
            extra={
                "stopped_by_callback": message == MSG_CALLBACK,
                "n_passes": passes,
                "n_cg": total_cg,
                "hessian_rows": hessian_rows,
            },
        )

    if max_iter <= 0:
        return done(MSG_MAXITER, False)
    if np.max(np.abs(g), initial=0.0) <= tol:
        return done(MSG_PGTOL, True)
    if sub is not None:
        hessp = sub.at(theta)
        passes += product_cost
    M = _preconditioner(hessp, theta.size, preconditioner)
    passes += product_cost * bool(preconditioner)
    delta = np.sqrt(_dot(g * M, g))
    while True:
        gnorm = np.sqrt(_dot(g / M, g))
        # A subset's Hessian errs by more than a tight residual would
        # remove: its CG stops at cg_tol, and the superlinear forcing
        # returns with the Hessian of all rows.
        rtol = cg_tol if sub is not None else min(cg_tol, np.sqrt(gnorm))
        s, r, n_cg, boundary = _trust_region_cg(hessp, g, M, delta, rtol, max_cg)
        total_cg += n_cg
        passes += product_cost * n_cg
        gs = _dot(g, s)
        prered = -0.5 * (gs - _dot(s, r))
        theta_new = theta + s
        f_new, g_new, hessp_new = evaluate(theta_new)
        passes += 1
        actred = f - f_new
        snorm = np.sqrt(_dot(s * M, s))
        if n_iter == 0:
            delta = min(delta, snorm)
        n_iter += 1
        noise = ftol * max(abs(f), 1.0)
        if prered <= noise:
            # Near the optimum the objective cannot tell the step's reduction
            # from rounding, but the gradient still measures progress: the
            # step is taken while it shrinks the gradient, as a Newton step
            # there does.
            accepted = np.max(np.abs(g_new)) < np.max(np.abs(g))
            if not accepted and sub is not None:
                # The subset's model converges only linearly and its step
                # failed where the objective no longer tells: finish with
                # exact Newton steps (one more pass keeps the probabilities).
                sub, product_cost = None, 1
                evaluate = objective.gradient_hessian_product
                # The radius shrank to the subset's poor model; full Newton
                # steps from within rounding of the optimum need none (the
                # gradient test above still guards them).
                delta = np.inf
                f, g, hessp = evaluate(theta)
                passes += 1
                if preconditioner:
                    M = _preconditioner(hessp, theta.size, True)
                    passes += 1
            elif not accepted:
                history.append(float(f))
                return done(MSG_FTOL, True)
        else:
            accepted = actred > _ETA0 * prered
            delta = _radius(delta, actred, prered, gs, f_new - f - gs, snorm, boundary)
        if accepted:
            theta, f, g, hessp = theta_new, f_new, g_new, hessp_new
            if sub is not None:
                hessp = sub.at(theta)
                passes += product_cost
            if preconditioner:
                M = _preconditioner(hessp, theta.size, True)
                passes += product_cost
        history.append(float(f))
        if verbose:
            print(
                f"Newton-CG iter {n_iter:4d}  objective {f:.10e}  "
                f"|grad|_inf {np.max(np.abs(g)):.3e}  CG {n_cg:3d}  "
                f"delta {delta:.3e}{'' if accepted else '  (rejected)'}",
                flush=True,
            )
        if callback is not None and callback(n_iter, theta):
            return done(MSG_CALLBACK, False)
        if n_iter >= max_iter:
            return done(MSG_MAXITER, False)
        if np.max(np.abs(g)) <= tol:
            return done(MSG_PGTOL, True)
