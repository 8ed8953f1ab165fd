"""Row primitives shared by the kernels: log-sum-exp and the residual.

These are serial numba functions called from inside the parallel loops; they
are compiled into (and inlined by LLVM into) every kernel that uses them.
"""

import numpy as np

from .._config import jit


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
    lse = row_logsumexp(z)
    hit = 0.0
    for t in range(t_ptr[i], t_ptr[i + 1]):
        hit += t_prob[t] * z[t_cls[t]]
    loss = lse - (1.0 - eps) * hit
    smooth = eps / n_classes
    if eps != 0.0:
        total = 0.0
        for k in range(n_classes):
            total += z[k]
        loss -= smooth * total
    for k in range(n_classes):
        z[k] = weight * (np.exp(z[k] - lse) - smooth)
    scale = weight * (1.0 - eps)
    for t in range(t_ptr[i], t_ptr[i + 1]):
        z[t_cls[t]] -= scale * t_prob[t]
    return weight * loss
