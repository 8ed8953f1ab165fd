"""Predictions and fitted coefficients shared by the softmax estimators.

:class:`SoftmaxLinearMixin` turns the ``K`` fitted softmax rows into
scikit-learn's convention (one row for two classes, centred rows for more) and
back, and computes logits, probabilities and log-probabilities through the
row-parallel kernels.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ._config import compute_threads
from ._predict import linear_predictor, log_softmax, softmax

__all__ = ["SoftmaxLinearMixin"]


class SoftmaxLinearMixin:
    """Mixin for a fitted multinomial linear model with ``coef_`` and ``intercept_``.

    Expects ``classes_``, ``coef_``, ``intercept_`` and ``n_jobs`` on the
    instance.
    """

    def _set_coef(self, coef, intercept, dtype, centre=True):
        """Store the fitted softmax rows in scikit-learn's convention.

        ``centre=False`` keeps the coefficients of more than two classes as
        fitted: an L1 optimum is not invariant to a shift over classes, and
        LogisticRegression does not centre it either.
        """
        if coef.shape[0] == 2:
            coef_ = (coef[1] - coef[0])[None, :]
            intercept_ = np.array([intercept[1] - intercept[0]])
        else:
            # Softmax is invariant to a shift shared by all classes; centring
            # picks the symmetric representative LogisticRegression reports.
            coef_ = coef - coef.mean(axis=0) if centre else coef
            intercept_ = intercept - intercept.mean()
        self.coef_ = np.ascontiguousarray(coef_, dtype=dtype)
        self.intercept_ = np.ascontiguousarray(intercept_, dtype=dtype)

    def _full_coef(self):
        """Coefficients and intercepts of all K softmax rows, shape (K, d)."""
        if self.coef_.shape[0] == 1:
            half = 0.5 * self.coef_[0]
            coef = np.stack([-half, half])
            hb = 0.5 * self.intercept_[0]
            return coef, np.array([-hb, hb])
        return self.coef_, self.intercept_

    def _logits(self, X, rows=None):
        """Logits of all classes, shape (n_samples, n_classes).

        ``rows``, when given, transforms them in place (softmax, log-softmax)
        inside the same thread context.
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=False,
        )
        coef, intercept = self.coef_, self.intercept_
        if coef.shape[0] == 1:
            # Binary: logits (0, z) give the logistic probabilities exactly.
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([np.zeros_like(intercept), intercept])
        with compute_threads(self.n_jobs):
            Z = linear_predictor(X, coef, intercept)
            return Z if rows is None else rows(Z)

    def decision_function(self, X):
        """Logits of the classes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the logit of the second class against the first
            (positive means ``classes_[1]``); otherwise one logit per class.
        """
        Z = self._logits(X)
        return Z[:, 1].copy() if len(self.classes_) == 2 else Z

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class with the largest logit (for two classes: ``classes_[1]``
            when the decision value is positive).
        """
        Z = self._logits(X)
        if len(self.classes_) == 2:
            return self.classes_[(Z[:, 1] > 0).astype(np.intp)]
        return self.classes_[np.argmax(Z, axis=1)]

    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one; columns follow ``classes_``.
        """
        return self._logits(X, softmax)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed as a log-softmax.

        Unlike ``np.log(predict_proba(X))``, the result stays finite for
        samples far from the training data, where probabilities underflow.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return self._logits(X, log_softmax)
