"""The one result type every solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Message of a solver stopped by its ``callback``.
MSG_CALLBACK = "STOP: A CALLBACK ASKED TO STOP"
#: Message of a line search that found no lower objective (scipy says only
#: "ABNORMAL").
MSG_LINE_SEARCH = (
    "ABNORMAL: THE LINE SEARCH FOUND NO LOWER OBJECTIVE ALONG THE SEARCH "
    "DIRECTION (the objective is flat to rounding there: the data may need "
    "scaling)"
)


@dataclass(frozen=True)
class SolverResult:
    """Outcome of a solver run.

    Attributes
    ----------
    theta : ndarray of float64
        Final parameters, packed as
        :class:`~sklearn_softmax._objective.SoftmaxObjective` packs them.
    objective : float
        Objective value at ``theta``.
    n_iter : int
        Iterations (L-BFGS) or epochs (SGD) performed.
    converged : bool
        Whether the stopping criterion was met before ``max_iter``.
    message : str
        Human-readable reason for stopping.
    history : tuple of float
        Objective after each iteration or epoch.
    extra : dict
        Solver-specific information (for example validation scores).
    """

    theta: np.ndarray
    objective: float
    n_iter: int
    converged: bool
    message: str
    history: tuple = ()
    extra: dict = field(default_factory=dict)
