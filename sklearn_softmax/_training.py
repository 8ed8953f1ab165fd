"""The training side of the estimator: validation, the objective, start, state.

:class:`TrainingMixin` holds what ``fit`` and ``partial_fit`` of
:class:`~sklearn_softmax.SoftmaxClassifier` share, so that the estimator's
module stays about its parameters, the two fitting methods and their
documentation. :func:`transactional` makes a failed fitting call leave the
estimator as it was.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._array_api import to_numpy
from ._checks import reject_datetime_features
from ._dask_predict import is_dask_collection
from ._linear import sklearn_convention
from ._objective import SoftmaxObjective
from ._penalty import ElasticNet
from ._solvers import hessian_fraction, lbfgs, minimize_l1, newton_cg
from ._targets import encode_targets, is_probability_targets

__all__ = ["TrainingMixin", "transactional"]

# What scikit-learn's callback machinery keeps on the estimator during a fit.
CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")

# Attributes only a stochastic fit sets; a fit by another solver removes them.
ONLINE_ATTRIBUTES = ("_sgd_state", "loss_curve_", "validation_scores_", "t_")


def transactional(method):
    """Run a fitting method so that a failure leaves the estimator as it was.

    Validation writes ``n_features_in_`` (and feature names) before the fit
    can fail; without the restore a failed refit would leave those of the new
    data beside the old coefficients.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        before = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            # The callback bookkeeping of this call stays: scikit-learn's
            # fit wrapper tears the callbacks down from it afterwards.
            running = {
                k: self.__dict__[k] for k in CALLBACK_STATE if k in self.__dict__
            }
            self.__dict__.clear()
            self.__dict__.update(before)
            self.__dict__.update(running)
            raise

    return wrapper


class TrainingMixin:
    """Validation, objective, starting point and SGD state of the estimator."""

    def _attributes_of(self, X, classes):
        """``theta -> fitted attributes`` of the model ``theta`` (for callbacks)."""
        n_classes, d = len(classes), X.shape[1]
        width = d + int(self.fit_intercept)

        def attributes(theta):
            Theta = np.asarray(theta).reshape(n_classes, width)
            intercept = Theta[:, d] if self.fit_intercept else np.zeros(n_classes)
            coef_, intercept_ = sklearn_convention(
                Theta[:, :d], intercept, X.dtype, centre=self.l1_ratio == 0
            )
            return {"coef_": coef_, "intercept_": intercept_, "classes_": classes}

        return attributes

    def _set_online_attributes(self, record):
        """Store (or, without a stochastic record, remove) the SGD state."""
        if record is None:
            for name in ONLINE_ATTRIBUTES:
                self.__dict__.pop(name, None)
            return
        self.loss_curve_ = record.loss_curve
        self.validation_scores_ = record.validation_scores
        self.t_ = record.state.optimizer.t
        self._sgd_state = record.state.to_dict()

    def _validate_training_data(
        self, X, y, sample_weight, *, first, classes, whole_data
    ):
        """Validate ``X``, ``y`` and weights of ``fit`` or ``partial_fit``.

        Returns
        -------
        X : ndarray or CSR matrix (dask input: DaskTrainingData)
        encoded : EncodedTargets
        """
        if any(is_dask_collection(v) for v in (X, y, sample_weight)):
            # Blocks are validated and prepared on the cluster.
            from ._dask_validate import dask_training_data

            return dask_training_data(
                self,
                X,
                y,
                sample_weight,
                first=first,
                classes=classes,
                whole_data=whole_data,
            )
        X, y, sample_weight = to_numpy(X), to_numpy(y), to_numpy(sample_weight)
        reject_datetime_features(X)
        soft = is_probability_targets(y)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=first,
            multi_output=soft,
        )
        if not soft:
            check_classification_targets(y)
        encoded = encode_targets(
            y,
            sample_weight,
            classes=classes,
            class_weight=self.class_weight,
            whole_data=whole_data,
        )
        return X, encoded

    def _objective(self, X, targets, sw):
        """Build the objective this estimator's parameters define on the data."""
        data = getattr(X, "data_term", None)
        if data is not None:
            # Dask training data: the same objective over a distributed term.
            penalty = ElasticNet.for_estimator(self.C, self.l1_ratio, data.n_classes)
            return SoftmaxObjective.from_parts(data, penalty, self.fit_intercept)
        return SoftmaxObjective(
            X,
            targets,
            sw,
            C=self.C,
            fit_intercept=self.fit_intercept,
            label_smoothing=self.label_smoothing,
            l1_ratio=self.l1_ratio,
        )

    def _solve(self, objective, theta0, callback):
        """Run the deterministic solver of ``self.solver`` on ``objective``.

        ``"lbfgs"`` is L-BFGS for a smooth objective and the L1 solver
        otherwise; ``"newton-cg"`` needs a smooth objective (``l1_ratio=0``),
        estimates the Hessian on a subset of the rows when there are many
        more rows than the curvature estimate needs (:func:`hessian_fraction`)
        and otherwise, on CSR data, preconditions CG by the Hessian's
        diagonal.
        """
        options = {}
        solver = self._deterministic_solver(objective)
        if solver == "newton-cg":
            if not objective.is_smooth:
                raise ValueError(
                    "solver='newton-cg' supports only l1_ratio=0 (the L2 "
                    f"penalty), got l1_ratio={self.l1_ratio}; use "
                    "solver='lbfgs' for L1 and elastic-net penalties."
                )
            solve = newton_cg
            fraction = None
            if hasattr(objective, "subsampled_hessian"):
                fraction = hessian_fraction(
                    objective.n_samples, objective.n_features, objective.n_classes
                )
            # CSR columns are non-zero in very different numbers of rows: the
            # Hessian's diagonal spreads widely and scaling CG by it pays for
            # its pass. Not with a subset's Hessian, whose scaled model then
            # converged only slowly at tight tolerances (user guide, solvers).
            options["preconditioner"] = fraction is None and bool(
                getattr(objective.data, "sparse", False)
            )
            options["hessian_fraction"] = fraction
        else:
            solve = lbfgs if objective.is_smooth else minimize_l1
        result = solve(
            objective,
            theta0,
            max_iter=self.max_iter,
            tol=self.tol,
            verbose=self.verbose,
            callback=callback,
            **options,
        )
        result.extra["solver"] = solver
        return result

    def _deterministic_solver(self, objective):
        """Return the solver ``self.solver`` names (``"auto"`` chooses by the problem).

        ``"auto"`` is ``"newton-cg"`` where it needs fewer passes over ``X``
        than L-BFGS in the measurements of the user guide's solver page: a
        smooth objective whose data term gives Hessian-vector products, with
        CSR data (a product skips the softmax, so it costs less than a
        gradient) or enough rows for a subsampled Hessian
        (:func:`hessian_fraction`); ``"lbfgs"`` otherwise (dense data that
        need the Hessian of all rows, L1 and elastic-net penalties, data
        terms without products such as dask blocks).
        """
        if self.solver != "auto":
            return self.solver
        products = objective.is_smooth and hasattr(
            objective.data, "loss_gradient_hessp"
        )
        if products and (
            getattr(objective.data, "sparse", False)
            or hessian_fraction(
                objective.n_samples, objective.n_features, objective.n_classes
            )
            is not None
        ):
            return "newton-cg"
        return "lbfgs"

    def _initial_theta(self, X, classes, coef=None, intercept=None):
        """Zeros, the previous solution under ``warm_start``, or the given start.

        ``coef`` (softmax rows, ``(K, d)``) and ``intercept`` (``(K,)``), from
        ``fit``'s ``coef_init`` and ``intercept_init``, override
        ``warm_start``, each for its part.
        """
        n_classes, d = len(classes), X.shape[1]
        shape = (n_classes, d + int(self.fit_intercept))
        theta = np.zeros(shape)
        if (
            self.warm_start
            and hasattr(self, "coef_")
            and np.array_equal(getattr(self, "classes_", None), classes)
            and self.coef_.shape[1] == d
        ):
            warm_coef, warm_intercept = self._full_coef()
            theta[:, :d] = warm_coef
            if self.fit_intercept:
                theta[:, -1] = warm_intercept
        if coef is not None:
            theta[:, :d] = coef
        if intercept is not None:
            theta[:, -1] = intercept
        return theta.ravel()
