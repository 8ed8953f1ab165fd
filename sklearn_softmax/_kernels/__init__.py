"""Pure numba kernels: softmax, fused loss/gradient, Hessian-vector products.

This layer imports only numpy, numba and the package's numba policy
(:mod:`sklearn_softmax._config`). Every parallel kernel has a serial twin
(suffix ``_serial``) compiled from the same source, which releases the GIL and
suits small minibatches and per-block calls from a distributed scheduler.
The SGD epoch kernels are serial by nature (each minibatch starts from the
previous update).
Kernels write into preallocated outputs.
"""

from ._csr import (
    ROW_CHUNK,
    csr_segments,
    csr_segments_serial,
    fused_csr,
    fused_csr_serial,
)
from ._fused import (
    fused_dense,
    fused_dense_serial,
    sum_partials,
    sum_partials_serial,
)
from ._hessp import (
    fused_dense_keep,
    fused_dense_keep_serial,
    hessp_csr,
    hessp_csr_serial,
    hessp_dense,
    hessp_dense_serial,
    keep_probabilities,
    keep_probabilities_serial,
)
from ._predict import (
    linear_csr,
    linear_csr_serial,
    linear_dense,
    linear_dense_serial,
    log_softmax_rows,
    log_softmax_rows_serial,
    softmax_rows,
    softmax_rows_serial,
)
from ._rows import block_residual, row_logsumexp, row_residual
from ._sgd import sgd_epoch_csr, sgd_epoch_dense
from ._vectors import axpy_dot, axpy_dot_serial

__all__ = [
    "ROW_CHUNK",
    "csr_segments",
    "csr_segments_serial",
    "axpy_dot",
    "axpy_dot_serial",
    "block_residual",
    "fused_csr",
    "fused_csr_serial",
    "fused_dense",
    "fused_dense_serial",
    "fused_dense_keep",
    "fused_dense_keep_serial",
    "hessp_csr",
    "hessp_csr_serial",
    "hessp_dense",
    "hessp_dense_serial",
    "keep_probabilities",
    "keep_probabilities_serial",
    "linear_csr",
    "linear_csr_serial",
    "linear_dense",
    "linear_dense_serial",
    "log_softmax_rows",
    "log_softmax_rows_serial",
    "softmax_rows",
    "softmax_rows_serial",
    "row_logsumexp",
    "row_residual",
    "sgd_epoch_csr",
    "sgd_epoch_dense",
    "sum_partials",
    "sum_partials_serial",
]
