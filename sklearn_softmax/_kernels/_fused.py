"""Fused loss and gradient: one pass over the rows of X per evaluation.

For every row the kernel computes the logits, the stable softmax, the
cross-entropy against the row's target and the weighted residual
``s_i * (p_i - t_i)``, and accumulates ``residual x_i`` into the gradient
partial of the row's chunk. Rows are split into ``n_chunks`` contiguous chunks
(``G_parts.shape[0]``), a number fixed by the data shape; the caller sums the
partials in chunk order, so the result is bitwise the same for any number of
threads.

The dense kernel walks its chunk in blocks of rows small enough to stay in
L2 (:func:`_block_rows`): one BLAS product gives the logits of a block, the
rows go through the softmax eight at a time in vector lanes
(:func:`._rows.tile_residual`), and a second BLAS product adds the block's
gradient. BLAS is limited to one thread by the caller
(:func:`sklearn_softmax._config.compute_threads`), so each numba thread runs
its own products; the chunk partition, block sizes and BLAS calls depend only
on the data shape, so results stay bitwise independent of the thread count.
Products run in the dtype of ``X``; each block's float32 gradient (a sum over
at most 256 rows) is added into the float64 partial. For two classes the
kernel computes one logit ``(w_1 - w_0) x`` per row and one gradient row (the
other is its negative). The CSR kernel accumulates logits in float64.

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
from ._rows import TILE, row_residual, tile_residual


@jit
def _block_rows(d, itemsize):
    # Rows per block: the block of X (about 160 KB) stays in L2 between the
    # two products; a multiple of TILE, between TILE and 256 rows.
    rows = 163840 // (d * itemsize)
    return max(TILE, min(256, rows - rows % TILE))


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
    block = _block_rows(d, X.itemsize)
    for c in prange(n_chunks):
        start = (c * n) // n_chunks
        stop = ((c + 1) * n) // n_chunks
        G = G_parts[c]
        G[:, :] = 0.0
        # Products in the dtype of X: logits of a block, then its gradient.
        WT = np.empty((d, n_rows_w), dtype=X.dtype)
        bk = np.empty(n_rows_w)
        if binary:
            for j in range(d):
                WT[j, 0] = W[1, j] - W[0, j]
            bk[0] = b[1] - b[0]
        else:
            for k in range(n_classes):
                for j in range(d):
                    WT[j, k] = W[k, j]
                bk[k] = b[k]
        Zb = np.empty((block, n_rows_w), dtype=X.dtype)
        Gb = np.empty((n_rows_w, d), dtype=X.dtype)
        # Logits of all classes of a tile, residuals in place.
        T = np.zeros((n_classes, TILE))
        scratch = np.empty((4, TILE))
        z = np.empty(n_classes)
        loss = 0.0
        i0 = start
        while i0 < stop:
            i1 = min(stop, i0 + block)
            Xb = X[i0:i1]
            Z = Zb[: i1 - i0]
            np.dot(Xb, WT, Z)
            i = i0
            while i < i1:
                if i + TILE <= i1:
                    for k in range(n_rows_w):
                        for r in range(TILE):
                            T[off + k, r] = Z[i - i0 + r, k] + bk[k]
                    if binary:
                        for r in range(TILE):
                            T[0, r] = 0.0
                    loss += tile_residual(T, i, t_ptr, t_cls, t_prob, sw, eps, scratch)
                    for k in range(n_rows_w):
                        for r in range(TILE):
                            Z[i - i0 + r, k] = T[off + k, r]
                    i += TILE
                else:
                    for k in range(n_rows_w):
                        z[off + k] = Z[i - i0, k] + bk[k]
                    if binary:
                        z[0] = 0.0
                    loss += row_residual(z, i, t_ptr, t_cls, t_prob, sw[i], eps)
                    for k in range(n_rows_w):
                        Z[i - i0, k] = z[off + k]
                    i += 1
            # Z now holds the residuals of the block.
            np.dot(Z.T, Xb, Gb)
            for k in range(n_rows_w):
                g = G[off + k]
                for j in range(d):
                    g[j] += Gb[k, j]
                total = 0.0
                for r in range(i1 - i0):
                    total += Z[r, k]
                g[d] += total
            i0 = i1
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
