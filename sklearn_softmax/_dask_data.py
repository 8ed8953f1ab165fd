"""The data term of a dask collection: kernels on the workers, combine on the driver.

:class:`DaskDataTerm` provides the data-term interface
(:class:`~sklearn_softmax._datafit.SoftmaxDataTerm`'s attributes and
``loss_gradient``) for blocks of rows that live on a ``dask.distributed``
cluster, so that :meth:`SoftmaxObjective.from_parts
<sklearn_softmax._objective.SoftmaxObjective.from_parts>` assembles the same
objective, penalty and normalisation included, and every solver runs
unchanged on the driver.

Every evaluation sends the parameters (once per worker when they are large),
runs one task per block where the block lives, gathers the partials and
combines them in block order (see :mod:`sklearn_softmax._dask_block`). The
blocks are futures of tasks computed from the user's graph, so a block lost
with its worker is recomputed from that graph.
"""

from __future__ import annotations

import numpy as np

from ._config import PARTIALS_BUDGET
from ._dask_block import run_block

__all__ = ["DaskDataTerm", "combine_stacks"]

#: Parameters at least this large are scattered to every worker once per
#: evaluation instead of travelling inside every block's task.
BROADCAST_BYTES = 2**20


def combine_stacks(results):
    """Combine the stacks of partials of every block, in block order.

    Parameters
    ----------
    results : list of tuple of ndarray
        What a :class:`~sklearn_softmax._dask_block.BlockTerm` method
        returned for each block, in block order.

    Returns
    -------
    combined : list of ndarray
        1-D stacks concatenated (the caller sums them as the in-memory code
        sums its chunk scalars); other stacks added partial after partial,
        in order, as :func:`~sklearn_softmax._kernels.sum_partials` adds the
        chunk partials.
    """
    combined = []
    for i in range(len(results[0])):
        stacks = [r[i] for r in results]
        if stacks[0].ndim == 1:
            combined.append(np.concatenate(stacks))
            continue
        total = None
        for stack in stacks:
            for part in stack:
                if total is None:
                    total = np.array(part, dtype=np.float64)
                else:
                    total += part
        combined.append(total)
    return combined


class DaskDataTerm:
    """Weighted multinomial cross-entropy of blocks resident on a cluster.

    Built by :func:`sklearn_softmax._dask_validate.dask_data_term`; the
    blocks are released when the data term is closed, or collected (the
    futures then tell the scheduler themselves, without blocking).

    Parameters
    ----------
    client : distributed.Client
        The client whose cluster holds the blocks.
    blocks : list of distributed.Future
        The :class:`~sklearn_softmax._dask_block.BlockTerm` of every block,
        in row order.
    part_counts : list of int
        Number of partials each block returns (to bound what is gathered at
        once).
    n_samples, n_features, n_classes : int
    sw_sum : float
        Total weight, summed over the pieces in order.
    dtype : numpy dtype
    sparse : bool
    """

    #: The driver's own vector work (the two-loop recursion) may use threads.
    parallel = True

    def __init__(
        self,
        client,
        blocks,
        part_counts,
        *,
        n_samples,
        n_features,
        n_classes,
        sw_sum,
        dtype,
        sparse,
    ):
        self.client = client
        self.blocks = list(blocks)
        self.part_counts = list(part_counts)
        self.n_samples = int(n_samples)
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)
        self.sw_sum = float(sw_sum)
        self.dtype = np.dtype(dtype)
        self.sparse = bool(sparse)
        self.n_evaluations = 0

    def close(self):
        """Release the blocks on the cluster."""
        blocks, self.blocks = self.blocks, []
        if blocks:
            self.client.cancel(blocks)

    def _batches(self, partial_size):
        # Gather at most PARTIALS_BUDGET bytes of partials at a time (at
        # least one block), so that the driver never holds all of them.
        batch, size = [], 0
        for i, count in enumerate(self.part_counts):
            nbytes = 8 * partial_size * max(count, 1)
            if batch and size + nbytes > PARTIALS_BUDGET:
                yield batch
                batch, size = [], 0
            batch.append(i)
            size += nbytes
        if batch:
            yield batch

    def evaluate(self, method, *args):
        """Run a :class:`~sklearn_softmax._dask_block.BlockTerm` method on every block.

        Parameters
        ----------
        method : str
            Name of the block method.
        *args : ndarray
            Its arguments (the parameters), sent once per evaluation.

        Returns
        -------
        combined : list of ndarray
            See :func:`combine_stacks`.
        """
        client = self.client
        payload = tuple(np.ascontiguousarray(a) for a in args)
        scattered = None
        if sum(a.nbytes for a in payload) >= BROADCAST_BYTES:
            # One copy per worker instead of one per block's task.
            [scattered] = client.scatter([payload], broadcast=True, hash=False)
            payload = scattered
        partial_size = self.n_classes * (self.n_features + 1)
        try:
            # pure=False: the same parameters at a later iteration (a line
            # search returning to a point) must run again, not reuse a key.
            futures = client.map(
                run_block,
                self.blocks,
                method=method,
                args=payload,
                pure=False,
            )
            results = []
            for batch in self._batches(partial_size):
                results.extend(client.gather([futures[i] for i in batch]))
            del futures
        finally:
            if scattered is not None:
                client.cancel([scattered])
        self.n_evaluations += 1
        return combine_stacks(results)

    def loss_gradient(self, coef, intercept):
        """Return ``sum_i s_i CE_i`` and its gradient, shape ``(K, d + 1)``."""
        loss_parts, grad = self.evaluate(
            "loss_gradient", np.asarray(coef), np.asarray(intercept)
        )
        return float(loss_parts.sum()), grad
