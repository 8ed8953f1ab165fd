"""How the CSR kernel splits a sparse matrix: column blocks, row groups, spans.

:func:`csr_layout` looks at the matrix once per fit and decides, from the
data and the cache sizes of the machine (:mod:`sklearn_softmax._cpu_caches`),
never from the thread count, so results do not depend on it:

* the column blocks: as many as it takes for one block's slice of the
  ``d x K`` coefficient table to fit in :func:`block_bytes`, with boundaries
  placed so that the blocks hold about the same number of stored entries.
  Each block costs a loop start per row and another read of the span's
  logits, so there are at most a quarter as many blocks as stored entries
  per row;
* the row groups of the gradient phase: enough (row group, column block)
  tasks to share out (:data:`MIN_TASKS`), each extra group costing one
  ``(d + 1) x K`` float64 partial gradient within :func:`partials_budget`;
* the span of rows one kernel call handles, so that the work array of
  logits stays within :func:`span_bytes` however many rows there are;
* the segment table: where each row's entries of each block start.

The same matrix may therefore be split differently on machines with other
caches, and the gradient differ there in its last bits (the order of the
sums of the row groups), as BLAS results do; on one machine it is the same
for every ``n_jobs``.

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
from ._cpu_caches import cache_sizes

__all__ = [
    "COUNT_STEP",
    "ENTRIES_PER_BLOCK",
    "MIN_SPLIT_TASKS",
    "MIN_TASKS",
    "Z_BYTES",
    "CsrLayout",
    "block_bytes",
    "csr_layout",
    "partials_budget",
    "span_bytes",
]

#: Fewest (row group, column block) tasks of the gradient phase. Blocks
#: capped by width hold fewer entries than the others, and numba hands each
#: thread a contiguous range of tasks: with two row groups or more, the
#: ranges even out (8 tasks: 71 ms an evaluation, 18 tasks: 60 ms, on the
#: benchmark's CSR shape with two threads).
MIN_TASKS = 16

#: Fewest gradient tasks worth more column blocks than the cache needs: when
#: the partials' budget holds fewer row groups, the columns are split into
#: this many blocks (within the limit of entries per row), so that the
#: gradient phase of a wide table with many classes does not run on one
#: thread. Blocks beyond the cache's cost a read of the logits each, hence
#: fewer than :data:`MIN_TASKS`.
MIN_SPLIT_TASKS = 4

#: Largest work array of logits (float64, rows x classes) of one kernel call,
#: whatever the caches: a bound on memory.
Z_BYTES = 16 * 2**20

#: Fewest stored entries per row for each column block.
ENTRIES_PER_BLOCK = 4

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


def block_bytes(caches):
    """Bytes of one column block's slice of the ``d x K`` tables.

    The logits phase gathers rows of the coefficient slice and the gradient
    phase scatters into a slice of a partial gradient, one per thread at a
    time; the slices must stay in cache while the rows stream past. Each
    extra block costs a loop start per row and another read of the span's
    logits, which on a CPU whose last-level cache answers quickly outweighs
    what a slice in L2 saves. The slice is therefore a quarter of a core's
    share of the L3 cache (half of L2 without one, or if that is larger).

    Parameters
    ----------
    caches : CacheSizes

    Returns
    -------
    nbytes : int
    """
    return max(caches.l2 // 2, caches.l3_share // 4)


def partials_budget(caches):
    """Bytes allowed for the row groups' partial gradients.

    Every stored entry scatters a row into its group's partial: all of them
    within half the L3 cache keep those writes in cache, and never more than
    :data:`~sklearn_softmax._config.PARTIALS_BUDGET` of memory.

    Parameters
    ----------
    caches : CacheSizes

    Returns
    -------
    nbytes : int
    """
    if caches.l3 <= 0:
        return PARTIALS_BUDGET
    return min(PARTIALS_BUDGET, caches.l3 // 2)


def span_bytes(caches):
    """Bytes of the logits of one kernel call (rows x classes, float64).

    The gradient phase reads the span's logits once per column block: half
    the L3 cache keeps them there (at least L2, at most :data:`Z_BYTES`).

    Parameters
    ----------
    caches : CacheSizes

    Returns
    -------
    nbytes : int
    """
    return min(Z_BYTES, max(caches.l2, caches.l3 // 2))


def _column_counts(indices, n_features):
    """Count the stored entries of every column without an int64 copy of indices."""
    counts = np.zeros(n_features, dtype=np.int64)
    # Each call also returns n_features counts: slices at least that long
    # keep adding them up to less than one addition per stored entry.
    step = max(COUNT_STEP, n_features)
    for start in range(0, indices.shape[0], step):
        counts += np.bincount(indices[start : start + step], minlength=n_features)
    return counts


def _block_bounds(indices, n_rows, n_features, n_classes, slice_bytes, min_blocks):
    counts = _column_counts(indices, n_features)
    cum = np.zeros(n_features + 1, dtype=np.int64)
    np.cumsum(counts, out=cum[1:])
    total = int(cum[-1])
    width = max(8, slice_bytes // (8 * n_classes))
    by_cache = max(min_blocks, -(-n_features // width))
    by_entries = max(1, total // max(1, n_rows) // ENTRIES_PER_BLOCK)
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


def csr_layout(indices, indptr, n_features, n_classes, parallel=True, caches=None):
    """Choose the column blocks, row groups and span for a CSR matrix.

    A pure function of the data and ``caches``: the thread count (and
    ``parallel``) never changes the result.

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
    caches : CacheSizes, optional
        Cache sizes to size the blocks, groups and span for; by default the
        machine's (:func:`~sklearn_softmax._cpu_caches.cache_sizes`).

    Returns
    -------
    layout : CsrLayout

    Raises
    ------
    ValueError
        If the column indices of some row are not sorted.
    """
    if caches is None:
        caches = cache_sizes()
    n_rows = indptr.shape[0] - 1
    partial_bytes = 8 * (n_features + 1) * n_classes
    by_memory = max(1, partials_budget(caches) // partial_bytes)
    # When few partials fit, column blocks give the gradient phase its tasks.
    min_blocks = -(-MIN_SPLIT_TASKS // by_memory)
    bounds = _block_bounds(
        indices, n_rows, n_features, n_classes, block_bytes(caches), min_blocks
    )
    n_blocks = bounds.shape[0] - 1
    seg = np.empty((n_blocks + 1, n_rows), dtype=indptr.dtype)
    kernel = _kernels.csr_segments if parallel else _kernels.csr_segments_serial
    if kernel(indices, indptr, bounds, seg):
        raise ValueError(
            "The CSR column indices must be sorted within each row "
            "(scipy.sparse: X.sort_indices())."
        )
    n_groups = max(
        1,
        min(
            -(-MIN_TASKS // n_blocks),
            by_memory,
            n_rows // CHUNK_MIN_ROWS,
        ),
    )
    rows = _kernels.ROW_CHUNK
    span = max(rows, span_bytes(caches) // (8 * n_classes) // rows * rows)
    return CsrLayout(bounds, seg, int(n_groups), int(span))
