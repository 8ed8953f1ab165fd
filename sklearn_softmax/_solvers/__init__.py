"""Solvers: free functions that minimise a :class:`SoftmaxObjective`.

Every solver returns a :class:`SolverResult`.
"""

from ._lbfgs import lbfgs
from ._result import SolverResult
from ._schedules import SCHEDULES, SGDOptimizer
from ._sgd import params_to_theta, sgd, sgd_pass, theta_to_params

__all__ = [
    "SCHEDULES",
    "SGDOptimizer",
    "SolverResult",
    "lbfgs",
    "params_to_theta",
    "sgd",
    "sgd_pass",
    "theta_to_params",
]
