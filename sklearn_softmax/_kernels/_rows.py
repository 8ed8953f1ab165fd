"""Row primitives shared by the kernels: log-sum-exp, exp and the residual.

These are serial numba functions called from inside the parallel loops; they
are compiled into (and inlined by LLVM into) every kernel that uses them.
"""

import numpy as np
from numba import types
from numba.extending import intrinsic

from .._config import jit

_LOG2E = 1.4426950408889634
# ln 2 split (Cody and Waite, fdlibm constants): n * _LN2_HI is exact.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# Below this the result would be subnormal; clamping gives exp(-708) ~ 3e-308,
# which is zero for every use here (a probability next to at least one 1).
_EXP_MIN = -708.0
# 2**n for n = -1022..0, gathered by index: cheaper than assembling the
# exponent bits, and numba freezes global arrays into the compiled code.
_POW2 = np.ldexp(1.0, np.arange(-1022, 1))


@jit(inline="always")
def exp_clamped(x):
    """``exp(x)`` for ``x <= 0`` without branches, so that loops over it vectorise.

    ``exp(x) = 2**n * exp(r)`` with ``n = round(x / ln 2)``,
    ``|r| <= ln(2) / 2`` and ``exp(r)`` by its Taylor polynomial of degree 13
    (truncation below 1e-17 relative); ``2**n`` comes from a table.
    ``x < -708`` is clamped (the result, ~3e-308, stays normal); NaN
    propagates.
    """
    if x < _EXP_MIN:
        x = _EXP_MIN
    n = np.floor(x * _LOG2E + 0.5)
    if not n >= -1022.0:  # NaN: keep the table index defined
        n = -1022.0
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _POW2[np.int64(n) + 1022]


@intrinsic
def _float_bits(typingctx, x):
    # The bits of a float64 as an int64 (a no-op in machine code, so loops
    # over it vectorise; numba has no scalar ``view``).
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, x):
    # Inverse of _float_bits.
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


_SQRT2 = 1.4142135623730951
_FLOAT_MAX = np.finfo(np.float64).max


@jit(inline="always")
def log_normal(s):
    """Return ``log(s)`` for a positive, normal, finite ``s``, without branches.

    ``s = 2**e * m`` from the bits of ``s``, ``m`` moved into
    ``[sqrt(1/2), sqrt(2))``, and ``log(m) = 2 atanh(u)``,
    ``u = (m - 1) / (m + 1)``, by its series to ``u**21`` (truncation below
    1e-17 relative). Within 2 ulp of ``np.log``; LLVM vectorises loops over it
    (0.8 vs 3.5-5.9 ns per element for the scalar ``np.log`` here). NaN and
    ``+inf`` are returned unchanged; zero, negative or subnormal ``s`` give
    wrong results: callers guarantee ``s >= 1`` (a sum of exponentials that
    includes ``exp(0)``).
    """
    bits = _float_bits(s)
    e = (bits >> 52) - 1023
    m = _bits_float((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    u = (m - 1.0) / (m + 1.0)
    u2 = u * u
    p = 1.0 / 21.0
    p = p * u2 + 1.0 / 19.0
    p = p * u2 + 1.0 / 17.0
    p = p * u2 + 1.0 / 15.0
    p = p * u2 + 1.0 / 13.0
    p = p * u2 + 1.0 / 11.0
    p = p * u2 + 1.0 / 9.0
    p = p * u2 + 1.0 / 7.0
    p = p * u2 + 1.0 / 5.0
    p = p * u2 + 1.0 / 3.0
    n = np.float64(e)
    log = (n * _LN2_HI + (2.0 * u + (2.0 * u) * (u2 * p))) + n * _LN2_LO
    # NaN and +inf are their own logarithm (a select, not a branch).
    return log if s <= _FLOAT_MAX else s


@jit
def exp_nonpositive(z, m):
    """In place ``z[k] = exp(z[k] - m)`` for finite ``m >= max(z)``.

    Uses :func:`exp_clamped`, a polynomial exponential that LLVM vectorises
    (numba has no vector ``exp`` without SVML). Error: 1 ulp for ``x`` in
    [-1, 0], growing to 1e-14 relative near ``x = -700`` (the Cody-Waite split
    of ``ln 2`` is reassociated away by the fast-math flags); measured against
    1, the scale of the row sum, never above half an ulp. NaN propagates; ``-inf``
    gives ``exp(-708)``, effectively zero.

    Returns
    -------
    total : float
        ``sum_k exp(z[k] - m)``.
    """
    n_classes = z.shape[0]
    for k in range(n_classes):
        z[k] = exp_clamped(z[k] - m)
    total = 0.0
    for k in range(n_classes):
        total += z[k]
    return total


@jit
def row_logsumexp(z):
    """Return ``log(sum(exp(z)))`` computed stably (shift by the maximum)."""
    m = z[0]
    for k in range(1, z.shape[0]):
        if z[k] > m:
            m = z[k]
    if not np.isfinite(m):
        # All -inf gives -inf; +inf or NaN propagates.
        return m
    s = 0.0
    for k in range(z.shape[0]):
        s += np.exp(z[k] - m)
    return m + np.log(s)


@jit
def row_residual(z, i, t_ptr, t_cls, t_prob, weight, eps):
    """Turn the logits ``z`` of row ``i`` into its weighted residual.

    The target of row ``i`` is ``(1 - eps) * T_i + eps / K`` where ``T_i`` is
    the sparse distribution ``t_prob[t_ptr[i]:t_ptr[i + 1]]`` over the classes
    ``t_cls[t_ptr[i]:t_ptr[i + 1]]`` (one entry of probability 1 for a hard
    label). On return ``z`` holds ``weight * (softmax(z) - target)``.

    Returns
    -------
    loss : float
        ``weight * cross_entropy(target, softmax(z))``.
    """
    n_classes = z.shape[0]
    hit = 0.0
    for t in range(t_ptr[i], t_ptr[i + 1]):
        hit += t_prob[t] * z[t_cls[t]]
    smooth = eps / n_classes
    total = 0.0
    if eps != 0.0:
        for k in range(n_classes):
            total += z[k]
    m = z[0]
    for k in range(1, n_classes):
        if z[k] > m:
            m = z[k]
    if np.isfinite(m):
        # One exponential per class: p_k = exp(z_k - m) / s.
        s = exp_nonpositive(z, m)
        lse = m + np.log(s)
        inv = weight / s
        for k in range(n_classes):
            z[k] = z[k] * inv - weight * smooth
    else:
        # +inf or NaN logits (or all -inf): let IEEE arithmetic propagate.
        lse = m
        for k in range(n_classes):
            z[k] = weight * (np.exp(z[k] - lse) - smooth)
    loss = lse - (1.0 - eps) * hit - smooth * total
    scale = weight * (1.0 - eps)
    for t in range(t_ptr[i], t_ptr[i + 1]):
        z[t_cls[t]] -= scale * t_prob[t]
    return weight * loss


@jit
def block_residual(Zt, i0, t_ptr, t_cls, t_prob, sw, eps, scratch):
    """:func:`row_residual` for the rows ``i0, ..., i0 + width - 1`` at once.

    ``Zt[k, r]`` holds the logit of class ``k`` for row ``i0 + r`` (classes
    along the first axis, rows along the second); on return it holds the
    weighted residual. Every class loop runs over all rows of the block, so
    LLVM turns it into vector instructions (one exponential per lane) over a
    long, contiguous row of ``Zt``, where :func:`row_residual` runs a short
    scalar loop per row. Blocks of 200 rows took 1.6x less time per row than
    the same code on tiles of 8 rows (one vector) at 10 to 100 classes, 1.1x
    at 5 classes: short lane loops cost more in loop overhead than in
    arithmetic. Every element sees the operations of :func:`row_residual`, so the
    residuals agree with it to an ulp (the compiler may fuse multiply-adds
    differently). A block with a non-finite row maximum (NaN or infinite
    logits) falls back to :func:`row_residual` row by row.

    Parameters
    ----------
    Zt : ndarray of shape (n_classes, width), float64 or float32
        Logits in, residuals out. The arithmetic is float64; float32 blocks
        hold the exponentials in float32 before they are normalised, so
        their residuals are exact to float32 rounding of the probabilities.
    i0 : int
        First row of the block.
    t_ptr, t_cls, t_prob, sw, eps
        Targets, sample weights and label smoothing as in :func:`row_residual`.
    scratch : ndarray of shape (4, >= width), float64
        Work space (indexed in place: views would cost reference counting).

    Returns
    -------
    loss : float
        Sum over the block of the weighted cross-entropies.
    """
    n_classes, width = Zt.shape
    for r in range(width):
        scratch[0, r] = Zt[0, r]
    for k in range(1, n_classes):
        for r in range(width):
            # An unconditional store, so the loop vectorises as a select.
            v = Zt[k, r]
            m = scratch[0, r]
            scratch[0, r] = v if v > m else m
    finite = True
    for r in range(width):
        finite = finite and np.isfinite(scratch[0, r])
    if not finite:
        z = np.empty(n_classes)
        loss = 0.0
        for r in range(width):
            for k in range(n_classes):
                z[k] = Zt[k, r]
            loss += row_residual(z, i0 + r, t_ptr, t_cls, t_prob, sw[i0 + r], eps)
            for k in range(n_classes):
                Zt[k, r] = z[k]
        return loss
    for r in range(width):
        scratch[1, r] = 0.0
        scratch[3, r] = 0.0
        hit = 0.0
        for t in range(t_ptr[i0 + r], t_ptr[i0 + r + 1]):
            hit += t_prob[t] * Zt[t_cls[t], r]
        scratch[2, r] = hit
    if eps != 0.0:
        for k in range(n_classes):
            for r in range(width):
                scratch[3, r] += Zt[k, r]
    for k in range(n_classes):
        for r in range(width):
            # exp_nonpositive, lane by lane.
            e = exp_clamped(Zt[k, r] - scratch[0, r])
            Zt[k, r] = e
            scratch[1, r] += e
    smooth = eps / n_classes
    for r in range(width):
        weight = sw[i0 + r]
        # scratch[1, r] >= 1 (it includes exp(0)): log_normal applies.
        lse = scratch[0, r] + log_normal(scratch[1, r])
        # Rows 1 to 3 of scratch now hold the row factors of the residual
        # and the row losses.
        scratch[3, r] = weight * (
            lse - (1.0 - eps) * scratch[2, r] - smooth * scratch[3, r]
        )
        scratch[1, r] = weight / scratch[1, r]
        scratch[2, r] = weight * smooth
    loss = 0.0
    for r in range(width):
        loss += scratch[3, r]
    for k in range(n_classes):
        for r in range(width):
            Zt[k, r] = Zt[k, r] * scratch[1, r] - scratch[2, r]
    for r in range(width):
        scale = sw[i0 + r] * (1.0 - eps)
        for t in range(t_ptr[i0 + r], t_ptr[i0 + r + 1]):
            Zt[t_cls[t], r] -= scale * t_prob[t]
    return loss
