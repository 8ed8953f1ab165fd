"""Row-parallel kernels for prediction: linear predictor and (log-)softmax.

Every row is computed by one thread in a fixed order, so the results do not
depend on the number of threads.
"""

import numpy as np
from numba import prange

from .._config import jit


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


@jit
def _row_max(z):
    """Return the largest entry of ``z``, or NaN when ``z`` holds a NaN."""
    m = -np.inf
    for k in range(z.shape[0]):
        v = z[k]
        if v != v:
            return v
        m = v if v > m else m
    return m


def _log_softmax_rows(Z):
    n, n_classes = Z.shape
    for i in prange(n):
        z = np.empty(n_classes)
        for k in range(n_classes):
            z[k] = Z[i, k]
        m = _row_max(z)
        if np.isfinite(m):
            # (z - m) - log(s), not z - (m + log(s)): m + log(s) is rounded
            # to the spacing of m, an absolute error that reaches 0.06 at
            # |m| = 1e15, whereas z - m is exact for the largest logits.
            # z - m goes through memory between two loops: in one
            # expression, the reassoc flag would let LLVM turn it back into
            # z - (m + log(s)).
            s = 0.0
            for k in range(n_classes):
                d = z[k] - m
                z[k] = d
                s += np.exp(d)
            log_s = np.log(s)
            for k in range(n_classes):
                Z[i, k] = z[k] - log_s
        elif m == m:
            # An infinite maximum: the entries equal to it share the mass.
            count = 0
            for k in range(n_classes):
                count += z[k] == m
            log_share = -np.log(np.float64(count))
            for k in range(n_classes):
                Z[i, k] = log_share if z[k] == m else -np.inf
        else:
            for k in range(n_classes):
                Z[i, k] = np.nan


def _softmax_rows(Z):
    n, n_classes = Z.shape
    for i in prange(n):
        z = np.empty(n_classes)
        for k in range(n_classes):
            z[k] = Z[i, k]
        m = _row_max(z)
        if np.isfinite(m):
            # exp(z - m) / s, not exp(z - logsumexp(z)): the rounding of
            # m + log(s) to the spacing of m would scale every probability
            # by up to exp(0.06) at |m| = 1e15. Here each probability is
            # exact to a few ulp and the row sums to 1 to rounding.
            s = 0.0
            for k in range(n_classes):
                e = np.exp(z[k] - m)
                z[k] = e
                s += e
            for k in range(n_classes):
                Z[i, k] = z[k] / s
        elif m == m:
            # An infinite maximum: the entries equal to it share the mass.
            count = 0
            for k in range(n_classes):
                count += z[k] == m
            share = 1.0 / count
            for k in range(n_classes):
                Z[i, k] = share if z[k] == m else 0.0
        else:
            for k in range(n_classes):
                Z[i, k] = np.nan


#: ``out[i, k] = X[i] @ W[k] + b[k]`` for dense ``X`` (accumulated in float64).
linear_dense = jit(_linear_dense, parallel=True)
linear_dense_serial = jit(_linear_dense)

#: ``out[i, k] = X[i] @ WT[:, k] + b[k]`` for CSR ``X`` given as its arrays.
linear_csr = jit(_linear_csr, parallel=True)
linear_csr_serial = jit(_linear_csr)

#: In place: every row of ``Z`` becomes its log-softmax
#: ``(z - max(z)) - log(sum(exp(z - max(z))))``. A row with an infinite
#: maximum puts ``-log(c)`` on its ``c`` entries equal to the maximum and
#: ``-inf`` elsewhere; a row with a NaN becomes NaN.
log_softmax_rows = jit(_log_softmax_rows, parallel=True)
log_softmax_rows_serial = jit(_log_softmax_rows)

#: In place: every row of ``Z`` becomes its softmax
#: ``exp(z - max(z)) / sum(exp(z - max(z)))``. A row with an infinite maximum
#: puts ``1 / c`` on its ``c`` entries equal to the maximum and 0 elsewhere;
#: a row with a NaN becomes NaN.
softmax_rows = jit(_softmax_rows, parallel=True)
softmax_rows_serial = jit(_softmax_rows)
