"""Fused loss and gradient for dense X: one pass over the rows per evaluation.

For every row the kernel computes the logits, the stable softmax, the
cross-entropy against the row's target and the weighted residual
``s_i * (p_i - t_i)``, and accumulates ``residual x_i`` into the gradient
partial of the row's chunk. Rows are split into ``n_chunks`` contiguous chunks
(``G_parts.shape[0]``), a number fixed by the data shape; the caller sums the
partials in chunk order, so the result is bitwise the same for any number of
threads.

The dense kernel walks its chunk in blocks of rows small enough to stay in
L2 (:func:`_block_rows`): one BLAS product gives the logits of a block, the
whole block goes through the softmax with the rows in vector lanes
(:func:`._rows.block_residual`, on the logits transposed to classes x rows),
and a second BLAS product adds the block's gradient. BLAS is limited to one
thread by the caller (:func:`sklearn_softmax._config.compute_threads`), so
each numba thread runs its own products; the chunk partition, block sizes
and BLAS calls depend only on the data shape, so results stay bitwise
independent of the thread count.
Products run in the dtype of ``X``; each block's float32 gradient (a sum over
at most 256 rows) is added into the float64 partial. For two classes the
kernel computes one logit ``(w_1 - w_0) x`` per row and one gradient row (the
other is its negative). CSR data has its own kernel (:mod:`._csr`).

Targets are given in a compressed sparse row form ``(t_ptr, t_cls, t_prob)``:
a hard label is one entry of probability 1, a soft target a full row. Label
smoothing ``eps`` mixes the uniform distribution into every target.

Outputs (written, never allocated):

* ``G_parts[c, k, :d]`` sum over chunk ``c`` of ``r_ik x_i`` and
  ``G_parts[c, k, d]`` sum of ``r_ik`` (intercept gradient).
* ``loss_parts[c]`` sum over chunk ``c`` of ``s_i * CE_i``.
"""

import numpy as np
from numba import prange

from .._config import jit
from ._rows import block_residual


@jit
def _block_rows(d, itemsize):
    # Rows per block: the block of X (about 160 KB) stays in L2 between the
    # two products; a multiple of 8 (one vector of float64), between 8 and
    # 256 rows.
    rows = 163840 // (d * itemsize)
    return max(8, min(256, rows - rows % 8))


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
        # Logits and residuals of a block with classes along the first axis,
        # so that the softmax loops run along rows (see block_residual); a
        # flat buffer, so that every block's view is contiguous for BLAS.
        Zflat = np.empty(n_classes * block, dtype=X.dtype)
        Gb = np.empty((n_rows_w, d), dtype=X.dtype)
        scratch = np.empty((4, block))
        loss = 0.0
        i0 = start
        while i0 < stop:
            i1 = min(stop, i0 + block)
            rows = i1 - i0
            Xb = X[i0:i1]
            # (rows x d) @ (d x K) is the fast orientation for BLAS at few
            # classes (2-4x faster than (K x d) @ (d x rows) here); the
            # transposed copy costs a few ns per row.
            Z = Zb[:rows]
            np.dot(Xb, WT, Z)
            Zt = Zflat[: n_classes * rows].reshape((n_classes, rows))
            if binary:
                for r in range(rows):
                    Zt[0, r] = 0.0
            for k in range(n_rows_w):
                bb = bk[k]
                for r in range(rows):
                    Zt[off + k, r] = Z[r, k] + bb
            loss += block_residual(Zt, i0, t_ptr, t_cls, t_prob, sw, eps, scratch)
            R = Zt[off:]
            np.dot(R, Xb, Gb)
            for k in range(n_rows_w):
                g = G[off + k]
                for j in range(d):
                    g[j] += Gb[k, j]
                total = 0.0
                for r in range(rows):
                    total += R[k, r]
                g[d] += total
            i0 = i1
        if binary:
            for j in range(d + 1):
                G[0, j] = -G[1, j]
        loss_parts[c] = loss


def _sum_partials(G_parts, transposed, out):
    # Every entry is the sum of its chunk partials in chunk order (the order
    # of numpy's sum over axis 0), so the column partition below has no
    # effect on the bits.
    n_parts = G_parts.shape[0]
    n_rows, n_cols = out.shape
    n_blocks = (n_cols + 255) // 256
    for blk in prange(n_blocks):
        j0 = blk * 256
        j1 = min(n_cols, j0 + 256)
        if transposed:
            for j in range(j0, j1):
                for k in range(n_rows):
                    out[k, j] = G_parts[0, j, k]
            for c in range(1, n_parts):
                for j in range(j0, j1):
                    for k in range(n_rows):
                        out[k, j] += G_parts[c, j, k]
        else:
            for k in range(n_rows):
                for j in range(j0, j1):
                    out[k, j] = G_parts[0, k, j]
            for c in range(1, n_parts):
                for k in range(n_rows):
                    for j in range(j0, j1):
                        out[k, j] += G_parts[c, k, j]


#: Fused loss/gradient for dense ``X`` (parallel over chunks).
fused_dense = jit(_fused_dense, parallel=True)
#: Serial, GIL-releasing twin of :data:`fused_dense` (minibatches, dask blocks).
fused_dense_serial = jit(_fused_dense)

#: Sum of the chunk partials into ``out`` of shape ``(K, d + 1)``; partials of
#: shape ``(n_chunks, K, d + 1)``, or ``(n_chunks, d + 1, K)`` (the CSR
#: kernel's layout) with ``transposed=True`` (parallel over columns).
sum_partials = jit(_sum_partials, parallel=True)
#: Serial, GIL-releasing twin of :data:`sum_partials`.
sum_partials_serial = jit(_sum_partials)
