"""Minibatch SGD epochs: gradient and update of every minibatch in one call.

At the default batch size of 32 rows a minibatch gradient costs a few
microseconds; calling a kernel per batch from Python (gather the rows, build
the batch targets, combine, update) costs several times more. These kernels
therefore run a whole pass: rows are visited in ``order`` directly (no gather
of ``X``), and after every ``batch_size`` rows the parameters are updated.

Parameters ``P`` have shape ``(K, d + 1)`` (float64, intercepts in the last
column). The gradient of the batch ``B`` is

``G = sum_{i in B} s_i (p_i - t_i) [x_i, 1] / (|B| * weight_mean) + pen * [W, 0]``

with the intercept column zeroed when ``fit_intercept`` is false. With an L1
strength ``l1 > 0`` every update ends with the cumulative L1 penalty of
Tsuruoka, Tsujii and Ananiadou (2009), as scikit-learn's ``SGDClassifier``
applies it: ``u`` is the L1 penalty a coefficient could have received so far
(the sum of ``rate * l1`` over the updates), ``Q`` what each one did receive,
and every coefficient is moved towards zero by the difference without
crossing it. Unlike a plain proximal step, this cancels the excursions of
minibatch noise, so coefficients whose optimum is zero end exactly at zero. The step
rules (``code``): 0 constant, 1 inverse scaling, 2 adaptive (constant within
an epoch), 3 Adam; see :mod:`sklearn_softmax._solvers._schedules`.

Everything is serial (one minibatch depends on the previous update), releases
the GIL, and writes only ``P``, ``buf1``, ``buf2`` and the scratch ``G``/``z``.
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
def _l1_step(t, eta, code, hyper):
    """Step of the L1 penalty at update ``t``: the step the gradient gets.

    Heavy-ball momentum ``mu`` takes steps of ``rate / (1 - mu)`` once its
    velocity has settled; the penalty must move at that pace too, or it acts
    as one ``1 - mu`` times as strong (a tenth at ``mu = 0.9``).
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
def _l1_norm(P):
    n_classes, width = P.shape
    acc = 0.0
    for k in range(n_classes):
        for j in range(width - 1):
            acc += abs(P[k, j])
    return acc


@jit
def _finish_batch(P, G, n_rows, loss, weight_mean, pen, fit_intercept):
    """Scale the summed batch gradient, add the penalty; return the estimate."""
    n_classes, width = P.shape
    d = width - 1
    scale = 1.0 / (n_rows * weight_mean)
    sq = 0.0
    for k in range(n_classes):
        for j in range(d):
            w = P[k, j]
            G[k, j] = G[k, j] * scale + pen * w
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
            P, G, stop - start, loss, weight_mean, pen, fit_intercept
        )
        if l1 > 0.0:
            total += l1 * _l1_norm(P)
        t += 1
        _apply_update(P, G, buf1, buf2, t, eta, code, hyper)
        if l1 > 0.0:
            u += _l1_step(t, eta, code, hyper) * l1
            _l1_cumulative(P, Q, u)
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
            P, G, stop - start, loss, weight_mean, pen, fit_intercept
        )
        if l1 > 0.0:
            total += l1 * _l1_norm(P)
        t += 1
        _apply_update(P, G, buf1, buf2, t, eta, code, hyper)
        if l1 > 0.0:
            u += _l1_step(t, eta, code, hyper) * l1
            _l1_cumulative(P, Q, u)
    return total, t - t0, u
