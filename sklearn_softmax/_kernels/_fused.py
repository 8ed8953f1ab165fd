"""Fused loss and gradient: one pass over the rows of X per evaluation.

For every row the kernel computes the logits, the stable softmax, the
cross-entropy against the row's target and the weighted residual
``s_i * (p_i - t_i)``, and accumulates ``residual x_i`` into the gradient
partial of the row's chunk. Rows are split into ``n_chunks`` contiguous chunks
(``G_parts.shape[0]``), a number fixed by the data shape; the caller sums the
partials in chunk order, so the result is bitwise the same for any number of
threads.

The dense kernel walks its chunk in register tiles of eight rows (see
:mod:`._dense`), turns the logits of a tile into residuals in one vectorised
pass (:func:`._rows.tile_residual`), computes the products in the dtype of
``X`` with float64 flushes, and for
two classes computes one logit ``(w_1 - w_0) x`` per row and one gradient row
(the other is its negative). The CSR kernel accumulates logits in float64.

Targets are given in a compressed sparse row form ``(t_ptr, t_cls, t_prob)``:
a hard label is one entry of probability 1, a soft target a full row. Label
smoothing ``eps`` mixes the uniform distribution into every target.

Outputs (written, never allocated):

* ``G_parts[c, k, :d]`` sum over chunk ``c`` of ``r_ik x_i`` and
  ``G_parts[c, k, d]`` sum of ``r_ik`` (intercept gradient), for the dense
  kernel; the CSR kernel uses the transposed layout ``G_parts[c, :d + 1, k]``
  and the transposed coefficients ``WT`` of shape ``(d, K)``.
* ``loss_parts[c]`` sum over chunk ``c`` of ``s_i * CE_i``.
"""

import numpy as np
from numba import prange

from .._config import jit
from ._dense import FLUSH_ROWS, TILE, accumulate1, accumulate8, flush, logits1, logits8
from ._rows import row_residual, tile_residual


def _fused_dense(X, W, b, t_ptr, t_cls, t_prob, sw, eps, G_parts, loss_parts):
    n, d = X.shape
    n_classes = W.shape[0]
    n_chunks = G_parts.shape[0]
    # Two classes: softmax depends only on z1 - z0, so one logit per row
    # (coefficients w1 - w0) and one gradient row suffice; the residuals of
    # the two classes are opposite, so the gradient of row 0 is minus row 1.
    binary = n_classes == 2
    n_rows_w = 1 if binary else n_classes
    off = n_classes - n_rows_w
    for c in prange(n_chunks):
        start = (c * n) // n_chunks
        stop = ((c + 1) * n) // n_chunks
        G = G_parts[c]
        G[:, :] = 0.0
        # Accumulators and residuals in the dtype of X (see _dense).
        Gb = np.zeros((n_rows_w, d + 1), dtype=X.dtype)
        R = np.empty((n_rows_w, TILE), dtype=X.dtype)
        Wk = np.empty((n_rows_w, d), dtype=X.dtype)
        bk = np.empty(n_rows_w, dtype=X.dtype)
        if binary:
            for j in range(d):
                Wk[0, j] = W[1, j] - W[0, j]
            bk[0] = b[1] - b[0]
        else:
            Wk[:, :] = W
            bk[:] = b
        Zk = np.empty((n_rows_w, TILE))
        # Logits of all classes, residuals in place (see tile_residual).
        T = np.zeros((n_classes, TILE))
        scratch = np.empty((4, TILE))
        z = np.empty(n_classes)
        zero = Gb[0, 0]
        loss = 0.0
        i = start
        since_flush = 0
        while i < stop:
            if i + TILE <= stop:
                logits8(X, i, Wk, bk, Zk, zero)
                if binary:
                    for r in range(TILE):
                        T[0, r] = 0.0
                        T[1, r] = Zk[0, r]
                else:
                    T[:, :] = Zk
                loss += tile_residual(T, i, t_ptr, t_cls, t_prob, sw, eps, scratch)
                for k in range(n_rows_w):
                    for r in range(TILE):
                        R[k, r] = T[off + k, r]
                accumulate8(X, i, R, Gb)
                i += TILE
                since_flush += TILE
            else:
                logits1(X[i], Wk, bk, Zk, zero)
                if binary:
                    z[0] = 0.0
                    z[1] = Zk[0, 0]
                else:
                    for k in range(n_classes):
                        z[k] = Zk[k, 0]
                loss += row_residual(z, i, t_ptr, t_cls, t_prob, sw[i], eps)
                for k in range(n_rows_w):
                    R[k, 0] = z[off + k]
                accumulate1(X[i], R, Gb)
                i += 1
                since_flush += 1
            if since_flush >= FLUSH_ROWS:
                flush(G, Gb, off)
                since_flush = 0
        flush(G, Gb, off)
        if binary:
            for j in range(d + 1):
                G[0, j] = -G[1, j]
        loss_parts[c] = loss


def _fused_csr(
    data, indices, indptr, WT, b, t_ptr, t_cls, t_prob, sw, eps, G_parts, loss_parts
):
    n = indptr.shape[0] - 1
    d, n_classes = WT.shape
    n_chunks = G_parts.shape[0]
    for c in prange(n_chunks):
        start = (c * n) // n_chunks
        stop = ((c + 1) * n) // n_chunks
        G = G_parts[c]
        G[:, :] = 0.0
        z = np.empty(n_classes)
        loss = 0.0
        for i in range(start, stop):
            for k in range(n_classes):
                z[k] = b[k]
            for p in range(indptr[i], indptr[i + 1]):
                v = data[p]
                j = indices[p]
                for k in range(n_classes):
                    z[k] += v * WT[j, k]
            loss += row_residual(z, i, t_ptr, t_cls, t_prob, sw[i], eps)
            for p in range(indptr[i], indptr[i + 1]):
                v = data[p]
                j = indices[p]
                for k in range(n_classes):
                    G[j, k] += v * z[k]
            for k in range(n_classes):
                G[d, k] += z[k]
        loss_parts[c] = loss


#: Fused loss/gradient for dense ``X`` (parallel over chunks).
fused_dense = jit(_fused_dense, parallel=True)
#: Serial, GIL-releasing twin of :data:`fused_dense` (minibatches, dask blocks).
fused_dense_serial = jit(_fused_dense)

#: Fused loss/gradient for CSR ``X`` (parallel over chunks).
fused_csr = jit(_fused_csr, parallel=True)
#: Serial, GIL-releasing twin of :data:`fused_csr`.
fused_csr_serial = jit(_fused_csr)
