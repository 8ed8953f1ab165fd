"""Prediction arithmetic: linear predictor and (log-)softmax through kernels."""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._arrays import prepare_X
from ._config import CHUNK_MIN_ROWS, parallel_allowed

__all__ = ["linear_predictor", "log_softmax", "softmax"]


def _parallel(n_rows):
    # Rows are independent, so either twin gives the same bits; below one
    # chunk's worth of rows a thread launch costs more than it saves.
    return n_rows >= CHUNK_MIN_ROWS and parallel_allowed()


def linear_predictor(X, coef, intercept):
    """Return ``X @ coef.T + intercept`` in the dtype of ``X``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Float32 or float64 data, validated by the caller.
    coef : ndarray of shape (K, n_features)
    intercept : ndarray of shape (K,)

    Returns
    -------
    Z : ndarray of shape (n_samples, K)
    """
    sparse, X_args, dtype, (n, _) = prepare_X(X)
    coef = np.asarray(coef, dtype=dtype)
    b = np.ascontiguousarray(intercept, dtype=dtype)
    out = np.empty((n, coef.shape[0]), dtype=dtype)
    par = _parallel(n)
    if sparse:
        kernel = _kernels.linear_csr if par else _kernels.linear_csr_serial
        kernel(*X_args, np.ascontiguousarray(coef.T), b, out)
    else:
        kernel = _kernels.linear_dense if par else _kernels.linear_dense_serial
        kernel(*X_args, np.ascontiguousarray(coef), b, out)
    return out


def log_softmax(Z):
    """Replace every row of ``Z`` by its log-softmax, in place, and return it."""
    if _parallel(Z.shape[0]):
        _kernels.log_softmax_rows(Z)
    else:
        _kernels.log_softmax_rows_serial(Z)
    return Z


def softmax(Z):
    """Replace every row of ``Z`` by its softmax, in place, and return it."""
    if _parallel(Z.shape[0]):
        _kernels.softmax_rows(Z)
    else:
        _kernels.softmax_rows_serial(Z)
    return Z
