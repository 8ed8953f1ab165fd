"""Minibatch SGD epochs: gradient and update of every minibatch in one call.

At the default batch size of 32 rows a minibatch gradient costs a few
microseconds; calling a kernel per batch from Python (gather the rows, build
the batch targets, combine, update) costs several times more. These kernels
therefore run a whole pass: rows are visited in ``order`` directly (no gather
of ``X``), and after every ``batch_size`` rows the parameters are updated.

Parameters ``P`` have shape ``(K, d + 1)`` (float64, intercepts in the last
column). The gradient of the batch ``B`` is

``G = sum_{i in B} s_i (p_i - t_i) [x_i, 1] / (|B| * weight_mean)``

with the intercept column zeroed when ``fit_intercept`` is false. The L2
penalty ``pen / 2 ||W||^2`` is not part of this step (except under Adam, whose
gradient gets ``pen * [W, 0]``): after the data step every coefficient takes
the exact proximal step of the penalty, ``W <- W / (1 + a * pen)``, with ``a``
the step the gradient gets (``rate / (1 - momentum)`` under momentum, see
:func:`_penalty_step`). An explicit gradient step on the penalty multiplies
``W`` by ``1 - a * pen`` and diverges once ``a * pen > 2`` (``C = 1e-4`` on 20
rows at ``eta0 = 0.01`` gives 10); the implicit one is stable for any
strength and has the same fixed point. With an L1
strength ``l1 > 0`` every update ends with the cumulative L1 penalty of
Tsuruoka, Tsujii and Ananiadou (2009), as scikit-learn's ``SGDClassifier``
applies it: ``u`` is the L1 penalty a coefficient could have received so far
(the sum of ``rate * l1`` over the updates), ``Q`` what each one did receive,
and every coefficient is moved towards zero by the difference without
crossing it. Unlike a plain proximal step, this cancels the excursions of
minibatch noise, so coefficients whose optimum is zero end exactly at zero.
The L1 step comes before the L2 shrink: soft-thresholding then dividing by
``1 + a * pen`` is the exact proximal step of the elastic net.

With ``avg_start >= 0`` the buffer ``A`` holds the Polyak-Ruppert average of
the iterates after update number ``avg_start``: update ``t > avg_start`` ends
with ``A += (P - A) / (t - avg_start)``. The step
rules (``code``): 0 constant, 1 inverse scaling, 2 adaptive (constant within
an epoch), 3 Adam; see :mod:`sklearn_softmax._solvers._schedules`.

Everything is serial (one minibatch depends on the previous update), releases
the GIL, and writes only ``P``, ``buf1``, ``buf2``, ``A`` and the scratch
``G``/``z``.
Returns ``(sum of the minibatch objective estimates, number of updates,
u)``; ``Q`` is updated in place.
"""

import numpy as np

from .._config import jit
from ._rows import row_residual


@jit
def _apply_update(P, G, buf1, buf2, t, eta, code, hyper):
    """Update ``P`` with gradient ``G`` as update number ``t`` (1-based)."""
    power_t, momentum, beta_1, beta_2, epsilon = hyper
    n_classes, width = P.shape
    if code == 3:
        rate = eta * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
        for k in range(n_classes):
            for j in range(width):
                g = G[k, j]
                m = beta_1 * buf1[k, j] + (1.0 - beta_1) * g
                u = beta_2 * buf2[k, j] + (1.0 - beta_2) * g * g
                buf1[k, j] = m
                buf2[k, j] = u
                P[k, j] -= rate * m / (np.sqrt(u) + epsilon)
        return
    rate = eta / t**power_t if code == 1 else eta
    if momentum != 0.0:
        for k in range(n_classes):
            for j in range(width):
                v = momentum * buf1[k, j] - rate * G[k, j]
                buf1[k, j] = v
                P[k, j] += v
    else:
        for k in range(n_classes):
            for j in range(width):
                P[k, j] -= rate * G[k, j]


@jit
def _update_rate(t, eta, code, hyper):
    """Learning rate of update number ``t`` (Adam: with bias correction)."""
    power_t, momentum, beta_1, beta_2, epsilon = hyper
    if code == 3:
        return eta * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    return eta / t**power_t if code == 1 else eta


@jit
def _penalty_step(t, eta, code, hyper):
    """Step of the penalties at update ``t``: the step the gradient gets.

    Heavy-ball momentum ``mu`` takes steps of ``rate / (1 - mu)`` once its
    velocity has settled; the penalty must move at that pace too, or it acts
    as one ``1 - mu`` times as strong (a tenth at ``mu = 0.9``). With that
    step the fixed point of the velocity, ``v = -rate g / (1 - mu)``, and of
    the shrink, ``W = (W + v) / (1 + a pen)``, is ``g + pen W = 0``.
    """
    rate = _update_rate(t, eta, code, hyper)
    momentum = hyper[1]
    if code != 3 and momentum != 0.0:
        return rate / (1.0 - momentum)
    return rate


@jit
def _l1_cumulative(P, Q, u):
    """Apply the cumulative L1 penalty ``u`` to the coefficients of ``P``."""
    n_classes, width = P.shape
    for k in range(n_classes):
        for j in range(width - 1):
            w = P[k, j]
            if w > 0.0:
                P[k, j] = max(0.0, w - (u + Q[k, j]))
            elif w < 0.0:
                P[k, j] = min(0.0, w + (u - Q[k, j]))
            Q[k, j] += P[k, j] - w


@jit
def _l2_shrink(P, factor):
    """Divide the coefficients of ``P`` (not the intercepts) by ``factor``."""
    n_classes, width = P.shape
    inv = 1.0 / factor
    for k in range(n_classes):
        for j in range(width - 1):
            P[k, j] *= inv


@jit
def _accumulate_average(P, A, n_avg):
    """Fold the iterate ``P`` into the running mean ``A`` of ``n_avg`` iterates."""
    n_classes, width = P.shape
    if n_avg == 1:
        A[:, :] = P
        return
    inv = 1.0 / n_avg
    for k in range(n_classes):
        for j in range(width):
            A[k, j] += (P[k, j] - A[k, j]) * inv


@jit
def _end_update(P, G, buf1, buf2, Q, u, A, t, eta, code, hyper, pen, l1, avg_start):
    """Step ``t``: data (and, for Adam, L2) gradient, L1, L2 shrink, average.

    Returns the new cumulative L1 penalty ``u``.
    """
    _apply_update(P, G, buf1, buf2, t, eta, code, hyper)
    if l1 > 0.0 or (pen > 0.0 and code != 3):
        a = _penalty_step(t, eta, code, hyper)
        if l1 > 0.0:
            u += a * l1
            _l1_cumulative(P, Q, u)
        if pen > 0.0 and code != 3:
            _l2_shrink(P, 1.0 + a * pen)
    if avg_start >= 0 and t > avg_start:
        _accumulate_average(P, A, t - avg_start)
    return u


@jit
def _l1_norm(P):
    n_classes, width = P.shape
    acc = 0.0
    for k in range(n_classes):
        for j in range(width - 1):
            acc += abs(P[k, j])
    return acc


@jit
def _finish_batch(P, G, n_rows, loss, weight_mean, pen, fit_intercept, code):
    """Scale the summed batch gradient (Adam: add the L2 penalty's); estimate."""
    n_classes, width = P.shape
    d = width - 1
    scale = 1.0 / (n_rows * weight_mean)
    g_pen = pen if code == 3 else 0.0
    sq = 0.0
    for k in range(n_classes):
        for j in range(d):
            w = P[k, j]
            G[k, j] = G[k, j] * scale + g_pen * w
            sq += w * w
        G[k, d] = G[k, d] * scale if fit_intercept else 0.0
    return loss * scale + 0.5 * pen * sq


@jit
def sgd_epoch_dense(
    X,
    t_ptr,
    t_cls,
    t_prob,
    sw,
    eps,
    order,
    batch_size,
    weight_mean,
    pen,
    l1,
    fit_intercept,
    P,
    buf1,
    buf2,
    Q,
    u,
    G,
    z,
    t0,
    eta,
    code,
    hyper,
    A,
    avg_start,
):
    """One SGD pass over the dense rows ``X[order]`` (see the module docstring)."""
    n = order.shape[0]
    n_classes, width = P.shape
    d = width - 1
    total = 0.0
    t = t0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        G[:, :] = 0.0
        loss = 0.0
        for q in range(start, stop):
            i = order[q]
            for k in range(n_classes):
                acc = 0.0
                for j in range(d):
                    acc += X[i, j] * P[k, j]
                z[k] = acc + P[k, d]
            loss += row_residual(z, i, t_ptr, t_cls, t_prob, sw[i], eps)
            for k in range(n_classes):
                r = z[k]
                for j in range(d):
                    G[k, j] += r * X[i, j]
                G[k, d] += r
        total += _finish_batch(
            P, G, stop - start, loss, weight_mean, pen, fit_intercept, code
        )
        if l1 > 0.0:
            total += l1 * _l1_norm(P)
        t += 1
        u = _end_update(
            P, G, buf1, buf2, Q, u, A, t, eta, code, hyper, pen, l1, avg_start
        )
    return total, t - t0, u


@jit
def sgd_epoch_csr(
    data,
    indices,
    indptr,
    t_ptr,
    t_cls,
    t_prob,
    sw,
    eps,
    order,
    batch_size,
    weight_mean,
    pen,
    l1,
    fit_intercept,
    P,
    buf1,
    buf2,
    Q,
    u,
    G,
    z,
    t0,
    eta,
    code,
    hyper,
    A,
    avg_start,
):
    """One SGD pass over the CSR rows ``order`` (see the module docstring)."""
    n = order.shape[0]
    n_classes, width = P.shape
    d = width - 1
    total = 0.0
    t = t0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        G[:, :] = 0.0
        loss = 0.0
        for q in range(start, stop):
            i = order[q]
            for k in range(n_classes):
                z[k] = P[k, d]
            for p in range(indptr[i], indptr[i + 1]):
                v = data[p]
                j = indices[p]
                for k in range(n_classes):
                    z[k] += v * P[k, j]
            loss += row_residual(z, i, t_ptr, t_cls, t_prob, sw[i], eps)
            for p in range(indptr[i], indptr[i + 1]):
                v = data[p]
                j = indices[p]
                for k in range(n_classes):
                    G[k, j] += v * z[k]
            for k in range(n_classes):
                G[k, d] += z[k]
        total += _finish_batch(
            P, G, stop - start, loss, weight_mean, pen, fit_intercept, code
        )
        if l1 > 0.0:
            total += l1 * _l1_norm(P)
        t += 1
        u = _end_update(
            P, G, buf1, buf2, Q, u, A, t, eta, code, hyper, pen, l1, avg_start
        )
    return total, t - t0, u
