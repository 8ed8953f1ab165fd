"""Regularisation paths over cross-validation folds, for SoftmaxClassifierCV.

Each fold builds one :class:`~sklearn_softmax._objective.SoftmaxObjective` on
its training rows and walks, for every ``l1_ratio``, the grid of ``C`` from
the strongest penalty to the weakest: the data term, its buffers and its CSR
layout are built once per fold, only the penalty changes
(:meth:`~sklearn_softmax._objective.SoftmaxObjective.set_penalty`), and each
solve starts from the solution of the previous ``C``. Every solution is
scored on the fold's validation rows through a temporary fitted
:class:`~sklearn_softmax.SoftmaxClassifier`, so that any scikit-learn scorer
applies.

Folds run in joblib threads. Each fold gets an equal share of the numba
threads the process allows; since the kernels give the same bits for any
thread count and every fold starts from its own zeros, the results do not
depend on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils.parallel import Parallel, delayed

from ._classifier import SoftmaxClassifier
from ._compat import _check_method_params
from ._config import compute_threads, resolve_n_threads
from ._penalty import ElasticNet

__all__ = [
    "CVProblem",
    "FoldPath",
    "fit_paths",
    "path_rows",
    "solve",
    "thread_split",
]


@dataclass(frozen=True)
class CVProblem:
    """Everything the folds share.

    Attributes
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Validated training data.
    y : ndarray or sparse matrix
        Validated labels or probability targets, as the scorer sees them.
    targets : Targets
        Encoded targets of all rows (class weights folded in).
    sample_weight : ndarray of shape (n_samples,)
        Sample weights with class weights folded in (the objective's).
    classes : ndarray of shape (n_classes,)
        Sorted class labels.
    Cs : ndarray of shape (n_Cs,)
        Grid of ``C``, in the user's order.
    l1_ratios : ndarray of shape (n_l1_ratios,)
        Grid of ``l1_ratio``.
    params : dict
        Parameters of the equivalent :class:`SoftmaxClassifier` (all but
        ``C``, ``l1_ratio`` and ``verbose``).
    scorer : callable
        ``scorer(estimator, X, y, **score_params)``, greater is better.
    score_params : dict
        Metadata for the scorer, over all rows (sliced per fold).
    """

    X: object
    y: object
    targets: object
    sample_weight: np.ndarray
    classes: np.ndarray
    Cs: np.ndarray
    l1_ratios: np.ndarray
    params: dict
    scorer: object
    score_params: dict

    def estimator(self, C, l1_ratio, verbose=0):
        """Return an unfitted SoftmaxClassifier with this ``C`` and ``l1_ratio``."""
        return SoftmaxClassifier(C=C, l1_ratio=l1_ratio, verbose=verbose, **self.params)


@dataclass(frozen=True)
class FoldPath:
    """Solutions and scores of one fold over the grid.

    Attributes
    ----------
    thetas : ndarray of shape (n_l1_ratios, n_Cs, n_params)
        Solutions as the solvers return them (all ``K`` softmax rows).
    paths : ndarray of shape (n_l1_ratios, n_Cs, n_rows, n_features + fit_intercept)
        The same solutions in the estimator's convention (``coef_`` with
        ``intercept_`` as last column), ``n_rows`` 1 for two classes.
    scores : ndarray of shape (n_l1_ratios, n_Cs)
        Validation scores.
    n_iter : ndarray of shape (n_l1_ratios, n_Cs)
        Solver iterations.
    n_unconverged : int
        Number of solves that stopped before converging.
    """

    thetas: np.ndarray
    paths: np.ndarray
    scores: np.ndarray
    n_iter: np.ndarray
    n_unconverged: int


def solve(estimator, objective, theta0):
    """Minimise ``objective`` as ``estimator.fit`` would, from ``theta0``.

    ``estimator`` is the :class:`SoftmaxClassifier` of the grid point: its
    ``solver``, ``max_iter``, ``tol`` and ``verbose`` apply (``"auto"``
    chooses on the fold's objective, as in a fit on the fold's rows).
    """
    return estimator._solve(objective, theta0, None)


def path_rows(estimator):
    """``coef_`` with ``intercept_`` appended as last column when fitted with one."""
    if not estimator.fit_intercept:
        return estimator.coef_
    return np.hstack([estimator.coef_, estimator.intercept_[:, None]])


def thread_split(n_jobs, n_tasks):
    """Return the number of joblib workers and of numba threads per worker.

    The workers share the threads the process allows equally, so that folds
    running at once do not oversubscribe the cores.
    """
    n_workers = max(1, min(effective_n_jobs(n_jobs), n_tasks))
    return n_workers, max(1, resolve_n_threads(-1) // n_workers)


def fit_paths(problem, folds, *, n_jobs, verbose, fold_tasks=None):
    """Compute the path of every fold.

    Parameters
    ----------
    problem : CVProblem
    folds : list of (train, test) index arrays
    n_jobs : int or None
        Number of folds computed at once (joblib threads).
    verbose : int
        Verbosity of joblib and of every solve (the solver settings are
        ``problem.params``).
    fold_tasks : list of SubTask or None, optional
        The callback task of every fold (see
        :meth:`~sklearn_softmax._fit_callbacks.FitTask.subtasks`); each point
        of the path is a leaf task below it, ended with its model.

    Returns
    -------
    paths : list of FoldPath
        In the order of ``folds``.
    """
    n_workers, n_threads = thread_split(n_jobs, len(folds))
    fold_tasks = fold_tasks or [None] * len(folds)
    run = delayed(_fold_path)
    return Parallel(n_jobs=n_workers, prefer="threads", verbose=verbose)(
        run(problem, train, test, n_threads, verbose, fold_task)
        for (train, test), fold_task in zip(folds, fold_tasks, strict=True)
    )


def _fold_path(problem, train, test, n_threads, verbose, fold_task):
    with compute_threads(n_threads):
        path = _walk(problem, train, test, verbose, fold_task)
    if fold_task is not None:
        fold_task.end()
    return path


def _walk(problem, train, test, verbose, fold_task=None):
    X, y = problem.X, problem.y
    X_test, y_test = X[test], y[test]
    score_params = _check_method_params(X, problem.score_params, indices=test)
    Cs, l1_ratios = problem.Cs, problem.l1_ratios
    n_classes, n_features = len(problem.classes), X.shape[1]
    # The objective's own C and l1_ratio are replaced before every solve.
    objective = problem.estimator(Cs[0], l1_ratios[0])._objective(
        X[train], problem.targets.take(train), problem.sample_weight[train]
    )
    n_rows = 1 if n_classes == 2 else n_classes
    n_dof = objective.shape[1]
    shape = (len(l1_ratios), len(Cs))
    thetas = np.empty((*shape, objective.n_params))
    paths = np.empty((*shape, n_rows, n_dof), dtype=X.dtype)
    scores = np.empty(shape)
    n_iter = np.zeros(shape, dtype=np.int64)
    n_unconverged = 0
    # Strong penalties first: each solution is a good start for the next C.
    order = np.argsort(Cs, kind="stable")
    for a, l1_ratio in enumerate(l1_ratios):
        theta = np.zeros(objective.n_params)
        for j in order:
            point = None if fold_task is None else fold_task.subtask("path point")
            C = float(Cs[j])
            objective.set_penalty(ElasticNet.for_estimator(C, l1_ratio, n_classes))
            estimator = problem.estimator(C, float(l1_ratio), verbose)
            result = solve(estimator, objective, theta)
            theta = thetas[a, j] = result.theta
            n_iter[a, j] = result.n_iter
            n_unconverged += not result.converged
            estimator.classes_ = problem.classes
            estimator.n_features_in_ = n_features
            estimator._set_coef(
                *objective.unpack(theta.copy()), X.dtype, centre=l1_ratio == 0
            )
            paths[a, j] = path_rows(estimator)
            scores[a, j] = problem.scorer(estimator, X_test, y_test, **score_params)
            if point is not None:
                # The whole grid is needed to choose C: a request to stop is
                # not honoured here (it is within SoftmaxClassifier fits).
                point.end(
                    {
                        "coef_": estimator.coef_,
                        "intercept_": estimator.intercept_,
                        "classes_": problem.classes,
                    }
                )
    return FoldPath(thetas, paths, scores, n_iter, n_unconverged)
