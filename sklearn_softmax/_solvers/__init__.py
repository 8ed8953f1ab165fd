"""Solvers: free functions that minimise an :class:`Objective`.

Every solver returns a :class:`SolverResult` and uses only the methods of the
:class:`Objective` contract; none calls a kernel.
"""

from ._contract import Objective
from ._l1_lbfgsb import L1_TWO_LOOP_MIN_PARAMS, l1_lbfgsb, minimize_l1
from ._lbfgs import TWO_LOOP_MIN_PARAMS, lbfgs
from ._newton_cg import hessian_fraction, newton_cg
from ._owlqn import owlqn
from ._result import SolverResult
from ._schedules import SCHEDULES, SGDOptimizer
from ._sgd import params_to_theta, sgd, sgd_pass, theta_to_params
from ._two_loop import lbfgs_two_loop

__all__ = [
    "Objective",
    "SCHEDULES",
    "SGDOptimizer",
    "SolverResult",
    "TWO_LOOP_MIN_PARAMS",
    "lbfgs",
    "L1_TWO_LOOP_MIN_PARAMS",
    "l1_lbfgsb",
    "minimize_l1",
    "hessian_fraction",
    "lbfgs_two_loop",
    "newton_cg",
    "owlqn",
    "params_to_theta",
    "sgd",
    "sgd_pass",
    "theta_to_params",
]
