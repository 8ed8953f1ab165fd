"""Encoding of fit targets: class labels or probability rows.

One function, :func:`encode_targets`, turns what the user passed as ``y`` into
the three things the objective needs: the sorted class labels, the target
distribution of every row (:class:`~sklearn_softmax._arrays.Targets`) and
the sample weights with class weights folded in. ``fit`` and ``partial_fit``
share it, so both read ``y`` the same way.

``y`` is read as

* class labels when it is 1-D (scikit-learn has already turned a one-column
  2-D ``y`` into 1-D, with a ``DataConversionWarning``);
* probability targets when it is 2-D with at least two columns, or sparse:
  row ``i`` is a distribution over the classes, non-negative and summing to 1
  within :data:`ROW_SUM_ATOL`. Column ``k`` belongs to ``classes[k]``
  (``arange(K)`` when no classes are given).

Class weights multiply the weight of every (row, class) pair, as if each row
were repeated once per class with weight ``s_i * Y[i, k]``: row ``i`` gets the
weight ``s_i * sum_k c_k Y[i, k]`` and the target ``c_k Y[i, k]`` renormalised.
For labels this is the usual ``s_i * c_{y_i}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.class_weight import compute_class_weight

from ._arrays import Targets, readonly
from ._compat import _check_sample_weight

__all__ = [
    "ROW_SUM_ATOL",
    "EncodedTargets",
    "check_label_smoothing",
    "encode_targets",
    "is_probability_targets",
]

#: Largest deviation from 1 allowed for the sum of a probability target row.
ROW_SUM_ATOL = 1e-6


@dataclass(frozen=True)
class EncodedTargets:
    """What the objective needs from ``y``.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
        Sorted class labels (``classes_``).
    targets : Targets
        Target distribution of every row over ``0 .. n_classes - 1``.
    sample_weight : ndarray of float64, shape (n_samples,)
        Sample weights with class weights folded in.
    soft : bool
        Whether ``y`` held probability rows rather than labels.
    """

    classes: np.ndarray
    targets: Targets
    sample_weight: np.ndarray
    soft: bool


def is_probability_targets(y):
    """Whether ``y`` is read as probability targets rather than labels.

    True for sparse ``y`` and for 2-D ``y`` with two or more columns. A 2-D
    ``y`` with one column is a column of labels.
    """
    if sp.issparse(y):
        return True
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.asarray(y).shape
        except (TypeError, ValueError):
            # Ragged input is not probability targets; label validation
            # reports it.
            return False
    return len(shape) == 2 and shape[1] >= 2


def check_label_smoothing(label_smoothing):
    """Return ``label_smoothing`` as a float after checking it is in [0, 1)."""
    if (
        isinstance(label_smoothing, bool)
        or not isinstance(label_smoothing, Real)
        or not 0.0 <= float(label_smoothing) < 1.0
    ):
        raise ValueError(
            f"label_smoothing must be a real number in [0, 1), got {label_smoothing!r}."
        )
    return float(label_smoothing)


def encode_targets(
    y, sample_weight=None, *, classes=None, class_weight=None, whole_data=True
):
    """Encode labels or probability targets for the objective.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_classes), or sparse
        Class labels (1-D), or probability targets (2-D with at least two
        columns, dense or sparse): non-negative rows summing to 1.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights; never modified.
    classes : array-like of shape (n_classes,), default=None
        Distinct class labels. For probability targets the labels of the
        columns of ``y``, in column order (default ``arange(n_classes)``);
        for labels, the full set of labels, which must include every label
        of ``y`` (default: the labels present in ``y``). Returned sorted; the
        columns of probability targets are reordered to match.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes. ``"balanced"`` gives class ``k`` the weight
        ``S / (n_classes * S_k)`` where ``S_k = sum_i s_i Y[i, k]`` is the
        target mass of the class and ``S = sum_k S_k``; every class then
        needs a positive mass.
    whole_data : bool, default=True
        Whether ``y`` is the whole training set. ``partial_fit`` passes
        ``False`` for its batches, which may hold a single class or weigh
        nothing; ``"balanced"`` class weights are refused then, since one
        batch cannot tell the class frequencies.

    Returns
    -------
    encoded : EncodedTargets

    Raises
    ------
    ValueError
        For probability rows that are negative, not finite or do not sum to
        1; labels missing from ``classes``; fewer than two classes with
        positive weight; invalid ``classes``; class weights that are not
        finite and non-negative; and weights whose sums, or products with the
        class weights, overflow float64 (or underflow to 0) or, when
        ``whole_data``, whose total with class weights folded in is 0.
    """
    soft = is_probability_targets(y)
    if not sp.issparse(y):
        y = np.asarray(y)
    if soft:
        classes, order = _check_classes(classes, n_columns=y.shape[1])
        targets = _proba_targets(y, order)
    else:
        if y.ndim != 1:
            raise ValueError(
                "y must be 1-D class labels or 2-D probability targets with at "
                f"least two columns; got an array of shape {y.shape}."
            )
        classes, y_encoded = _encode_labels(y, classes)
        targets = Targets.from_labels(y_encoded, len(classes))
    sw = _check_sample_weight(
        sample_weight, y, dtype=np.float64, ensure_non_negative=True, copy=True
    )
    _check_sum(sw, "The sum of sample_weight", sw)
    if not whole_data and class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported by partial_fit, which sees "
            "one batch at a time; pass a dict of class weights, for example "
            "computed with sklearn.utils.class_weight.compute_class_weight on "
            "the whole y."
        )
    mass = _class_mass(targets, sw)
    # Probability rows may sum to 1 + ROW_SUM_ATOL, so the class masses can
    # overflow where the sum of the weights did not.
    _check_sum(mass, "The sum of sample_weight times the probability targets y", sw)
    n_weighted = int(np.count_nonzero(mass > 0))
    if whole_data and n_weighted < 2:
        raise ValueError(
            "SoftmaxClassifier needs samples of at least 2 classes with positive "
            f"sample weight, but only {n_weighted} class has any."
        )
    if class_weight is not None:
        cw = _class_weight_vector(class_weight, classes, mass)
        targets, sw = _fold_class_weight(targets, sw, cw)
        total = _check_sum(
            sw, "The sum of the sample weights with class weights folded in", sw
        )
        if whole_data and not total > 0:
            raise ValueError(
                "The sample weights with class weights folded in sum to 0: every "
                "sample with positive sample_weight has its target on classes "
                "whose class_weight is 0. Give at least two classes of the data "
                "a positive class weight."
            )
    return EncodedTargets(classes, targets, sw, soft)


def _check_classes(classes, n_columns=None):
    """Sorted distinct classes and the order that sorts the given ones."""
    if classes is None:
        if n_columns is None:
            raise ValueError("classes must be given.")
        return np.arange(n_columns), np.arange(n_columns)
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"classes must be 1-D; got an array of shape {classes.shape}.")
    if n_columns is not None and classes.shape[0] != n_columns:
        raise ValueError(
            f"classes has {classes.shape[0]} labels but the probability targets "
            f"y have {n_columns} columns; give one label per column."
        )
    order = np.argsort(classes, kind="stable")
    sorted_classes = classes[order]
    if np.any(sorted_classes[1:] == sorted_classes[:-1]):
        raise ValueError(f"classes must be distinct; got {classes.tolist()!r}.")
    if sorted_classes.shape[0] < 2:
        raise ValueError(
            f"classes must hold at least 2 labels; got {classes.tolist()!r}."
        )
    return sorted_classes, order


def _encode_labels(y, classes):
    """Sorted classes and the labels encoded as indices into them."""
    if classes is None:
        classes, y_encoded = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(
                "SoftmaxClassifier needs samples of at least 2 classes in the "
                "data, but the data contains only one class: "
                f"{classes[0]!r}."
            )
        return classes, y_encoded
    classes, _ = _check_classes(classes)
    present = np.unique(y)
    unknown = present[~np.isin(present, classes)]
    if unknown.shape[0]:
        raise ValueError(
            f"y contains labels that are not in classes: {unknown.tolist()!r}; "
            f"classes is {classes.tolist()!r}."
        )
    return classes, np.searchsorted(classes, y)


def _as_float_proba(Y):
    """Probability values as float64, with a clear error for other data."""
    try:
        return np.asarray(Y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "A 2-D y with several columns is read as probability targets (one "
            "column per class) and must be numeric; multi-output "
            "classification is not supported. Could not convert y to float: "
            f"{exc}"
        ) from None


def _check_proba_values(values, row_sums, row_of):
    """Raise unless values are finite, non-negative and rows sum to 1."""
    if not np.all(np.isfinite(values)):
        raise ValueError("Probability targets y must be finite (no NaN or inf).")
    negative = np.flatnonzero(values < 0)
    if negative.shape[0]:
        raise ValueError(
            "Probability targets y must be non-negative; row "
            f"{int(row_of(negative[0]))} has a negative entry."
        )
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > ROW_SUM_ATOL)
    if bad.shape[0]:
        i = int(bad[0])
        raise ValueError(
            "Each row of probability targets y must sum to 1 (tolerance "
            f"{ROW_SUM_ATOL:g}); {bad.shape[0]} rows do not, e.g. row {i} sums "
            f"to {float(row_sums[i])!r}. A 2-D y with several columns is read as one "
            "distribution over the classes per row; multilabel indicator "
            "matrices and multi-output targets are not supported."
        )


def _proba_targets(Y, order):
    """Targets from dense or sparse probability rows, columns put in ``order``."""
    if sp.issparse(Y):
        Y = Y.tocsr()
        data = _as_float_proba(Y.data)
        n = Y.shape[0]
        ptr = Y.indptr.astype(np.int64)
        rows = np.repeat(np.arange(n), np.diff(ptr))
        row_sums = np.bincount(rows, weights=data, minlength=n)
        _check_proba_values(data, row_sums, lambda p: rows[p])
        # Column j of Y becomes class position inverse[j] after sorting.
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.shape[0])
        return Targets(
            ptr=readonly(ptr),
            cls=readonly(inverse[Y.indices].astype(np.int64)),
            prob=readonly(data.copy()),
            n_classes=int(Y.shape[1]),
        )
    Y = _as_float_proba(Y)
    _check_proba_values(Y, Y.sum(axis=1), lambda p: p // Y.shape[1])
    return Targets.from_proba(Y[:, order])


def _check_sum(values, what, sw):
    """Return ``values.sum()``, or raise if it overflows (``sw`` for the message).

    The objective divides by the sum of the weights: once it overflows, every
    loss and gradient is 0 or NaN and the solver stops at once, silently.
    """
    # The overflow is reported below; numpy's warning would only repeat it.
    with np.errstate(over="ignore"):
        total = float(values.sum())
    if np.isfinite(total):
        return total
    # Scaling every weight by 1/m scales the data term by 1/m against the
    # penalty; C * m restores the balance.
    raise ValueError(
        f"{what} overflows float64 (it is {float(total)!r}; the largest weight "
        f"is {float(sw.max())!r}). Divide sample_weight (or class_weight) by a "
        "common factor m, and multiply C by m to keep the same model."
    )


def _class_mass(targets, sw):
    """Total weight ``S_k = sum_i s_i T[i, k]`` of every class."""
    rows = np.repeat(np.arange(targets.n_samples), np.diff(targets.ptr))
    return np.bincount(
        targets.cls, weights=sw[rows] * targets.prob, minlength=targets.n_classes
    )


def _class_weight_vector(class_weight, classes, mass):
    """Weight of every class, in the order of ``classes``.

    A dict is read by scikit-learn's ``compute_class_weight``, as in
    ``LogisticRegression``: classes it does not name weigh 1, and keys that
    are not classes are ignored when every class is named (an error
    otherwise). Its values must be real numbers; the weights of the classes
    must be finite and non-negative.
    """
    if isinstance(class_weight, str) and class_weight == "balanced":
        empty = classes[mass <= 0]
        if empty.shape[0]:
            raise ValueError(
                "class_weight='balanced' needs every class to have positive "
                f"weight in the data, but classes {empty.tolist()!r} have none."
            )
        with np.errstate(over="ignore"):
            cw = mass.sum() / (classes.shape[0] * mass)
        bad = np.flatnonzero(~np.isfinite(cw))
        if bad.shape[0]:
            # Only for a class whose mass is below total / 1.8e308 (with
            # K >= 2): subnormal, in practice.
            k = int(bad[0])
            raise ValueError(
                "class_weight='balanced' gives class "
                f"{classes[k].item()!r} an infinite weight: its weight in the "
                f"data, {float(mass[k])!r}, is too small against the total "
                f"{float(mass.sum())!r} (their ratio exceeds float64's range). "
                "Pass a dict of class weights instead."
            )
        return cw
    if isinstance(class_weight, dict):
        for key, value in class_weight.items():
            if not isinstance(value, Real):
                raise ValueError(
                    "The values of class_weight must be real numbers; class "
                    f"{key!r} has {value!r}."
                )
    cw = compute_class_weight(class_weight, classes=classes, y=classes)
    bad = np.flatnonzero(~(np.isfinite(cw) & (cw >= 0)))
    if bad.shape[0]:
        k = int(bad[0])
        raise ValueError(
            "class_weight must be finite and non-negative, but class "
            f"{classes[k].item()!r} has the weight {float(cw[k])!r}."
        )
    return cw


def _fold_class_weight(targets, sw, cw):
    """Fold class weights into row weights and renormalised row targets.

    Raises
    ------
    ValueError
        If a row's class weight, or its product with the row's sample weight,
        overflows float64, or the product of two positive weights underflows
        to 0 (the row would be dropped).
    """
    rows = np.repeat(np.arange(targets.n_samples), np.diff(targets.ptr))
    weighted = targets.prob * cw[targets.cls]
    row_mass = np.bincount(rows, weights=weighted, minlength=targets.n_samples)
    with np.errstate(over="ignore"):
        folded_sw = sw * row_mass
    bad = np.flatnonzero(~np.isfinite(folded_sw))
    if bad.shape[0]:
        i = int(bad[0])
        raise ValueError(
            f"The weight of row {i}, sample_weight {float(sw[i])!r} times its "
            f"class weight {float(row_mass[i])!r}, overflows float64. Divide "
            "sample_weight or class_weight by a common factor m, and multiply C "
            "by m to keep the same model."
        )
    lost = np.flatnonzero((folded_sw == 0) & (sw > 0) & (row_mass > 0))
    if lost.shape[0]:
        i = int(lost[0])
        raise ValueError(
            f"The weight of row {i}, sample_weight {float(sw[i])!r} times its "
            f"class weight {float(row_mass[i])!r}, underflows to 0 in float64 "
            "and the row would be dropped. Scale sample_weight or class_weight "
            "up."
        )
    # Dividing (not multiplying by a reciprocal) keeps a hard label's target
    # exactly 1. A row whose classes all weigh 0 gets weight 0 and keeps its
    # target, so that it stays a distribution.
    prob = targets.prob.copy()
    positive = row_mass[rows] > 0
    np.divide(weighted, row_mass[rows], out=prob, where=positive)
    folded = Targets(targets.ptr, targets.cls, readonly(prob), targets.n_classes)
    return folded, folded_sw
