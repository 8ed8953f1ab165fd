"""Kernel arguments: read-only arrays, target rows and the form of ``X``.

Everything a kernel reads is prepared here once, so that the data term, the
predictions and the SGD epochs hand the kernels the same layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._checks import check_csr_structure

__all__ = ["Targets", "prepare_X", "readonly"]


def readonly(a):
    """Return a read-only view of ``a`` (no copy).

    Kernels always receive read-only inputs, so that writable and read-only
    arrays (memory maps, shared buffers) share one compiled signature.
    """
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Targets:
    """Target distributions of the rows in compressed sparse row form.

    Row ``i`` puts probability ``prob[ptr[i]:ptr[i + 1]]`` on the classes
    ``cls[ptr[i]:ptr[i + 1]]``. Hard labels use one entry per row.

    Attributes
    ----------
    ptr : ndarray of int64, shape (n_samples + 1,)
    cls : ndarray of int64
    prob : ndarray of float64
    n_classes : int
    """

    ptr: np.ndarray
    cls: np.ndarray
    prob: np.ndarray
    n_classes: int

    @classmethod
    def from_labels(cls, y, n_classes):
        """Targets for integer labels in ``[0, n_classes)``."""
        y = np.asarray(y, dtype=np.int64)
        n = y.shape[0]
        return cls(
            ptr=readonly(np.arange(n + 1, dtype=np.int64)),
            cls=readonly(y.copy()),
            prob=readonly(np.ones(n, dtype=np.float64)),
            n_classes=int(n_classes),
        )

    @classmethod
    def from_proba(cls, Y):
        """Targets for a dense matrix of row distributions ``(n, K)``."""
        Y = np.asarray(Y, dtype=np.float64)
        n, k = Y.shape
        return cls(
            ptr=readonly(np.arange(0, n * k + 1, k, dtype=np.int64)),
            cls=readonly(np.tile(np.arange(k, dtype=np.int64), n)),
            prob=readonly(np.ascontiguousarray(Y).ravel().copy()),
            n_classes=int(k),
        )

    @property
    def n_samples(self):
        """Number of rows."""
        return self.ptr.shape[0] - 1

    def take(self, rows):
        """Targets of the given rows, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, stops = self.ptr[rows], self.ptr[rows + 1]
        lengths = stops - starts
        ptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        idx = np.repeat(starts - ptr[:-1], lengths) + np.arange(ptr[-1])
        return Targets(
            readonly(ptr),
            readonly(self.cls[idx]),
            readonly(self.prob[idx]),
            self.n_classes,
        )


def prepare_X(X, sort_indices=False):
    """Kernel arguments for ``X``: a read-only dense array or CSR arrays.

    The structure of CSR data is checked first (the kernels index without
    bounds checks; see :func:`~sklearn_softmax._checks.check_csr_structure`).
    With ``sort_indices=True``, CSR data whose column indices are not sorted
    within each row (which the fused CSR kernel needs) is replaced by a sorted
    copy; ``X`` itself is never modified.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X) if X.format != "csr" else X
        check_csr_structure(X.data, X.indices, X.indptr, X.shape, name="X")
        if sort_indices and not X.has_sorted_indices:
            X = X.sorted_indices()
        return (
            True,
            (readonly(X.data), readonly(X.indices), readonly(X.indptr)),
            X.dtype,
            X.shape,
        )
    return False, (readonly(X),), X.dtype, X.shape
