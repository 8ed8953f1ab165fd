"""Scores for class labels and probability targets: ``score`` and a scorer.

scikit-learn's metrics read a 2-D ``y`` of several columns as multilabel or
multi-output targets, so with probability targets ``ClassifierMixin.score``
raises and ``scoring="neg_log_loss"`` fails on every fold (``nan`` in
``cross_val_score``, and ``GridSearchCV`` silently keeps the first
candidate). Here

* :func:`score` (``SoftmaxClassifier.score``) is the accuracy of ``predict``
  against the most probable class of every target row, and exactly
  scikit-learn's accuracy for labels;
* :class:`CrossEntropyScorer` (the instance :data:`neg_cross_entropy_scorer`)
  is minus the mean cross-entropy of the predicted probabilities against
  labels or probability rows; on labels it is ``"neg_log_loss"``.

The columns of probability targets belong to the ``classes`` parameter of the
estimator when it is set (the order in which ``fit`` reads them), else to
``classes_``, as in :func:`~sklearn_softmax._targets.encode_targets`.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn import get_config
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import MetadataRequest
from sklearn.utils.validation import check_is_fitted

from ._targets import encode_targets, is_probability_targets

__all__ = [
    "CrossEntropyScorer",
    "mean_cross_entropy",
    "most_probable_labels",
    "neg_cross_entropy_scorer",
    "score",
]


def _column_labels(estimator):
    """Labels of the columns of probability targets, in column order.

    The ``classes`` parameter of the (final) estimator when it is set and
    names the fitted classes, else ``classes_``.
    """
    check_is_fitted(estimator, "classes_")
    fitted = np.asarray(estimator.classes_)
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    given = getattr(final, "classes", None)
    if given is not None:
        given = np.asarray(given)
        if given.shape == fitted.shape and np.array_equal(np.sort(given), fitted):
            return given
    return fitted


def _encode(estimator, y, sample_weight):
    """Validate ``y`` (labels or probability rows) against the estimator."""
    labels = _column_labels(estimator)
    if not is_probability_targets(y):
        # A column of labels, as fit and ClassifierMixin.score take it.
        y = np.asarray(y)
        y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
    return labels, encode_targets(y, sample_weight, classes=labels, whole_data=False)


def most_probable_labels(estimator, y):
    """Label of the most probable column of every row of probability targets.

    Parameters
    ----------
    estimator : fitted classifier
        Gives the labels of the columns (see the module docstring).
    y : {array-like, sparse matrix} of shape (n_samples, n_classes)
        Probability targets, validated as by ``fit``.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        For every row the label of its largest entry; ties go to the first
        of the tied columns.
    """
    labels, enc = _encode(estimator, y, None)
    t = enc.targets
    # Column of every stored entry in y: cls indexes the sorted classes.
    column = np.argsort(labels, kind="stable")[t.cls]
    rows = np.repeat(np.arange(t.n_samples), np.diff(t.ptr))
    # Within each row: largest probability first, then the smallest column.
    # Every row has an entry (its entries sum to 1), so row i starts at ptr[i].
    first = np.lexsort((column, -t.prob, rows))[t.ptr[:-1]]
    return labels[column[first]]


def score(self, X, y, sample_weight=None):
    """Accuracy of :meth:`predict` on class labels or probability targets.

    For class labels this is ``ClassifierMixin.score``, the (weighted) share
    of rows whose predicted label is the true one. Probability targets are
    first read as the label of their most probable column; on ties, the
    first of the tied columns. A one-hot ``y`` thus scores as its labels.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Test samples.
    y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_classes)
        True labels, or probability targets as accepted by :meth:`fit`
        (dense or sparse, rows summing to 1). Their columns follow the
        ``classes`` parameter when it is set, as in :meth:`fit`, else
        ``classes_``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        Weighted mean accuracy of ``self.predict(X)``.
    """
    if not is_probability_targets(y):
        return ClassifierMixin.score(self, X, y, sample_weight=sample_weight)
    y_true = most_probable_labels(self, y)
    return float(accuracy_score(y_true, self.predict(X), sample_weight=sample_weight))


def mean_cross_entropy(estimator, X, y, sample_weight=None):
    """Weighted mean cross-entropy of ``predict_log_proba(X)`` against ``y``.

    Parameters
    ----------
    estimator : fitted classifier
        Must have ``predict_log_proba`` and ``classes_``.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Test samples.
    y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_classes)
        Labels in ``classes_``, or probability targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative sample weights, not all zero.

    Returns
    -------
    cross_entropy : float
        ``sum_i s_i (-sum_k y_ik log p_ik) / sum_i s_i`` (natural log).
    """
    _, enc = _encode(estimator, y, sample_weight)
    t, sw = enc.targets, enc.sample_weight
    # The columns of predict_log_proba follow classes_, as t.cls does.
    log_proba = np.asarray(estimator.predict_log_proba(X), dtype=np.float64)
    if log_proba.shape != (t.n_samples, enc.classes.shape[0]):
        raise ValueError(
            f"predict_log_proba(X) has shape {log_proba.shape}, but y has "
            f"{t.n_samples} rows and the estimator {enc.classes.shape[0]} classes."
        )
    rows = np.repeat(np.arange(t.n_samples), np.diff(t.ptr))
    # Zero targets contribute nothing, even where log p is -inf.
    keep = t.prob > 0
    rows, cls, prob = rows[keep], t.cls[keep], t.prob[keep]
    ce = -np.bincount(rows, weights=prob * log_proba[rows, cls], minlength=t.n_samples)
    total = float(sw.sum())
    if not total > 0:
        raise ValueError("The sample weights sum to 0; the mean is not defined.")
    return float(np.dot(sw, ce) / total)


class CrossEntropyScorer:
    r"""Scorer: minus the mean cross-entropy, for labels and probability targets.

    Use :data:`neg_cross_entropy_scorer`, an instance, as ``scoring=`` in
    ``GridSearchCV``, ``cross_validate`` or ``cross_val_score``. Calling
    ``scorer(estimator, X, y, sample_weight=None)`` returns

    .. math::

        -\frac{1}{S} \sum_i s_i \Big( -\sum_k y_{ik} \log p_{ik} \Big),
        \qquad S = \sum_i s_i,

    with ``log p`` from ``estimator.predict_log_proba(X)`` (columns following
    ``classes_``) and ``y`` either labels (``y_ik = 1`` for the label of row
    ``i``) or probability targets, dense or sparse, whose columns follow the
    ``classes`` parameter when set, else ``classes_``. Greater is better; the
    best possible value is minus the mean entropy of the target rows.

    On labels it equals scikit-learn's ``"neg_log_loss"`` except where a
    predicted probability of a true class is below ``2.2e-16``: ``log_loss``
    clips probabilities to ``[eps, 1 - eps]``, this scorer uses the exact
    ``predict_log_proba``. Unlike ``"neg_log_loss"`` it also works on test
    folds that lack some classes.

    The scorer holds no state but its metadata request:
    :meth:`set_score_request` returns a *new* scorer and leaves this one (and
    the shared :data:`neg_cross_entropy_scorer`) unchanged.
    """

    def __init__(self):
        self._sample_weight_request = None

    def __call__(self, estimator, X, y, sample_weight=None):
        """Minus the weighted mean cross-entropy of ``estimator`` on ``X, y``.

        Parameters
        ----------
        estimator : fitted classifier
            Must have ``predict_log_proba`` and ``classes_``.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_classes)
            Labels in ``classes_``, or probability targets (rows summing to 1).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, not all zero.

        Returns
        -------
        score : float
            Minus the mean cross-entropy (natural log); at most 0.
        """
        return -mean_cross_entropy(estimator, X, y, sample_weight)

    def set_score_request(self, *, sample_weight=None):
        """Return a copy of this scorer that requests ``sample_weight`` or not.

        Only with metadata routing enabled
        (``sklearn.set_config(enable_metadata_routing=True)``), as for
        scikit-learn's scorers.

        Parameters
        ----------
        sample_weight : bool, str or None, default=None
            ``True`` to receive the ``sample_weight`` passed to
            ``cross_validate(params=...)`` or ``GridSearchCV.fit``, ``False``
            not to, a string to receive the metadata of that name, ``None``
            (the default request) to raise if it is passed.

        Returns
        -------
        scorer : CrossEntropyScorer
            The new scorer; this one is not modified.
        """
        if not get_config()["enable_metadata_routing"]:
            raise RuntimeError(
                "This method is only available when metadata routing is "
                "enabled. You can enable it using "
                "sklearn.set_config(enable_metadata_routing=True)."
            )
        scorer = copy.copy(self)
        scorer._sample_weight_request = sample_weight
        return scorer

    def get_metadata_routing(self):
        """Get the metadata this scorer requests (scikit-learn's routing API).

        Returns
        -------
        request : MetadataRequest
            The request of the ``score`` method for ``sample_weight``.
        """
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(
            param="sample_weight", alias=self._sample_weight_request
        )
        return request

    def __repr__(self):
        if self._sample_weight_request is None:
            return "neg_cross_entropy_scorer"
        return (
            "neg_cross_entropy_scorer.set_score_request("
            f"sample_weight={self._sample_weight_request!r})"
        )


#: Minus the mean cross-entropy; see :class:`CrossEntropyScorer`.
neg_cross_entropy_scorer = CrossEntropyScorer()
