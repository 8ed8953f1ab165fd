"""Solvers: free functions that minimise a :class:`SoftmaxObjective`.

Every solver returns a :class:`SolverResult`.
"""

from ._lbfgs import TWO_LOOP_MIN_PARAMS, lbfgs
from ._result import SolverResult
from ._schedules import SCHEDULES, SGDOptimizer
from ._sgd import params_to_theta, sgd, sgd_pass, theta_to_params
from ._two_loop import lbfgs_two_loop

__all__ = [
    "SCHEDULES",
    "SGDOptimizer",
    "SolverResult",
    "TWO_LOOP_MIN_PARAMS",
    "lbfgs",
    "lbfgs_two_loop",
    "params_to_theta",
    "sgd",
    "sgd_pass",
    "theta_to_params",
]
