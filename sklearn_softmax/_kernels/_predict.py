"""Row-parallel kernels for prediction: linear predictor and (log-)softmax.

Every row is computed by one thread in a fixed order, so the results do not
depend on the number of threads.
"""

import numpy as np
from numba import prange

from .._config import jit
from ._rows import row_logsumexp


def _linear_dense(X, W, b, out):
    n, d = X.shape
    for i in prange(n):
        for k in range(W.shape[0]):
            acc = 0.0
            for j in range(d):
                acc += X[i, j] * W[k, j]
            out[i, k] = acc + b[k]


def _linear_csr(data, indices, indptr, WT, b, out):
    n = indptr.shape[0] - 1
    n_classes = WT.shape[1]
    for i in prange(n):
        z = np.zeros(n_classes)
        for p in range(indptr[i], indptr[i + 1]):
            v = data[p]
            j = indices[p]
            for k in range(n_classes):
                z[k] += v * WT[j, k]
        for k in range(n_classes):
            out[i, k] = z[k] + b[k]


def _log_softmax_rows(Z):
    n, n_classes = Z.shape
    for i in prange(n):
        z = np.empty(n_classes)
        for k in range(n_classes):
            z[k] = Z[i, k]
        lse = row_logsumexp(z)
        for k in range(n_classes):
            Z[i, k] = z[k] - lse


def _softmax_rows(Z):
    n, n_classes = Z.shape
    for i in prange(n):
        z = np.empty(n_classes)
        for k in range(n_classes):
            z[k] = Z[i, k]
        lse = row_logsumexp(z)
        for k in range(n_classes):
            Z[i, k] = np.exp(z[k] - lse)


#: ``out[i, k] = X[i] @ W[k] + b[k]`` for dense ``X`` (accumulated in float64).
linear_dense = jit(_linear_dense, parallel=True)
linear_dense_serial = jit(_linear_dense)

#: ``out[i, k] = X[i] @ WT[:, k] + b[k]`` for CSR ``X`` given as its arrays.
linear_csr = jit(_linear_csr, parallel=True)
linear_csr_serial = jit(_linear_csr)

#: In place: every row of ``Z`` becomes its log-softmax ``z - logsumexp(z)``.
log_softmax_rows = jit(_log_softmax_rows, parallel=True)
log_softmax_rows_serial = jit(_log_softmax_rows)

#: In place: every row of ``Z`` becomes its softmax.
softmax_rows = jit(_softmax_rows, parallel=True)
softmax_rows_serial = jit(_softmax_rows)
