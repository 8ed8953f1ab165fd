"""Prediction arithmetic: linear predictor and (log-)softmax through kernels.

Overflowing rows
----------------
The logits of a finite sample can still overflow: ``x @ w`` is above the
float range for ``|x|`` near ``1e308``, and the products of opposite signs
then add up to ``inf - inf = NaN``. :func:`logits` recomputes such rows with
the sample and the coefficients divided by powers of two (exact), where
nothing overflows, and returns either those logits scaled back (``+-inf``
where they leave the float range, never NaN) or the same logits shifted so
that their maximum is 0: softmax, log-softmax and argmax of the shifted row
are those of the exact logits, and differences below the float range become
``-inf``, probability 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _kernels
from ._arrays import prepare_X
from ._checks import check_coef_shapes
from ._config import CHUNK_MIN_ROWS, parallel_allowed

__all__ = ["linear_predictor", "logits", "log_softmax", "softmax"]


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
        May hold ``+-inf`` or NaN where a row's products overflow; see
        :func:`logits`.

    Raises
    ------
    ValueError
        If ``coef`` does not have ``n_features`` columns, ``intercept`` does
        not have one entry per row of ``coef``, or the CSR structure of ``X``
        is corrupt: the kernels index without bounds checks.
    """
    # prepare_X checks the CSR structure.
    sparse, X_args, dtype, (n, d) = prepare_X(X)
    check_coef_shapes(coef, intercept, d)
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


def _pow2_scale(v):
    """Return a power of two in ``(v / 2, v]`` (elementwise), at least 1.

    ``v / scale`` is then below 2 and exact; the power of two just above
    ``v`` could be ``2**1024``, which is not a float.
    """
    _, e = np.frexp(v)
    return np.ldexp(1.0, np.maximum(e - 1, 0))


def _rescaled(X, coef, intercept, shift):
    """Logits of the rows of ``X`` computed without overflow, in float64.

    With ``s = sx * sw`` (powers of two, ``sx > max_j |x_j| / 2`` per row,
    ``sw > max |coef|, |intercept| / 2``, both at least 1), the logits are
    ``s * z'`` with ``z' = (x / sx) @ (coef / sw).T + intercept / sw / sx``,
    all of whose terms lie in ``(-4, 4)``.
    """
    sw = float(
        _pow2_scale(
            max(np.abs(coef).max(initial=0.0), np.abs(intercept).max(initial=0.0))
        )
    )
    if sp.issparse(X):
        Xs = X.astype(np.float64)  # a copy: the rows are divided in place
        sx = _pow2_scale(abs(Xs).max(axis=1).toarray().ravel())
        Xs.data /= np.repeat(sx, np.diff(Xs.indptr))
    else:
        X = np.asarray(X, dtype=np.float64)
        sx = _pow2_scale(np.abs(X).max(axis=1, initial=0.0))
        Xs = X / sx[:, None]
    coef_s = np.asarray(coef, dtype=np.float64) / sw
    Z = linear_predictor(Xs, coef_s, np.zeros(coef_s.shape[0]))
    Z += (np.asarray(intercept, dtype=np.float64) / sw)[None, :] / sx[:, None]
    if shift:
        Z -= Z.max(axis=1, keepdims=True)
    # Two products: sw * sx alone could overflow where z' * sw * sx does not.
    Z *= sw
    Z *= sx[:, None]
    return Z


def logits(X, coef, intercept, shift=True):
    """Logits ``X @ coef.T + intercept`` that are never NaN for finite inputs.

    Rows whose logits come out non-finite (the products overflow) are
    recomputed with ``X`` and the coefficients scaled down, as the module
    docstring describes. Rows that do not overflow are those of
    :func:`linear_predictor`, bit for bit.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Float32 or float64 data, validated by the caller.
    coef : ndarray of shape (K, n_features)
    intercept : ndarray of shape (K,)
    shift : bool, default=True
        Whether recomputed rows are shifted to a maximum of 0 (exact softmax,
        log-softmax and argmax, ``-inf`` for differences below the float
        range) or returned unshifted (``+-inf`` for logits beyond it).

    Returns
    -------
    Z : ndarray of shape (n_samples, K)
        In the dtype of ``X``. Non-finite ``coef`` or ``intercept`` are not
        rescued: their rows keep what IEEE arithmetic gives.
    """
    Z = linear_predictor(X, coef, intercept)
    with np.errstate(over="ignore", invalid="ignore"):
        # Leaving the float range is the expected outcome here, not an accident.
        return _rescue(Z, X, coef, intercept, shift)


def _rescue(Z, X, coef, intercept, shift):
    # A row sum is non-finite when any entry is (or when finite entries add
    # up beyond the float range, which the rescue handles just as well); it
    # avoids a boolean temporary of the size of Z.
    bad = np.flatnonzero(~np.isfinite(Z.sum(axis=1, dtype=np.float64)))
    if bad.size and np.isfinite(coef).all() and np.isfinite(intercept).all():
        Z[bad] = _rescaled(X[bad], coef, intercept, shift)
    return Z


def log_softmax(Z):
    """Replace every row of ``Z`` by its log-softmax, in place, and return it.

    A row with a finite maximum gets ``(z - max z) - log(sum(exp(z - max z)))``
    (finite wherever ``z`` is); a row whose maximum is ``+inf`` (or all of
    whose entries are ``-inf``) gets ``-log(c)`` on the ``c`` entries equal to
    the maximum and ``-inf`` elsewhere; a row holding a NaN becomes NaN.
    """
    if _parallel(Z.shape[0]):
        _kernels.log_softmax_rows(Z)
    else:
        _kernels.log_softmax_rows_serial(Z)
    return Z


def softmax(Z):
    """Replace every row of ``Z`` by its softmax, in place, and return it.

    A row with a finite maximum gets ``exp(z - max z) / sum(exp(z - max z))``,
    which sums to 1 to rounding at any magnitude; a row whose maximum is
    ``+inf`` (or all of whose entries are ``-inf``) puts ``1 / c`` on the
    ``c`` entries equal to the maximum and 0 elsewhere; a row holding a NaN
    becomes NaN.
    """
    if _parallel(Z.shape[0]):
        _kernels.softmax_rows(Z)
    else:
        _kernels.softmax_rows_serial(Z)
    return Z
