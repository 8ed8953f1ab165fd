"""scikit-learn's fit callbacks (``sklearn.callback``) for the solvers' iterations.

The task tree of a fit is the fit itself with one subtask per solver
iteration (L-BFGS and OWL-QN iterations, SGD epochs); a ``partial_fit`` call
is a task of its own. The cross-validation estimator's tree is its fit, one
task per fold with one leaf per point of the path (``l1_ratio`` x ``C``),
and the refit. Solvers know nothing of callbacks: they call
``callback(n_iter, theta)`` after every iteration and stop when it returns
True. :class:`IterationCallbacks` is that callable: it ends the iteration's
task (with the model of that iteration, so that ``ScoringMonitor`` can score
it), reports a stop request, and begins the next iteration's task.

Unlike ``LogisticRegression`` 1.9, which ignores them, stop requests are
honoured by every solver.
"""

from __future__ import annotations

from ._compat import HAS_CALLBACKS

__all__ = ["FitTask", "IterationCallbacks", "SubTask"]


class FitTask:
    """The callback context of one fit, or nothing when no callback listens.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted (its ``_init_callback_context`` makes the
        root context; a meta-estimator's context is merged in by it).
    X, y : array-like
        The training data the callbacks receive.
    sample_weight : array-like or None
        Passed to the callbacks as metadata.
    max_subtasks : int
        Number of iteration tasks at most.
    """

    def __init__(self, estimator, X, y, sample_weight, max_subtasks):
        self.estimator, self.X, self.y = estimator, X, y
        self.metadata = (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        listening = getattr(estimator, "_skl_callbacks", None) or hasattr(
            estimator, "_parent_callback_ctx"
        )
        self.ctx = None
        if HAS_CALLBACKS and listening:
            self.ctx = estimator._init_callback_context(max_subtasks=max_subtasks)
            self.ctx.call_on_fit_task_begin(
                estimator=estimator, X=X, y=y, metadata=self.metadata
            )

    def iterations(self, attributes_of):
        """Return the per-iteration callable for a solver (None without callbacks).

        ``attributes_of(theta)`` returns the fitted attributes of the model
        ``theta`` (computed only when a callback asks for the model).
        """
        if self.ctx is None:
            return None
        return IterationCallbacks(self, attributes_of)

    def end(self):
        """End the fit task."""
        if self.ctx is not None:
            self.ctx.call_on_fit_task_end(
                estimator=self.estimator,
                X=self.X,
                y=self.y,
                metadata=self.metadata,
                reconstruction_attributes={},
            )

    def subtasks(self, task_name, n, max_subtasks=0):
        """Begin ``n`` subtasks (folds, for example); None each without callbacks.

        They are created here, in order, so that their ids do not depend on
        the threads that later run them.
        """
        if self.ctx is None:
            return [None] * n
        return [SubTask(self, self.ctx, task_name, max_subtasks) for _ in range(n)]


class SubTask:
    """A task below a :class:`FitTask` (a fold, a point of a path, a refit)."""

    def __init__(self, task, parent_ctx, task_name, max_subtasks):
        self._task = task
        self.ctx = parent_ctx.subcontext(task_name=task_name, max_subtasks=max_subtasks)
        self.ctx.call_on_fit_task_begin(
            estimator=task.estimator, X=task.X, y=task.y, metadata=task.metadata
        )

    def subtask(self, task_name):
        """Begin a leaf task below this one."""
        return SubTask(self._task, self.ctx, task_name, 0)

    def end(self, attributes=None):
        """End the task, with the fitted attributes of its model when it has one.

        Returns
        -------
        stop : bool
            Whether a callback asked to stop the tasks at this level.
        """
        task = self._task
        return bool(
            self.ctx.call_on_fit_task_end(
                estimator=task.estimator,
                X=task.X,
                y=task.y,
                metadata=task.metadata,
                reconstruction_attributes=attributes,
            )
        )


class IterationCallbacks:
    """``callback(n_iter, theta) -> stop`` for a solver, bridging to a FitTask."""

    def __init__(self, task, attributes_of):
        self._task = task
        self._attributes_of = attributes_of
        self._iteration = self._begin()

    def _begin(self):
        ctx = self._task.ctx.subcontext(task_name="iteration")
        ctx.call_on_fit_task_begin(
            estimator=self._task.estimator,
            X=self._task.X,
            y=self._task.y,
            metadata=self._task.metadata,
        )
        return ctx

    def __call__(self, n_iter, theta):
        task = self._task
        stop = self._iteration.call_on_fit_task_end(
            estimator=task.estimator,
            X=task.X,
            y=task.y,
            metadata=task.metadata,
            reconstruction_attributes=lambda: self._attributes_of(theta),
        )
        self._iteration = None if stop else self._begin()
        return bool(stop)

    def close(self):
        """End the iteration task that began but never ran (the solver stopped)."""
        if self._iteration is not None:
            self._iteration.call_on_fit_task_end(estimator=self._task.estimator)
            self._iteration = None
