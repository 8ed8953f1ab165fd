"""Fused loss and gradient for CSR data, blocked by columns.

A CSR evaluation gathers one row of the transposed coefficients ``WT[j]``
per stored entry (the logits) and scatters one row of the gradient
``G[j]`` per stored entry (the gradient). Both tables have ``d x K`` entries;
once they outgrow the caches every stored entry costs a trip to memory, and
one partial gradient per row chunk (the scheme of the dense kernel)
multiplies the memory the scatter touches. This kernel splits the columns
into blocks whose slice of either table stays in cache
(:mod:`sklearn_softmax._csr_layout` chooses them from the data and the
machine's cache sizes) and works in
two phases over a span of rows ``[s0, s1)`` (a "super-chunk", whose logits fit
in the work array ``Z``):

1. Logits and residuals, in parallel over chunks of :data:`ROW_CHUNK` rows:
   for every column block in turn, every row of the chunk adds the entries of
   its segment in that block, so the block's slice of ``WT`` stays in L2.
   The chunk then goes through :func:`._rows.block_residual` (the softmax
   with rows in vector lanes) and ``Z`` holds the weighted residuals.
2. Gradient, in parallel over tasks ``(row group, column block)``: a task
   walks the rows of its group in order and scatters their entries in its
   block into ``G_parts[group]``. Tasks of different blocks write disjoint
   columns, so no partial per thread is needed: with enough blocks there is
   one row group and no partials at all.

The segment of row ``i`` in block ``b`` is ``seg[b, i]:seg[b + 1, i]`` in
``indices``/``data`` (column indices sorted within each row, see
:func:`csr_segments`). Every sum runs in an order fixed by the data and the
layout (rows in order within a group, groups summed in order by the caller,
loss summed per row chunk), never by the thread count, so results are bitwise
independent of it. Logits and gradients are float64 whatever the dtype of
the data.

Outputs (written, never allocated):

* ``Z[: s1 - s0]`` the weighted residuals of the super-chunk's rows;
* ``G_parts[g, j, k]`` (added to) the sum over the rows of group ``g`` of
  ``r_ik x_ij``, and ``G_parts[g, d, k]`` the sum of ``r_ik`` (intercept);
* ``loss_parts[c]`` for the row chunks ``c`` of the super-chunk (chunk ``c``
  holds rows ``c * ROW_CHUNK`` to ``(c + 1) * ROW_CHUNK - 1``) the sum of
  ``s_i * CE_i``.
"""

import numpy as np
from numba import prange

from .._config import jit
from ._rows import block_residual

#: Rows per chunk of the logits phase (and per entry of ``loss_parts``).
ROW_CHUNK = 256


def _csr_segments(indices, indptr, bounds, seg):
    # A row's entries of block b are those with bounds[b] <= j < bounds[b + 1];
    # with sorted indices they are contiguous. Returns the number of rows whose
    # indices are not sorted (their segments would be wrong).
    n = indptr.shape[0] - 1
    n_blocks = bounds.shape[0] - 1
    unsorted = 0
    for i in prange(n):
        p0 = indptr[i]
        end = indptr[i + 1]
        seg[0, i] = p0
        blk = 1
        bad = 0
        for p in range(p0, end):
            j = indices[p]
            if p > p0 and j < indices[p - 1]:
                bad = 1
            while blk < n_blocks and j >= bounds[blk]:
                seg[blk, i] = p
                blk += 1
        while blk <= n_blocks:
            seg[blk, i] = end
            blk += 1
        unsorted += bad
    return unsorted


def _fused_csr(
    data,
    indices,
    seg,
    s0,
    s1,
    WT,
    b,
    t_ptr,
    t_cls,
    t_prob,
    sw,
    eps,
    Z,
    G_parts,
    loss_parts,
):
    n_blocks = seg.shape[0] - 1
    d, n_classes = WT.shape
    n_rc = (s1 - s0 + ROW_CHUNK - 1) // ROW_CHUNK
    first_rc = s0 // ROW_CHUNK
    for rc in prange(n_rc):
        r0 = s0 + rc * ROW_CHUNK
        r1 = min(s1, r0 + ROW_CHUNK)
        width = r1 - r0
        # Z is indexed in place: a view per row would cost reference counting
        # (atomic operations) per segment.
        for i in range(r0, r1):
            for k in range(n_classes):
                Z[i - s0, k] = b[k]
        for blk in range(n_blocks):
            for i in range(r0, r1):
                row = i - s0
                for p in range(seg[blk, i], seg[blk + 1, i]):
                    v = data[p]
                    j = indices[p]
                    for k in range(n_classes):
                        Z[row, k] += v * WT[j, k]
        Zt = np.empty((n_classes, width))
        scratch = np.empty((4, width))
        for i in range(r0, r1):
            for k in range(n_classes):
                Zt[k, i - r0] = Z[i - s0, k]
        loss_parts[first_rc + rc] = block_residual(
            Zt, r0, t_ptr, t_cls, t_prob, sw, eps, scratch
        )
        for i in range(r0, r1):
            for k in range(n_classes):
                Z[i - s0, k] = Zt[k, i - r0]
    n_groups = G_parts.shape[0]
    for task in prange(n_groups * n_blocks):
        g = task // n_blocks
        blk = task - g * n_blocks
        G = G_parts[g]
        r0 = s0 + ((s1 - s0) * g) // n_groups
        r1 = s0 + ((s1 - s0) * (g + 1)) // n_groups
        for i in range(r0, r1):
            row = i - s0
            for p in range(seg[blk, i], seg[blk + 1, i]):
                v = data[p]
                j = indices[p]
                for k in range(n_classes):
                    G[j, k] += v * Z[row, k]
        if blk == 0:
            for i in range(r0, r1):
                for k in range(n_classes):
                    G[d, k] += Z[i - s0, k]


#: Segments of every row in every column block (parallel over rows); returns
#: the number of rows with unsorted column indices.
csr_segments = jit(_csr_segments, parallel=True)
#: Serial, GIL-releasing twin of :data:`csr_segments`.
csr_segments_serial = jit(_csr_segments)

#: Fused loss/gradient of the rows ``[s0, s1)`` of CSR data (parallel over row
#: chunks, then over (row group, column block) tasks).
fused_csr = jit(_fused_csr, parallel=True)
#: Serial, GIL-releasing twin of :data:`fused_csr`.
fused_csr_serial = jit(_fused_csr)
