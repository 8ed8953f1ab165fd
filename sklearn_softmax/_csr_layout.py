"""How the CSR kernel splits a sparse matrix: column blocks, row groups, spans.

:func:`csr_layout` looks at the matrix once per fit and decides, from the
data alone (never from the thread count, so results do not depend on it):

* the column blocks: as many as it takes for one block's slice of the
  ``d x K`` coefficient table to fit in :data:`BLOCK_BYTES`, with boundaries
  placed so that the blocks hold about the same number of stored entries.
  Each block costs a loop start per row, so there are at most a quarter as
  many blocks as stored entries per row;
* the row groups of the gradient phase: enough (row group, column block)
  tasks to share out (:data:`MIN_TASKS`), each extra group costing one
  ``(d + 1) x K`` float64 partial gradient within
  :data:`~sklearn_softmax._config.PARTIALS_BUDGET`;
* the span of rows one kernel call handles, so that the work array of
  logits stays within :data:`Z_BYTES` however many rows there are;
* the segment table: where each row's entries of each block start.

Beyond its result (the segment table, ``n_blocks + 1`` integers per row) it
allocates only arrays of ``n_features`` counts and int64 copies of slices
of ``max(COUNT_STEP, n_features)`` indices: no temporary grows with the
stored entries.

See :mod:`sklearn_softmax._kernels._csr` for the kernel itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernels
from ._config import CHUNK_MIN_ROWS, PARTIALS_BUDGET

__all__ = [
    "BLOCK_BYTES",
    "COUNT_STEP",
    "MIN_TASKS",
    "Z_BYTES",
    "CsrLayout",
    "csr_layout",
]

#: Bytes of one column block's slice of the coefficients: a fraction of a
#: core's L2 cache, leaving room for the logits and the streamed entries.
BLOCK_BYTES = 512 * 2**10

#: Fewest (row group, column block) tasks of the gradient phase. Blocks
#: capped by width hold fewer entries than the others, and numba hands each
#: thread a contiguous range of tasks: with two row groups or more, the
#: ranges even out (8 tasks: 71 ms an evaluation, 18 tasks: 60 ms, on the
#: benchmark's CSR shape with two threads).
MIN_TASKS = 16

#: Largest work array of logits (float64, rows x classes) of one kernel call.
Z_BYTES = 16 * 2**20

#: Stored entries counted per ``np.bincount`` call. bincount casts int32
#: indices to int64 first: counting all of them at once took a temporary of
#: 8 bytes per entry (400 MB at 5e7 entries), slices of 2**18 take 2 MB, and
#: are no slower (5e6 entries, 20k columns: 20 ms against 45 ms at once).
COUNT_STEP = 2**18


@dataclass(frozen=True)
class CsrLayout:
    """Column blocks, row groups and segments of one CSR matrix.

    Attributes
    ----------
    bounds : ndarray of int64, shape (n_blocks + 1,)
        Column boundaries of the blocks, from 0 to ``n_features``.
    seg : ndarray, shape (n_blocks + 1, n_samples)
        ``seg[b, i]:seg[b + 1, i]`` are the entries of row ``i`` in block
        ``b`` (same integer type as ``indptr``).
    n_groups : int
        Row groups (one partial gradient each) of the gradient phase.
    span : int
        Rows per kernel call, a multiple of
        :data:`~sklearn_softmax._kernels.ROW_CHUNK`.
    """

    bounds: np.ndarray
    seg: np.ndarray
    n_groups: int
    span: int

    @property
    def n_blocks(self):
        """Number of column blocks."""
        return self.bounds.shape[0] - 1


def _column_counts(indices, n_features):
    """Count the stored entries of every column without an int64 copy of indices."""
    counts = np.zeros(n_features, dtype=np.int64)
    # Each call also returns n_features counts: slices at least that long
    # keep adding them up to less than one addition per stored entry.
    step = max(COUNT_STEP, n_features)
    for start in range(0, indices.shape[0], step):
        counts += np.bincount(indices[start : start + step], minlength=n_features)
    return counts


def _block_bounds(indices, n_rows, n_features, n_classes):
    counts = _column_counts(indices, n_features)
    cum = np.zeros(n_features + 1, dtype=np.int64)
    np.cumsum(counts, out=cum[1:])
    total = int(cum[-1])
    width = max(8, BLOCK_BYTES // (8 * n_classes))
    by_cache = -(-n_features // width)
    by_entries = max(1, total // max(1, n_rows) // 4)
    if n_features == 0 or total == 0 or min(by_cache, by_entries) == 1:
        return np.array([0, n_features], dtype=np.int64)
    if by_cache <= by_entries:
        # Equal shares of the entries, but no block wider than the cache
        # allows (popular columns give narrow blocks, rare ones wide).
        share = total / by_cache
        bounds = [0]
        while bounds[-1] < n_features:
            lo = bounds[-1]
            q = int(np.searchsorted(cum, cum[lo] + share, side="left"))
            bounds.append(min(n_features, lo + width, max(lo + 1, q)))
    else:
        # Too few entries per row for cache-sized blocks: equal shares only.
        q = np.searchsorted(cum, total * np.arange(1, by_entries) / by_entries)
        bounds = [0, *sorted({int(x) for x in q if 0 < x < n_features}), n_features]
    return np.asarray(bounds, dtype=np.int64)


def csr_layout(indices, indptr, n_features, n_classes, parallel=True):
    """Choose the column blocks, row groups and span for a CSR matrix.

    Parameters
    ----------
    indices, indptr : ndarray
        CSR structure of the data, column indices sorted within each row.
    n_features : int
        Number of columns.
    n_classes : int
        Number of classes (columns of the coefficient table).
    parallel : bool, default=True
        Compute the segment table on numba's threads.

    Returns
    -------
    layout : CsrLayout

    Raises
    ------
    ValueError
        If the column indices of some row are not sorted.
    """
    n_rows = indptr.shape[0] - 1
    bounds = _block_bounds(indices, n_rows, n_features, n_classes)
    n_blocks = bounds.shape[0] - 1
    seg = np.empty((n_blocks + 1, n_rows), dtype=indptr.dtype)
    kernel = _kernels.csr_segments if parallel else _kernels.csr_segments_serial
    if kernel(indices, indptr, bounds, seg):
        raise ValueError(
            "The CSR column indices must be sorted within each row "
            "(scipy.sparse: X.sort_indices())."
        )
    partial_bytes = 8 * (n_features + 1) * n_classes
    n_groups = max(
        1,
        min(
            -(-MIN_TASKS // n_blocks),
            PARTIALS_BUDGET // partial_bytes,
            n_rows // CHUNK_MIN_ROWS,
        ),
    )
    rows = _kernels.ROW_CHUNK
    span = max(rows, Z_BYTES // (8 * n_classes) // rows * rows)
    return CsrLayout(bounds, seg, int(n_groups), int(span))
