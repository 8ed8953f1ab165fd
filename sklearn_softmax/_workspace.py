"""Work arrays a data term keeps between evaluations of the same shape."""

from __future__ import annotations

import numpy as np

__all__ = ["REUSE_BYTES", "buffer", "partials"]

#: Partial gradients at least this large are reused between evaluations.
REUSE_BYTES = 2**20


def buffer(workspace, key, shape):
    """Uninitialised float64 work array kept in ``workspace`` under ``key``."""
    if workspace is None:
        return np.empty(shape)
    buf = workspace.get(key)
    if buf is None or buf.shape != shape:
        buf = np.empty(shape)
        workspace[key] = buf
    return buf


def partials(workspace, shape):
    """Uninitialised float64 array for the partial gradients of a kernel.

    Large ones (wide CSR data: row groups x (d + 1) x K, up to
    :data:`~sklearn_softmax._config.PARTIALS_BUDGET`) are kept in
    ``workspace`` and reused by the next evaluation of the same shape: a fresh
    allocation of tens of MB is mapped by the OS page by page on first touch,
    which cost a quarter of a CSR evaluation. The workspace belongs to one
    :class:`~sklearn_softmax._objective.SoftmaxObjective`, so the memory goes
    with it when the fit ends. The dense kernel overwrites every entry and
    the CSR path zeroes them before its kernel adds into them; the returned
    gradient is a new array, so reuse is invisible to callers.
    """
    if workspace is None or 8 * int(np.prod(shape)) < REUSE_BYTES:
        return np.empty(shape)
    return buffer(workspace, "partials", shape)
