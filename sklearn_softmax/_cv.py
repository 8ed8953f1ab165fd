"""SoftmaxClassifierCV: C and l1_ratio chosen by cross-validation."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import metadata_routing
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import validate_data

from ._array_api import to_numpy
from ._checks import reject_datetime_features
from ._classifier import SoftmaxClassifier
from ._compat import (
    CallbackSupportMixin,
    Interval,
    StrOptions,
    _fit_context,
    _manual_routing,
    _raise_for_params,
    _routing_enabled,
    scorer_with_labels,
)
from ._config import compute_threads, resolve_n_threads
from ._cv_path import CVProblem, fit_paths, solve
from ._fit_callbacks import FitTask
from ._linear import SoftmaxLinearMixin
from ._scoring import neg_cross_entropy_scorer
from ._targets import is_probability_targets
from ._training import transactional

__all__ = ["SoftmaxClassifierCV"]


class SoftmaxClassifierCV(
    CallbackSupportMixin, SoftmaxLinearMixin, ClassifierMixin, BaseEstimator
):
    """Softmax regression with ``C`` (and ``l1_ratio``) chosen by cross-validation.

    The model and objective are those of :class:`SoftmaxClassifier`. For
    every fold and every ``l1_ratio`` the regularisation path over ``Cs`` is
    computed from the strongest penalty to the weakest, each solve starting
    from the previous solution, and scored on the fold's validation rows.
    The pair of best mean score over the folds is chosen (the first one on a
    tie, in the order ``C`` first, then ``l1_ratio``), as in
    :class:`sklearn.linear_model.LogisticRegressionCV`, whose attribute
    layout with ``use_legacy_attributes=False`` this estimator follows.

    Parameters
    ----------
    Cs : int or array-like of shape (n_Cs,), default=10
        Values of ``C`` to try; an int ``n`` means ``np.logspace(-4, 4, n)``.
        Positive; ``np.inf`` (no penalty) is allowed.
    l1_ratios : array-like of shape (n_l1_ratios,), default=None
        Values of ``l1_ratio`` in [0, 1] to try; ``None`` means ``(0.0,)``,
        the L2 penalty. With ``l1_ratio > 0`` the solver is that of
        :class:`SoftmaxClassifier` for L1 (L-BFGS-B on the split
        coefficients) and the coefficients are not centred over classes.
    cv : int, cross-validation generator or iterable, default=None
        Splitting strategy, as in :func:`sklearn.model_selection.check_cv`:
        ``None`` means 5 folds. For labels an int gives
        :class:`~sklearn.model_selection.StratifiedKFold`; for probability
        targets, which have no class to stratify on,
        :class:`~sklearn.model_selection.KFold` (without shuffling).
    scoring : str, callable or None, default="neg_log_loss"
        Score of a validation fold, greater is better: a scikit-learn scorer
        name or a callable ``scorer(estimator, X, y)``; ``None`` is accuracy.
        Scorers whose metric takes ``labels`` get all classes of the data,
        since a fold may miss some. For probability targets the default is
        minus the weighted mean cross-entropy of ``predict_proba`` against
        the target rows; a callable receives the target rows as ``y``.
    refit : bool, default=True
        Whether to refit on all data with the best ``C`` and ``l1_ratio``,
        starting from the mean over folds of their solutions. Otherwise
        ``coef_`` and ``intercept_`` are the mean over folds of each fold's
        best solution, and ``C_`` and ``l1_ratio_`` the mean of each fold's
        best values.
    n_jobs : int, default=None
        Number of folds fitted at once, in threads; they share the numba
        threads the process allows equally (``None`` is one fold at a time
        with all of them). Predictions use ``n_jobs`` threads, as in
        :class:`SoftmaxClassifier`. Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Unused by the solvers (kept for the interface of
        ``LogisticRegressionCV``); it does not seed the splitter: pass a
        splitter with its own ``random_state`` as ``cv`` to shuffle.
    max_iter : int, default=100
        Maximum number of solver iterations of every solve.
    tol : float, default=1e-4
        Stopping tolerance of every solve (see :class:`SoftmaxClassifier`).
    fit_intercept : bool, default=True
        Whether to fit (unpenalised) intercepts.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights of the
        objective (not of the scorer). ``"balanced"`` is computed once on all
        data, as in ``LogisticRegressionCV``.
    label_smoothing : float in [0, 1), default=0.0
        Label smoothing of the objective (see :class:`SoftmaxClassifier`);
        scores compare with the unsmoothed targets.
    verbose : int, default=0
        Verbosity of joblib and of the solvers.
    solver : {"lbfgs", "newton-cg", "auto"}, default="lbfgs"
        Solver of every solve of the path and of the refit, as in
        :class:`SoftmaxClassifier`: ``"auto"`` chooses on each fold's
        objective. ``"newton-cg"`` needs ``l1_ratios`` of zeros only. Warm
        started from the previous ``C``, Newton-CG often needs a few
        iterations per point, and a point whose start already meets ``tol``
        takes none (its solution and score then equal the previous point's);
        ``n_iter_`` counts Newton iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients of the chosen model, as in :class:`SoftmaxClassifier`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    Cs_ : ndarray of shape (n_Cs,)
        The grid of ``C``, in the order given.
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The grid of ``l1_ratio``.
    C_ : float
        The chosen ``C`` (``refit=False``: mean of the folds' best ``C``).
    l1_ratio_ : float
        The chosen ``l1_ratio`` (``refit=False``: mean of the folds' best).
    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_Cs)
        Validation score of every fold and grid point.
    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_Cs, n_rows, \
n_features + fit_intercept)
        Solution of every fold and grid point in the convention of ``coef_``
        (``n_rows`` 1 for two classes), the intercepts as last column when
        ``fit_intercept``.
    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_Cs)
        Solver iterations of every fold and grid point (the refit is not
        counted, as in ``LogisticRegressionCV``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    SoftmaxClassifier : The model for one ``C`` and ``l1_ratio``.
    sklearn.linear_model.LogisticRegressionCV : The same search by scikit-learn.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_softmax import SoftmaxClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxClassifierCV(Cs=5, cv=3, max_iter=1000).fit(X, y)
    >>> clf.scores_.shape
    (3, 1, 5)
    >>> clf.predict(X[:2])
    array([0, 0])
    """

    # score() takes sample_weight itself and routes it to the scorer.
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "refit": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "verbose": ["verbose"],
        "solver": [StrOptions({"lbfgs", "newton-cg", "auto"})],
    }

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios=None,
        cv=None,
        scoring="neg_log_loss",
        refit=True,
        n_jobs=None,
        random_state=None,
        max_iter=100,
        tol=1e-4,
        fit_intercept=True,
        class_weight=None,
        label_smoothing=0.0,
        verbose=0,
        solver="lbfgs",
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.verbose = verbose
        self.solver = solver

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    @transactional
    def fit(self, X, y, sample_weight=None, **params):
        """Choose ``C`` and ``l1_ratio`` by cross-validation and fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (float32 stays float32; sparse input is used as CSR).
        y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_classes)
            Class labels, or probability targets (rows of one column per
            class, non-negative, summing to 1), as in
            :meth:`SoftmaxClassifier.fit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the objective. Without metadata routing
            they also weight the scores; with routing they go to the scorer
            when it requests them.
        **params : dict
            ``groups`` for the splitter (also without metadata routing); with
            metadata routing enabled, any metadata the splitter and the
            scorer request.

        Returns
        -------
        self : SoftmaxClassifierCV
            The fitted estimator.
        """
        _raise_for_params(params, self, "fit", allow={"groups"})
        Cs, l1_ratios = self._grids()
        # As SoftmaxClassifier.fit: other array libraries become NumPy, dates
        # are refused by name (before this estimator's own validation).
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
            multi_output=soft,
        )
        # The validation above sets this estimator's feature names and gives
        # the scorers their y; SoftmaxClassifier's own (no copy of the now
        # valid X) encodes targets and weights exactly as its fit does.
        settings = self._classifier_params()
        X, enc = SoftmaxClassifier(**settings)._validate_training_data(
            X, y, sample_weight, first=True, classes=None, whole_data=True
        )
        routed = self._route_fit(sample_weight, params)
        cv = check_cv(self.cv, y, classifier=not soft)
        folds = list(cv.split(X, y, **routed["splitter"]["split"]))
        problem = CVProblem(
            X=X,
            y=y,
            targets=enc.targets,
            sample_weight=enc.sample_weight,
            classes=enc.classes,
            Cs=Cs,
            l1_ratios=l1_ratios,
            params=settings,
            scorer=self._fold_scorer(enc.classes, soft),
            score_params=routed["scorer"]["score"],
        )
        task = FitTask(self, X, y, sample_weight, len(folds) + int(self.refit))
        n_points = len(Cs) * len(l1_ratios)
        fold_paths = fit_paths(
            problem,
            folds,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            fold_tasks=task.subtasks("fold", len(folds), max_subtasks=n_points),
        )
        self._warn_unconverged(fold_paths)
        self.classes_ = enc.classes
        self.Cs_, self.l1_ratios_ = Cs, l1_ratios
        self.scores_ = np.stack([f.scores for f in fold_paths])
        self.coefs_paths_ = np.stack([f.paths for f in fold_paths])
        self.n_iter_ = np.stack([f.n_iter for f in fold_paths])
        if self.refit:
            (refit_task,) = task.subtasks("refit", 1)
            self._refit(problem, np.stack([f.thetas for f in fold_paths]), enc)
            if refit_task is not None:
                refit_task.end(
                    {
                        "coef_": self.coef_,
                        "intercept_": self.intercept_,
                        "classes_": self.classes_,
                    }
                )
        else:
            self._average_best()
        task.end()
        return self

    def _grids(self):
        """``Cs_`` and ``l1_ratios_`` as float arrays, after checking them."""
        if isinstance(self.Cs, Integral):
            Cs = np.logspace(-4, 4, self.Cs)
        else:
            Cs = np.asarray(self.Cs, dtype=np.float64).ravel()
            if Cs.size == 0 or not np.all(Cs > 0):
                raise ValueError(
                    f"Cs must be a positive int or a non-empty list of positive "
                    f"values, got {self.Cs!r}."
                )
        if self.l1_ratios is None:
            l1_ratios = np.array([0.0])
        else:
            l1_ratios = np.asarray(self.l1_ratios, dtype=np.float64).ravel()
            if l1_ratios.size == 0 or not np.all((l1_ratios >= 0) & (l1_ratios <= 1)):
                raise ValueError(
                    "l1_ratios must be None or a non-empty list of values in "
                    f"[0, 1], got {self.l1_ratios!r}."
                )
        if self.solver == "newton-cg" and np.any(l1_ratios > 0):
            raise ValueError(
                "solver='newton-cg' supports only l1_ratio=0 (the L2 penalty), "
                f"got l1_ratios={self.l1_ratios!r}; use solver='lbfgs' or "
                "'auto' for L1 and elastic-net penalties."
            )
        return Cs, l1_ratios

    def _classifier_params(self):
        """Parameters of the equivalent SoftmaxClassifier, but C and l1_ratio."""
        return dict(
            fit_intercept=self.fit_intercept,
            max_iter=self.max_iter,
            tol=self.tol,
            class_weight=self.class_weight,
            label_smoothing=self.label_smoothing,
            solver=self.solver,
        )

    def _route_fit(self, sample_weight, params):
        """Route metadata to the splitter and the scorer as LogisticRegressionCV."""
        if _routing_enabled():
            return process_routing(self, "fit", sample_weight=sample_weight, **params)
        # Without routing the weights of the objective also weight the scores
        # and groups go to the splitter, as in GridSearchCV.
        score = {} if sample_weight is None else {"sample_weight": sample_weight}
        return _manual_routing(
            {"splitter": {"split": params}, "scorer": {"score": score}}
        )

    def _get_scorer(self):
        """Return the scorer ``scoring`` names (``None``: accuracy)."""
        return get_scorer(self.scoring if self.scoring is not None else "accuracy")

    def _fold_scorer(self, classes, soft):
        """Return the scorer of the validation folds."""
        if soft:
            if isinstance(self.scoring, str) and self.scoring == "neg_log_loss":
                # On probability rows: the same cross-entropy, package scorer.
                return neg_cross_entropy_scorer
            return self._get_scorer()
        return scorer_with_labels(self._get_scorer(), classes)

    def _warn_unconverged(self, fold_paths):
        n_unconverged = sum(f.n_unconverged for f in fold_paths)
        if n_unconverged:
            n_solves = sum(f.n_iter.size for f in fold_paths)
            warnings.warn(
                f"SoftmaxClassifierCV: {n_unconverged} of the {n_solves} solves "
                "of the path stopped before converging. Increase max_iter or "
                "scale the data.",
                ConvergenceWarning,
                # Past the transactional and the validation wrappers.
                stacklevel=5,
            )

    def _refit(self, problem, thetas, enc):
        """Refit on all data with the best mean score, warm-started."""
        # Sum, as LogisticRegressionCV, in its order: C first, then l1_ratio.
        total = self.scores_.sum(axis=0).T
        i_C, i_l1 = np.unravel_index(np.argmax(total), total.shape)
        self.C_ = float(self.Cs_[i_C])
        self.l1_ratio_ = float(self.l1_ratios_[i_l1])
        estimator = problem.estimator(self.C_, self.l1_ratio_, max(0, self.verbose - 1))
        objective = estimator._objective(problem.X, enc.targets, enc.sample_weight)
        theta0 = thetas[:, i_l1, i_C].mean(axis=0)
        with compute_threads(resolve_n_threads(-1)):
            result = solve(estimator, objective, theta0)
        if not result.converged:
            warnings.warn(
                f"SoftmaxClassifierCV: the refit with C={self.C_!r} stopped "
                f"before converging ({result.message}). Increase max_iter or "
                "scale the data.",
                ConvergenceWarning,
                stacklevel=5,
            )
        self._set_coef(
            *objective.unpack(result.theta),
            problem.X.dtype,
            centre=self.l1_ratio_ == 0,
        )

    def _average_best(self):
        """Mean over folds of each fold's best solution (``refit=False``)."""
        n_folds, n_l1, n_cs = self.scores_.shape
        flat = np.swapaxes(self.scores_, 1, 2).reshape(n_folds, -1)
        i_C, i_l1 = np.unravel_index(np.argmax(flat, axis=1), (n_cs, n_l1))
        best = self.coefs_paths_[np.arange(n_folds), i_l1, i_C]
        w = best.mean(axis=0)
        d = self.n_features_in_
        self.coef_ = np.ascontiguousarray(w[:, :d])
        if self.fit_intercept:
            self.intercept_ = np.ascontiguousarray(w[:, d])
        else:
            self.intercept_ = np.zeros(w.shape[0], dtype=w.dtype)
        self.C_ = float(np.mean(self.Cs_[i_C]))
        self.l1_ratio_ = float(np.mean(self.l1_ratios_[i_l1]))

    def score(self, X, y, sample_weight=None, **score_params):
        """Score of the ``scoring`` option on the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            True labels, or probability targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        **score_params : dict
            Metadata for the scorer (with metadata routing enabled).

        Returns
        -------
        score : float
            Greater is better (``neg_log_loss`` by default).
        """
        _raise_for_params(score_params, self, "score")
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        if _routing_enabled():
            kwargs = process_routing(self, "score", **score_params)["scorer"]["score"]
        else:
            kwargs = {}
            if score_params.get("sample_weight") is not None:
                kwargs["sample_weight"] = score_params["sample_weight"]
        soft = is_probability_targets(y)
        scorer = self._fold_scorer(self.classes_, soft) if soft else self._get_scorer()
        return scorer(self, X, y, **kwargs)

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes to the splitter's ``split`` and the scorer's
        ``score``; ``score`` to the scorer's ``score``.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
            .add(
                scorer=self._get_scorer(),
                method_mapping=MethodMapping()
                .add(caller="score", callee="score")
                .add(caller="fit", callee="score"),
            )
        )
