"""The scikit-learn estimator: parameters, fit and partial_fit."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning

from ._compat import CallbackSupportMixin, Interval, StrOptions, _fit_context
from ._config import compute_threads
from ._fit_callbacks import FitTask
from ._linear import SoftmaxLinearMixin
from ._online import fit_sgd, partial_fit_classes, partial_fit_step, sgd_only
from ._scoring import score as _score
from ._solvers import SCHEDULES
from ._training import TrainingMixin, transactional

__all__ = ["SoftmaxClassifier"]


def _init_array(value, name, shapes):
    """``value`` as a finite float64 array of one of ``shapes`` (else raise)."""
    if sp.issparse(value):
        value = value.toarray()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from exc
    if arr.shape not in shapes:
        want = " or ".join(str(s) for s in shapes)
        raise ValueError(f"{name} has shape {arr.shape}, expected {want}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _initial_coef(coef_init, intercept_init, n_classes, n_features, fit_intercept):
    """Validate ``fit``'s ``coef_init`` and ``intercept_init``; softmax rows.

    Both are in the shapes of ``coef_`` and ``intercept_``: for two classes
    one row, for the second class against the first, split into the two
    softmax rows ``-c / 2, c / 2`` as ``SoftmaxLinearMixin._full_coef`` does.

    Returns
    -------
    coef : ndarray of shape (n_classes, n_features) or None
    intercept : ndarray of shape (n_classes,) or None
    """
    binary = n_classes == 2
    rows = 1 if binary else n_classes
    coef = intercept = None
    if coef_init is not None:
        shapes = [(rows, n_features)] + ([(n_features,)] if binary else [])
        coef = _init_array(coef_init, "coef_init", shapes).reshape(rows, n_features)
        coef = np.vstack([-0.5 * coef, 0.5 * coef]) if binary else coef
    if intercept_init is not None:
        if not fit_intercept:
            raise ValueError(
                "intercept_init was given, but fit_intercept=False fits no "
                "intercepts; drop intercept_init or set fit_intercept=True."
            )
        intercept = _init_array(intercept_init, "intercept_init", [(rows,)])
        intercept = np.array([-0.5, 0.5]) * intercept[0] if binary else intercept
    return coef, intercept


class SoftmaxClassifier(
    CallbackSupportMixin,
    TrainingMixin,
    SoftmaxLinearMixin,
    ClassifierMixin,
    BaseEstimator,
):
    r"""Multinomial logistic regression (softmax regression).

    Minimises the penalised, weighted multinomial cross-entropy

    .. math::

        \frac{1}{S} \sum_i s_i\, \mathrm{CE}_i
        + \frac{1}{C S} \Big( r \lVert W \rVert_1
        + \frac{1 - r}{2} \lVert W \rVert_F^2 \Big),
        \qquad S = \sum_i s_i,

    where :math:`s_i` are the sample weights multiplied by the class weights,
    :math:`\mathrm{CE}_i = -\log p_{i, y_i}` is the cross-entropy of the softmax of
    the logits :math:`W x_i + b`, :math:`r` is ``l1_ratio`` and the intercept
    :math:`b` is not penalised.
    With probability targets or label smoothing, :math:`\mathrm{CE}_i =
    -\sum_k t_{ik} \log p_{ik}` against the row's target distribution
    :math:`t_i` (see ``label_smoothing`` and :meth:`fit`).
    This is the objective of :class:`sklearn.linear_model.LogisticRegression`,
    so with the same ``C`` both estimators fit the same model. For two classes
    the model is the logistic special case: one row of coefficients, the
    difference of the two softmax rows.

    Loss, gradient and softmax run in numba-compiled kernels that read ``X``
    once per evaluation; their parallel reductions use a fixed partition and
    an ordered combine, so the fit is bitwise identical for any ``n_jobs``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the regularisation strength; ``np.inf`` disables the penalty.
    l1_ratio : float in [0, 1], default=0.0
        Elastic-net mixing, as in ``LogisticRegression``: 0 is the L2 penalty,
        1 the L1 penalty (sparse coefficients with exact zeros), values in
        between mix both. With ``l1_ratio > 0``, ``"lbfgs"`` runs L-BFGS-B on
        the split coefficients ``W = W+ - W-`` (bounds ``W+, W- >= 0``), and
        ``"sgd"`` ends every update with the
        cumulative L1 penalty of ``SGDClassifier``. The coefficients of an L1 or
        elastic-net fit are not centred over classes.
    fit_intercept : bool, default=True
        Whether to fit (unpenalised) intercepts.
    solver : {"lbfgs", "newton-cg", "auto", "sgd"}, default="lbfgs"
        Optimisation algorithm. ``"lbfgs"`` uses :func:`scipy.optimize.minimize`
        with the options ``LogisticRegression`` uses; from 50,000 parameters on
        it takes the same steps by a faster two-loop recursion (see the user
        guide's solver page). With ``l1_ratio > 0`` it is L-BFGS-B on the
        split coefficients, followed where needed by OWL-QN, so that it stops
        when the largest entry of the minimum-norm subgradient falls below
        ``tol``. ``"newton-cg"`` is a trust-region Newton method whose steps
        come from conjugate gradients on Hessian-vector products (liblinear's
        TRON), with the stopping rule of ``"lbfgs"``; ``l1_ratio=0`` only.
        With many more rows than parameters its Hessian-vector products use
        a fixed subset of the rows (the loss and the gradient stay exact;
        see the user guide's solver page). ``"auto"`` takes ``"newton-cg"``
        for CSR data or a subsampled Hessian, ``"lbfgs"`` otherwise. ``"sgd"``
        is minibatch stochastic gradient descent on the same objective (each
        minibatch gradient is an unbiased estimate); it enables :meth:`partial_fit`.
    max_iter : int, default=100
        Maximum number of iterations (``"lbfgs"``, ``"newton-cg"``) or epochs
        (``"sgd"``).
    tol : float, default=1e-4
        ``"lbfgs"`` and ``"newton-cg"``: stop when the largest absolute
        gradient entry (with ``l1_ratio > 0``: of the minimum-norm
        subgradient) falls below ``tol``. ``"sgd"``: the improvement of the
        objective (or of the validation score) an epoch must bring to count
        as progress. The test
        is absolute, as in ``LogisticRegression``, and the gradient scales
        with the features: features of size ``1e-6`` give gradients below
        ``1e-4`` at the start, so the fit stops at once with zero
        coefficients. Standardise the features (or lower ``tol``).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
        ``"balanced"`` uses ``S / (n_classes * S_k)`` with ``S_k`` the total
        sample weight of class ``k``. With probability targets the weight of
        a row is the class weight of its expected class,
        ``sum_k class_weight[k] * Y[i, k]``, and its target is reweighted
        accordingly, exactly as if the row were repeated once per class
        with weight ``Y[i, k]``; ``S_k`` is then the target mass of class ``k``.
    label_smoothing : float in [0, 1), default=0.0
        Mixes the uniform distribution into every target: the target of a
        row with label ``k`` is ``(1 - eps) * onehot(k) + eps / n_classes``,
        as in PyTorch's ``CrossEntropyLoss(label_smoothing=eps)``; probability
        targets are smoothed the same way.
    classes : array-like of shape (n_classes,), default=None
        Class labels known before fitting. With probability targets ``Y``
        (a 2-D ``y`` of ``n_classes >= 2`` columns), the labels of the
        columns of ``Y`` in column order; ``None`` means
        ``arange(n_classes)``. With 1-D labels, the full set of labels, which
        must include every label of ``y``; classes without samples are
        allowed. ``classes_`` is always sorted (the columns of
        ``predict_proba`` follow ``classes_``, not the order given here).
    warm_start : bool, default=False
        Start from the previous solution when refitting on data with the same
        classes and features.
    n_jobs : int, default=None
        Number of numba threads for each call (fit and predictions). ``None``
        keeps numba's current setting, ``-1`` uses all threads the process
        allows. Never more than ``NUMBA_NUM_THREADS``. Results do not depend
        on it.
    verbose : int, default=0
        When positive, print the objective and gradient norm every iteration
        (``"sgd"``: the objective and learning rate after every epoch).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling and the early-stopping split of ``"sgd"``;
        unused by ``"lbfgs"`` and ``"newton-cg"``.
    batch_size : int, default=32
        ``"sgd"``: rows per update (at most ``n_samples``).
    learning_rate : {"constant", "invscaling", "adaptive", "adam"}, default="adaptive"
        ``"sgd"``: step rule. ``"constant"``: ``eta0``; ``"invscaling"``:
        ``eta0 / (t + 1) ** power_t`` at update ``t``; ``"adaptive"``: ``eta0``
        divided by 5 whenever ``n_iter_no_change`` epochs bring no progress
        (stops below ``1e-6``); these use ``momentum``. ``"adam"``: Adam.
    eta0 : float, default=0.3
        ``"sgd"``: initial learning rate (with the default ``momentum`` the
        steps settle at ten times this). Changed from 0.01: with the
        average the larger steps reach the optimum sooner; lower it for
        features of large norm (or standardise them).
    power_t : float, default=0.5
        ``"sgd"``: exponent of ``"invscaling"``.
    momentum : float, default=0.9
        ``"sgd"``: heavy-ball momentum of the non-Adam schedules; 0 disables it.
    beta_1 : float, default=0.9
        ``"adam"``: decay rate of the first-moment estimates.
    beta_2 : float, default=0.999
        ``"adam"``: decay rate of the second-moment estimates.
    epsilon : float, default=1e-8
        ``"adam"``: added to the denominator for numerical stability.
    shuffle : bool, default=True
        ``"sgd"``: visit the rows in a new random order every epoch.
    early_stopping : bool, default=False
        ``"sgd"``: hold out a stratified ``validation_fraction`` of the rows,
        stop when their accuracy stops improving, keep the best epoch's
        coefficients. Not used by :meth:`partial_fit`.
    validation_fraction : float, default=0.1
        Share of the rows held out by ``early_stopping``.
    n_iter_no_change : int, default=5
        ``"sgd"``: epochs without progress of ``tol`` before stopping (or,
        with ``"adaptive"``, dividing the learning rate).
    average : bool, int or "auto", default="auto"
        ``"sgd"``: the model is the Polyak-Ruppert average of the iterates,
        as in ``SGDClassifier``: ``True`` from the first update on, an int
        ``n`` from update number ``n`` on (before that the model is the
        iterate), ``False`` or 0 never; whenever ``"adaptive"`` divides the
        rate, the average begins anew. ``"auto"`` averages without an L1
        part (``l1_ratio == 0``) and not with one: an average has exact
        zeros only where every iterate had them. The average is kept in the
        state :meth:`partial_fit` continues.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, in the dtype of the training data. For two classes one
        row, for the second class against the first. For more, every column
        sums to zero over classes.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_iter_ : ndarray of shape (1,), dtype int32
        Number of solver iterations of the last fit, as ``LogisticRegression``
        reports it; for ``"sgd"`` epochs, plus one per :meth:`partial_fit`
        call.
    loss_curve_ : list of float
        The objective after every iteration (``"lbfgs"``, L1 part included,
        and ``"newton-cg"``) or epoch (``"sgd"``, on the training rows) of
        :meth:`fit`;
        :meth:`partial_fit` appends its mean minibatch objective.
    validation_scores_ : list of float or None
        ``early_stopping``: validation accuracy after every epoch, else None.
    t_ : int
        ``"sgd"``: parameter updates (minibatches) since :meth:`fit` began.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same model, fitted by scikit-learn.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_softmax import SoftmaxClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxClassifier(max_iter=1000).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    >>> clf.predict_proba(X[:1]).round(3)
    array([[0.982, 0.018, 0.   ]])
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "solver": [StrOptions({"lbfgs", "newton-cg", "auto", "sgd"})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "classes": ["array-like", None],
        "warm_start": ["boolean"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "average": [
            "boolean",
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
    }

    def __init__(
        self,
        C=1.0,
        *,
        l1_ratio=0.0,
        fit_intercept=True,
        solver="lbfgs",
        max_iter=100,
        tol=1e-4,
        class_weight=None,
        label_smoothing=0.0,
        classes=None,
        warm_start=False,
        n_jobs=None,
        verbose=0,
        random_state=None,
        batch_size=32,
        learning_rate="adaptive",
        eta0=0.3,
        power_t=0.5,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        average="auto",
    ):
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.classes = classes
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.average = average

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # Accuracy for labels and probability targets (documented in _scoring).
    score = _score

    @_fit_context(prefer_skip_nested_validation=True)
    @transactional
    def fit(self, X, y, sample_weight=None, coef_init=None, intercept_init=None):
        """Fit the model to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data. float32 stays float32; other dtypes become float64.
            Sparse input is used as CSR; dense input as C-contiguous (an
            F-ordered array is copied once, as ``LogisticRegression`` does).
        y : {array-like, sparse matrix} of shape (n_samples,) or \
(n_samples, n_classes)
            Class labels of any type, or probability targets: a 2-D array
            (dense or sparse) with one column per class whose rows are
            non-negative and sum to 1 (tolerance 1e-6). A 2-D ``y`` with one
            column is a column of labels (raveled with a
            ``DataConversionWarning``). Multilabel and multi-output targets
            are not supported.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; not all zero.
        coef_init : array-like of shape (n_classes, n_features), default=None
            Starting coefficients of every solver, in the shape of ``coef_``
            (``(1, n_features)`` for two classes), as in
            ``SGDClassifier.fit``. Overrides ``warm_start``.
        intercept_init : array-like of shape (n_classes,), default=None
            Starting intercepts, in the shape of ``intercept_`` (``(1,)``
            for two classes). Overrides ``warm_start``; needs
            ``fit_intercept=True``.

        Returns
        -------
        self : SoftmaxClassifier
            The fitted estimator.
        """
        X, enc = self._validate_training_data(
            X, y, sample_weight, first=True, classes=self.classes, whole_data=True
        )
        targets, sw, classes = enc.targets, enc.sample_weight, enc.classes
        start = _initial_coef(
            coef_init, intercept_init, len(classes), X.shape[1], self.fit_intercept
        )
        theta0 = self._initial_theta(X, classes, *start)
        task = FitTask(self, X, y, sample_weight, max(self.max_iter, 1) + 1)
        iterations = task.iterations(self._attributes_of(X, classes))
        with compute_threads(self.n_jobs):
            name = self.solver
            if self.solver == "sgd":
                objective, record = fit_sgd(
                    self, X, targets, sw, theta0, self._objective, iterations
                )
                theta, n_iter = record.theta, record.n_iter
                converged, message = record.converged, record.message
                stopped = record.stopped_by_callback
            else:
                record = None
                objective = self._objective(X, targets, sw)
                result = self._solve(objective, theta0, iterations)
                theta, n_iter = result.theta, result.n_iter
                converged, message = result.converged, result.message
                stopped = result.extra.get("stopped_by_callback", False)
                name = result.extra["solver"]
        if iterations is not None:
            iterations.close()
        if not (converged or stopped):
            unit = "epoch(s)" if self.solver == "sgd" else "iteration(s)"
            # Starts as LogisticRegression's warning, so that filters written
            # for it ("lbfgs failed to converge") apply.
            warnings.warn(
                f"{name} failed to converge after {n_iter} {unit} "
                f"({message}). Increase max_iter or scale the data.",
                ConvergenceWarning,
                # Past the transactional and the validation wrappers.
                stacklevel=4,
            )
        self.classes_ = classes
        self._set_coef(*objective.unpack(theta), X.dtype, centre=self.l1_ratio == 0)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self._set_online_attributes(record)
        if record is None:
            self.loss_curve_ = list(result.history)
        task.end()
        return self

    @sgd_only
    @_fit_context(prefer_skip_nested_validation=True)
    @transactional
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass of minibatch SGD over ``X, y``, continuing the last state.

        Only with ``solver="sgd"``. Step counter, learning rate and moments
        carry over between calls (:meth:`fit` starts afresh). The penalty is
        that of the objective over all rows passed so far.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels in ``classes`` (a batch need not contain every class), or
            probability targets whose columns follow ``classes`` when given,
            else ``classes_``.
        classes : array-like of shape (n_classes,), default=None
            All labels the stream can contain. Required on the first call
            with labels unless the ``classes`` parameter or a fit gave them;
            never changes. Probability targets default to ``arange(K)``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights. ``class_weight`` must be a dict or None.

        Returns
        -------
        self : SoftmaxClassifier
            The updated estimator.
        """
        first = not hasattr(self, "classes_")
        classes = partial_fit_classes(self, classes, y)
        X, enc = self._validate_training_data(
            X, y, sample_weight, first=first, classes=classes, whole_data=False
        )
        objective = self._objective(X, enc.targets, enc.sample_weight)
        # One task per call, without subtasks: the pass is one step.
        task = FitTask(self, X, y, sample_weight, max_subtasks=0)
        with compute_threads(self.n_jobs):
            record = partial_fit_step(self, objective, first)
        self.classes_ = enc.classes
        self._set_coef(
            *objective.unpack(record.theta), X.dtype, centre=self.l1_ratio == 0
        )
        self.n_iter_ = np.array([record.n_iter], dtype=np.int32)
        self._set_online_attributes(record)
        self.validation_scores_ = None
        task.end()
        return self
