"""Checks and conversions of fit inputs that the estimator needs."""

from __future__ import annotations

import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ._compat import _check_sample_weight

__all__ = ["check_n_classes", "effective_sample_weight"]


def check_n_classes(classes):
    """Raise a clear error when fewer than two classes are present."""
    if len(classes) < 2:
        raise ValueError(
            "SoftmaxClassifier needs samples of at least 2 classes in the data, "
            f"but the data contains only one class: {classes[0]!r}."
        )


def effective_sample_weight(sample_weight, X, y, classes, y_encoded, class_weight):
    """Sample weights with class weights folded in, as a new float64 array.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        The caller's weights; never modified.
    X : array-like of shape (n_samples, n_features)
        Training data (for the number of samples).
    y : ndarray of shape (n_samples,)
        Original labels.
    classes : ndarray of shape (K,)
        Sorted unique labels.
    y_encoded : ndarray of shape (n_samples,)
        Labels encoded as ``0 .. K - 1``.
    class_weight : dict, "balanced" or None
        ``"balanced"`` weights classes by ``S / (K * S_k)`` where ``S_k`` is the
        weight of class ``k``, so that weighting equals repeating rows.

    Returns
    -------
    sw : ndarray of float64, shape (n_samples,)
    """
    sw = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True, copy=True
    )
    weighted_classes = np.unique(y_encoded[sw > 0])
    if weighted_classes.shape[0] < 2:
        raise ValueError(
            "SoftmaxClassifier needs samples of at least 2 classes with positive "
            f"sample weight, but only {weighted_classes.shape[0]} class has any."
        )
    if class_weight is not None:
        cw = compute_class_weight(class_weight, classes=classes, y=y, sample_weight=sw)
        sw *= cw[y_encoded]
    if not np.all(np.isfinite(sw)) or not float(sw.sum()) > 0:
        raise ValueError(
            "The sample weights with class weights folded in must be finite and "
            "sum to a positive value."
        )
    return sw
