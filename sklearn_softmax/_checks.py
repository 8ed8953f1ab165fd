"""Structural checks of the arrays handed to the kernels.

The numba kernels index without bounds checks: a CSR matrix whose index
arrays are corrupt, or coefficients narrower than the data, would make them
read (or write) outside their buffers. These checks run in vectorised numpy
before any kernel sees the arrays, never copy the data and raise a
:class:`ValueError` that names what is wrong.

This module uses only numpy and scipy.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["check_coef_shapes", "check_csr_structure", "reject_datetime_features"]


def _index_array(a, what, name):
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{name} has a {a.ndim}-D {what} array; it must be 1-D.")
    if a.dtype.kind not in "iu":
        raise ValueError(
            f"{name} has a {what} array of dtype {a.dtype}; it must be of an "
            "integer dtype."
        )
    return a


def _shape(shape, name):
    try:
        n_rows, n_cols = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} has the shape {shape!r}; expected 2 integers."
        ) from None
    if n_rows < 0 or n_cols < 0:
        raise ValueError(f"{name} has the negative shape {(n_rows, n_cols)}.")
    return n_rows, n_cols


def check_csr_structure(data, indices=None, indptr=None, shape=None, *, name="X"):
    """Check that CSR arrays describe a valid matrix, without copying them.

    Parameters
    ----------
    data : ndarray or sparse matrix
        The stored values; or a CSR matrix (or array), whose ``data``,
        ``indices``, ``indptr`` and ``shape`` are checked, in which case the
        other arguments must be omitted.
    indices : ndarray of integers
        Column index of every stored value.
    indptr : ndarray of integers
        Row pointers: the values of row ``i`` are
        ``data[indptr[i]:indptr[i + 1]]``.
    shape : tuple of 2 ints
        ``(n_rows, n_columns)``.
    name : str, default="X"
        Name of the matrix in the error messages.

    Raises
    ------
    ValueError
        If the index arrays are not 1-D integer arrays, ``indptr`` does not
        have ``n_rows + 1`` entries, does not start at 0, decreases somewhere
        or does not end at the number of stored values, if ``data`` and
        ``indices`` differ in length, or if a column index lies outside
        ``[0, n_columns)``. The message names the first offending entry.

    Notes
    -----
    One pass over ``indptr`` and one over ``indices``; the only temporaries
    are of the size of ``indptr``. Duplicate or unsorted column indices within
    a row are valid CSR and are not rejected.
    """
    if sp.issparse(data):
        if not (indices is None and indptr is None and shape is None):
            raise TypeError("Pass either a CSR matrix or its arrays, not both.")
        if data.format != "csr":
            raise ValueError(f"{name} must be in CSR format, got {data.format!r}.")
        data, indices, indptr, shape = data.data, data.indices, data.indptr, data.shape
    n_rows, n_cols = _shape(shape, name)
    data = np.asarray(data)
    indices = _index_array(indices, "column index", name)
    indptr = _index_array(indptr, "index pointer (indptr)", name)
    if data.ndim != 1:
        raise ValueError(f"{name} has a {data.ndim}-D data array; it must be 1-D.")
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(
            f"{name} has an index pointer (indptr) of length {indptr.shape[0]}; "
            f"its {n_rows} rows need {n_rows + 1}."
        )
    nnz = indices.shape[0]
    if data.shape[0] != nnz:
        raise ValueError(
            f"{name} has {data.shape[0]} stored values but {nnz} column indices."
        )
    if indptr[0] != 0:
        raise ValueError(f"{name} has indptr[0] = {indptr[0]}; it must be 0.")
    if indptr[-1] != nnz:
        raise ValueError(
            f"{name} has indptr[-1] = {indptr[-1]} but {nnz} stored values; "
            "they must be equal."
        )
    if n_rows > 1:
        decreasing = indptr[1:] < indptr[:-1]
        if decreasing.any():
            i = int(np.argmax(decreasing))
            raise ValueError(
                f"{name} has a decreasing index pointer: indptr[{i}] = "
                f"{indptr[i]} > indptr[{i + 1}] = {indptr[i + 1]}."
            )
    if nnz == 0:
        return
    # Viewed as unsigned, a negative index becomes huge, so a single max
    # finds indices below 0 and at or above n_cols alike.
    unsigned = indices.view(np.dtype(f"u{indices.dtype.itemsize}"))
    if int(unsigned.max()) >= n_cols:
        outside = (indices < 0) | (indices >= n_cols)
        p = int(np.argmax(outside))
        raise ValueError(
            f"{name} has a column index {indices[p]} at position {p} outside "
            f"[0, {n_cols})."
        )


def check_coef_shapes(
    coef, intercept, n_features, n_classes=None, *, names=("coef", "intercept")
):
    """Check that coefficients and intercepts fit the data and each other.

    Parameters
    ----------
    coef : ndarray
        Expected of shape ``(n_rows, n_features)``.
    intercept : ndarray
        Expected of shape ``(n_rows,)``.
    n_features : int
        Number of features of the data the coefficients are applied to.
    n_classes : int, optional
        Number of classes; when given, ``coef`` must have 1 row for 2 classes
        (scikit-learn's binary convention) and ``n_classes`` rows otherwise.
    names : tuple of 2 str, default=("coef", "intercept")
        Names of the two arrays in the error messages.

    Raises
    ------
    ValueError
        If a shape does not match.
    """
    coef_name, intercept_name = names
    coef_shape, intercept_shape = np.shape(coef), np.shape(intercept)
    if len(coef_shape) != 2:
        raise ValueError(
            f"{coef_name} must be 2-D, got an array of shape {coef_shape}."
        )
    n_rows, n_cols = coef_shape
    if n_cols != n_features:
        raise ValueError(
            f"{coef_name} has {n_cols} columns but the data has {n_features} features."
        )
    if intercept_shape != (n_rows,):
        raise ValueError(
            f"{intercept_name} has shape {intercept_shape} but {coef_name} has "
            f"{n_rows} rows: one intercept per row is needed."
        )
    if n_classes is not None:
        expected = 1 if n_classes == 2 else n_classes
        if n_rows != expected:
            raise ValueError(
                f"{coef_name} has {n_rows} rows but {n_classes} classes need "
                f"{expected}."
            )


def reject_datetime_features(X):
    """Raise a TypeError naming a datetime or timedelta column of ``X``.

    numpy cannot promote such a column together with numeric ones (an
    obscure ``DTypePromotionError``), and alone it would silently become
    nanoseconds since the epoch.
    """
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        columns = zip(X.columns, X.dtypes, strict=False)
    elif getattr(X, "dtype", None) is not None:
        columns = [(getattr(X, "name", None), X.dtype)]
    else:
        return
    for name, dtype in columns:
        if getattr(dtype, "kind", None) in ("M", "m"):
            what = "X" if name is None else f"X column {name!r}"
            raise TypeError(
                f"{what} has dtype {dtype}; the model needs numeric "
                "features: convert dates and durations to numbers first (for "
                "example with .astype('int64') or by extracting features)."
            )
