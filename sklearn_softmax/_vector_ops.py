"""Vector operations of the solvers over the parameter vector.

The solvers work on vectors of the length of ``theta`` and never call kernels
themselves; this module picks the parallel kernel or its serial twin for
them, under the same rule the data term follows.
"""

from __future__ import annotations

from . import _kernels
from ._config import parallel_allowed

__all__ = ["axpy_dot_function"]


def axpy_dot_function(parallel):
    """``f(q, a, v, w, parts)``: ``q -= a v`` and the chunked partial sums of ``w . q``.

    Parameters
    ----------
    parallel : bool
        Whether the caller's objective runs parallel kernels; the serial twin
        is used otherwise and wherever parallel kernels may not run (see
        :func:`~sklearn_softmax._config.parallel_allowed`). Both give the
        same bits.

    Returns
    -------
    axpy_dot : callable
    """
    if parallel and parallel_allowed():
        return _kernels.axpy_dot
    return _kernels.axpy_dot_serial
