"""One block of rows resident on a dask worker, and the task that evaluates it.

:class:`BlockTerm` is what a worker keeps between the solver's iterations:
the validated block of ``X`` with its targets and weights, and the row
boundaries of its *pieces*. The pieces are the intersections of the block
with the row chunks the in-memory data term reduces over
(:func:`~sklearn_softmax._config.n_chunks` of the whole data): a block whose
boundaries fall on chunk boundaries has the in-memory chunks as its pieces,
computes their partials with the same kernel, and so gives the same bits.

A block method returns a tuple of *stacks* of partials, one row per piece
(CSR blocks: one row for the block). The driver
(:class:`~sklearn_softmax._dask_data.DaskDataTerm`) combines them in block
order as the in-memory code combines its chunks: 1-D stacks (scalars, such
as the chunk losses) are concatenated and summed with ``numpy.sum``, others
are added up one partial after the other. A new data-term method (a
Hessian-vector product, say) only needs a method here that returns its
stacks, and a one-line method on the driver.

This module runs on the workers, which are started without the driver's
thread settings (and, for process workers, spawned, so the fork guard does
not apply): blocks call the serial kernel twins explicitly.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._arrays import prepare_X, readonly
from ._config import compute_threads
from ._datafit import SoftmaxDataTerm

__all__ = ["BlockTerm", "piece_bounds", "run_block"]


def piece_bounds(offset, n_rows, chunk_bounds):
    """Local row boundaries of a block's pieces.

    Parameters
    ----------
    offset : int
        First row of the block in the whole data.
    n_rows : int
        Rows of the block.
    chunk_bounds : sequence of int
        Row boundaries of the in-memory chunks of the whole data.

    Returns
    -------
    bounds : ndarray of int64
        ``0``, the chunk boundaries inside the block (shifted to it) and
        ``n_rows``; just ``[0]`` for an empty block (no pieces).
    """
    if n_rows == 0:
        return np.zeros(1, dtype=np.int64)
    inner = [b - offset for b in chunk_bounds if offset < b < offset + n_rows]
    return np.asarray([0, *inner, n_rows], dtype=np.int64)


class BlockTerm:
    """The data term of one block of rows, as partials of its pieces.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_rows, n_features)
        Validated block (float64 or float32, C-contiguous when dense).
    targets : Targets
        Targets of the rows of the block.
    sample_weight : ndarray of float64, shape (n_rows,)
        Weights with class weights folded in.
    label_smoothing : float
        Label smoothing of the targets.
    bounds : ndarray of int64
        Piece boundaries (:func:`piece_bounds`).
    """

    def __init__(self, X, targets, sample_weight, label_smoothing, bounds):
        self.bounds = bounds
        self.n_rows = int(bounds[-1])
        self.n_classes = targets.n_classes
        self.sample_weight = readonly(np.asarray(sample_weight, dtype=np.float64))
        sw = self.sample_weight
        self.weight_parts = np.array(
            [sw[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
            dtype=np.float64,
        )
        self.sparse = not isinstance(X, np.ndarray)
        if self.sparse:
            # The in-memory CSR data term on the block, on the serial twins;
            # its CSR layout stays in its workspace between evaluations.
            self._csr = SoftmaxDataTerm(
                X, targets, sw, label_smoothing=label_smoothing, parallel=False
            )
            self.n_features = self._csr.n_features
        else:
            _, (self.X,), self.dtype, (_, self.n_features) = prepare_X(X)
            self.targets = targets
            self.label_smoothing = float(label_smoothing)

    def __sizeof__(self):
        # dask's memory accounting (sizeof falls back to sys.getsizeof).
        if self.sparse:
            X = self._csr.X_args
            nbytes = sum(a.nbytes for a in X)
        else:
            nbytes = self.X.nbytes
        return int(nbytes + 3 * self.sample_weight.nbytes)

    def loss_gradient(self, coef, intercept):
        """Partial losses and gradients of the pieces.

        Returns
        -------
        loss_parts : ndarray of float64, shape (n_parts,)
        grad_parts : ndarray of float64, shape (n_parts, K, d + 1)
            Dense blocks: one entry per piece, bitwise the in-memory chunk
            partials when the piece is a chunk. CSR blocks: one entry, the
            block's own loss and gradient.
        """
        K, d = self.n_classes, self.n_features
        if self.n_rows == 0:
            return np.zeros(0), np.zeros((0, K, d + 1))
        if self.sparse:
            loss, grad = self._csr.loss_gradient(coef, intercept)
            return np.array([loss]), grad[None]
        n_parts = self.bounds.shape[0] - 1
        loss_parts = np.zeros(n_parts)
        G_parts = np.empty((n_parts, K, d + 1))
        W = np.ascontiguousarray(coef, dtype=self.dtype)
        b = np.ascontiguousarray(intercept, dtype=self.dtype)
        t = self.targets
        sw, eps = self.sample_weight, self.label_smoothing
        for p in range(n_parts):
            a, e = int(self.bounds[p]), int(self.bounds[p + 1])
            # One chunk per call over views of the piece: the target pointers
            # stay absolute into t.cls and t.prob, so nothing is copied.
            _kernels.fused_dense_serial(
                self.X[a:e],
                W,
                b,
                t.ptr[a : e + 1],
                t.cls,
                t.prob,
                sw[a:e],
                eps,
                G_parts[p : p + 1],
                loss_parts[p : p + 1],
            )
        return loss_parts, G_parts


def run_block(block, method, args):
    """Run ``block.<method>(*args)`` on a worker with one thread.

    One numba thread and single-threaded BLAS, whatever the worker process
    was started with: dask runs one task per worker thread.
    """
    with compute_threads(1):
        return getattr(block, method)(*args)
