"""Predictions and fitted coefficients shared by the softmax estimators.

:class:`SoftmaxLinearMixin` turns the ``K`` fitted softmax rows into
scikit-learn's convention (one row for two classes, centred rows for more) and
back, and computes logits, probabilities and log-probabilities through the
row-parallel kernels.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted, validate_data

from ._array_api import from_numpy, namespace_of, to_numpy
from ._checks import check_coef_shapes, reject_datetime_features
from ._config import compute_threads
from ._dask_predict import dask_aware
from ._predict import log_softmax, logits, softmax

__all__ = ["SoftmaxLinearMixin", "sklearn_convention"]


def sklearn_convention(coef, intercept, dtype, centre=True):
    """``(coef_, intercept_)`` of ``K`` softmax rows in scikit-learn's convention.

    Two classes give one row, the second against the first. ``centre=False``
    keeps the rows of more than two classes as fitted: an L1 optimum is not
    invariant to a shift over classes, and LogisticRegression does not
    centre it either.
    """
    if coef.shape[0] == 2:
        coef_ = (coef[1] - coef[0])[None, :]
        intercept_ = np.array([intercept[1] - intercept[0]])
    else:
        # Softmax is invariant to a shift shared by all classes; centring
        # picks the symmetric representative LogisticRegression reports.
        coef_ = coef - coef.mean(axis=0) if centre else coef
        intercept_ = intercept - intercept.mean()
    return (
        np.ascontiguousarray(coef_, dtype=dtype),
        np.ascontiguousarray(intercept_, dtype=dtype),
    )


class SoftmaxLinearMixin:
    """Mixin for a fitted multinomial linear model with ``coef_`` and ``intercept_``.

    Expects ``classes_``, ``coef_``, ``intercept_`` and ``n_jobs`` on the
    instance.
    """

    def _set_coef(self, coef, intercept, dtype, centre=True):
        """Store the fitted softmax rows in scikit-learn's convention."""
        self.coef_, self.intercept_ = sklearn_convention(coef, intercept, dtype, centre)

    def _dense_coef(self):
        """``coef_`` as an ndarray, also after :meth:`sparsify`."""
        coef = self.coef_
        return coef.toarray() if sp.issparse(coef) else coef

    def _full_coef(self):
        """Coefficients and intercepts of all K softmax rows, shape (K, d)."""
        coef_ = self._dense_coef()
        if coef_.shape[0] == 1:
            half = 0.5 * coef_[0]
            coef = np.stack([-half, half])
            hb = 0.5 * self.intercept_[0]
            return coef, np.array([-hb, hb])
        return coef_, self.intercept_

    def sparsify(self):
        """Store ``coef_`` as a scipy.sparse CSR matrix.

        Worth it when most coefficients are zero (an L1 or elastic-net fit,
        ``l1_ratio > 0``): predictions are unchanged and read the dense
        equivalent. As in ``LogisticRegression``, a later ``fit`` stores a
        dense ``coef_`` again.

        Returns
        -------
        self : object
            The estimator, with a sparse ``coef_``.
        """
        check_is_fitted(self)
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a dense ndarray again (undo :meth:`sparsify`).

        Returns
        -------
        self : object
            The estimator, with a dense ``coef_``.
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            self.coef_ = np.ascontiguousarray(self.coef_.toarray())
        return self

    def _check_fitted_state(self):
        """Raise if the fitted attributes do not fit together.

        ``coef_``, ``intercept_``, ``classes_`` and ``n_features_in_`` must
        agree in their shapes: a tampered or corrupted pickle or skops file
        could otherwise make the kernels, which do not check bounds, read
        outside the coefficients.
        """
        n_features = getattr(self, "n_features_in_", None)
        if not isinstance(n_features, (int, np.integer)) or n_features < 0:
            raise ValueError(
                f"The fitted state is inconsistent: n_features_in_ is "
                f"{n_features!r}, not a non-negative integer."
            )
        try:
            check_coef_shapes(
                self.coef_,
                self.intercept_,
                int(n_features),
                len(self.classes_),
                names=("coef_", "intercept_"),
            )
        except ValueError as exc:
            raise ValueError(
                f"The fitted state is inconsistent (n_features_in_ = {n_features}, "
                f"{len(self.classes_)} classes): {exc} Refit the model or load "
                "an intact copy."
            ) from None

    def _logits(self, X, rows=None, shift=True):
        """Logits of all classes, shape (n_samples, n_classes).

        ``rows``, when given, transforms them in place (softmax, log-softmax)
        inside the same thread context. Rows whose logits overflow are
        recomputed without overflow (see :func:`~sklearn_softmax._predict.logits`);
        ``shift`` says whether those come back shifted to a maximum of 0
        (exact probabilities and argmax) or as they are (``+-inf`` beyond the
        float range).
        """
        check_is_fitted(self)
        self._check_fitted_state()
        reject_datetime_features(X)
        with np.errstate(invalid="ignore"):
            # scikit-learn's finiteness check first sums X, which gives
            # inf - inf, and a RuntimeWarning, for finite samples near the
            # largest float; its second pass still finds any NaN or inf.
            X = validate_data(
                self,
                X,
                accept_sparse="csr",
                dtype=[np.float64, np.float32],
                order="C",
                reset=False,
            )
        coef, intercept = self._dense_coef(), self.intercept_
        if coef.shape[0] == 1:
            # Binary: logits (0, z) give the logistic probabilities exactly.
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([np.zeros_like(intercept), intercept])
        with compute_threads(self.n_jobs):
            Z = logits(X, coef, intercept, shift=shift)
            return Z if rows is None else rows(Z)

    @dask_aware
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
            Logits beyond the float range (samples of magnitude near the
            largest float) are ``+inf`` or ``-inf``, never NaN: such rows are
            recomputed without overflow and scaled back. ``predict`` then
            compares the exact logits, so where several classes' logits are
            ``+inf`` the predicted class is the largest of them, not
            necessarily the first.
        """
        space = namespace_of(X)
        Z = self._logits(to_numpy(X), shift=False)
        return from_numpy(space, Z[:, 1].copy() if len(self.classes_) == 2 else Z)

    @dask_aware
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
            when the decision value is positive), which is also the class of
            largest probability in ``predict_proba``, including for samples
            whose logits overflow.
        """
        space = namespace_of(X)
        Z = self._logits(to_numpy(X))
        if len(self.classes_) == 2:
            # Z[:, 0] is 0 except in rows shifted after an overflow, where
            # the comparison of the two keeps the sign of the exact logit.
            labels = self.classes_[(Z[:, 1] > Z[:, 0]).astype(np.intp)]
        else:
            labels = self.classes_[np.argmax(Z, axis=1)]
        return from_numpy(space, labels)

    @dask_aware
    def predict_proba(self, X):
        """Class probabilities: the softmax of the logits.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to one (within ``1e-12`` in float64, at any magnitude of
            the logits); columns follow ``classes_``. For every finite sample
            the probabilities are finite: rows whose logits overflow are
            recomputed without overflow, and a class whose logit is below the
            largest by more than the float range gets probability 0. With
            non-finite coefficients (a model that is not a fitted one), a
            row whose largest logit is ``+inf`` shares the probability
            equally among the classes with that logit.
        """
        return from_numpy(namespace_of(X), self._logits(to_numpy(X), softmax))

    @dask_aware
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed as a log-softmax.

        Unlike ``np.log(predict_proba(X))``, the result stays finite for
        samples far from the training data, where probabilities underflow: it
        is finite wherever the log-probability is within the float range, and
        ``-inf`` only for classes whose logit is below the largest by more
        than the float range (the samples of magnitude near the largest float
        whose logits overflow; ``predict_proba`` gives them 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        return from_numpy(namespace_of(X), self._logits(to_numpy(X), log_softmax))
