"""Dask input: how it is recognised, and lazy predictions on it.

Imported by every install: nothing here imports dask at module level, and
:func:`is_dask_collection` looks only at the type of its argument, so that
numpy input never loads dask.
"""

from __future__ import annotations

import copy
import functools
import sys

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["dask_aware", "is_dask_collection", "lazy_predict"]


def is_dask_collection(obj):
    """Whether ``obj`` is a dask collection (array, DataFrame, Series).

    Without dask imported nothing can be one, and the test does not import
    it.
    """
    if "dask" not in sys.modules:
        return False
    module = type(obj).__module__ or ""
    return module == "dask" or module.startswith("dask.")


def is_dask_dataframe(obj):
    """Whether ``obj`` is a dask DataFrame or Series (it has a pandas meta)."""
    return is_dask_collection(obj) and hasattr(obj, "divisions")


def dask_aware(method):
    """Make a prediction method return a lazy dask array for dask input."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if is_dask_collection(X):
            return lazy_predict(self, X, name)
        return method(self, X, *args, **kwargs)

    return wrapper


def _predict_block(block, estimator, method):
    return getattr(estimator, method)(block)


def lazy_predict(estimator, X, method):
    """``estimator.<method>`` of every block of ``X``, as a lazy dask array.

    The checks that need no data (fitted state, number of features, feature
    names) run now and raise or warn as for data in memory; the blocks are
    predicted by a copy of the estimator shipped with the graph, on one
    thread (dask runs one task per worker thread).

    Parameters
    ----------
    estimator : fitted estimator
    X : dask Array or DataFrame of shape (n_samples, n_features)
    method : str
        ``"predict"``, ``"predict_proba"``, ``"predict_log_proba"`` or
        ``"decision_function"``.

    Returns
    -------
    result : dask.array.Array
        Row chunks of ``X`` (a DataFrame's partitions; their lengths unknown).
    """
    import dask.array as da

    check_is_fitted(estimator)
    if is_dask_dataframe(X):
        validate_data(estimator, X._meta, reset=False, skip_check_array=True)
        X = X.to_dask_array()
    elif isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D dask array X, got {X.ndim} dimensions.")
        validate_data(estimator, X, reset=False, skip_check_array=True)
    else:
        raise TypeError(
            f"Expected a dask Array or DataFrame, got {type(X).__name__}; "
            "compute it first."
        )
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    light = copy.copy(estimator)
    # The blocks are plain arrays (the names were checked above) and each
    # runs on one worker thread.
    light.__dict__.pop("feature_names_in_", None)
    light.n_jobs = 1
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    # Shape and dtype of the result, from one row of zeros.
    probe = getattr(light, method)(np.zeros((1, X.shape[1]), dtype=dtype))
    if probe.ndim == 1:
        kwargs = {"drop_axis": 1, "chunks": (X.chunks[0],)}
    else:
        kwargs = {"chunks": (X.chunks[0], (probe.shape[1],))}
    return X.map_blocks(
        _predict_block,
        light,
        method,
        dtype=probe.dtype,
        meta=np.empty((0,) * probe.ndim, dtype=probe.dtype),
        **kwargs,
    )
