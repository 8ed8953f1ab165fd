"""Solvers: free functions that minimise a :class:`SoftmaxObjective`.

Every solver returns a :class:`SolverResult`.
"""

from ._lbfgs import lbfgs
from ._result import SolverResult

__all__ = ["SolverResult", "lbfgs"]
