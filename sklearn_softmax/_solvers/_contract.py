"""What a solver may ask of the objective it minimises.

Solvers receive an object with these methods and attributes and use nothing
else: no kernels, no private fields.
:class:`~sklearn_softmax._objective.SoftmaxObjective` implements it for data
in memory; another data backend only has to provide the same data-term
interface to reuse every solver unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Objective"]


@runtime_checkable
class Objective(Protocol):
    """The objective's side of the solver contract.

    ``theta`` is the packed parameter vector; the objective is
    ``F(theta) = f(theta) + g(theta)`` with ``f`` smooth (data term and the
    quadratic penalty) and ``g`` the L1 part (zero for a smooth objective).
    """

    #: Length of ``theta``.
    n_params: int
    #: Number of rows and their total weight (SGD's unbiased estimates).
    n_samples: int
    sw_sum: float
    #: Whether parallel kernels may be used for this objective.
    parallel: bool
    #: Whether ``g`` is zero (then plain L-BFGS applies).
    is_smooth: bool

    def loss_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``f(theta)`` and its gradient."""

    def gradient_hessian_product(
        self, theta: np.ndarray
    ) -> tuple[float, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """``f(theta)``, its gradient and ``hessp(v) = H v`` at ``theta``.

        ``hessp.diagonal()`` is the diagonal of ``H``, ``hessp.preconditioner()``
        a positive diagonal for preconditioned CG.
        Needed by ``newton-cg`` only; an objective with an L1 part, which has
        no Hessian, raises ``ValueError``.
        """

    # Optional (newton-cg with ``hessian_fraction``; objectives without it get
    # the Hessian of all rows):
    #
    # def subsampled_hessian(self, fraction: float) -> SubsampledHessian | None
    #     The Hessian estimated on a fixed share ``fraction`` of the rows and
    #     scaled to the whole weight, or ``None`` when the data cannot be
    #     subset. The result has ``n_rows``, ``cost`` (a pass over the subset
    #     in passes over ``X``) and ``at(theta)``, which returns a ``hessp``
    #     as :meth:`gradient_hessian_product` does (one pass over the subset,
    #     each product one more). Not a Protocol member, so that objectives
    #     without it still satisfy ``isinstance(obj, Objective)``.

    def loss(self, theta: np.ndarray) -> float:
        """``F(theta)``."""

    def nonsmooth_value(self, theta: np.ndarray) -> float:
        """``g(theta)``."""

    def l1_weights(self) -> np.ndarray:
        """Weight of every ``|theta_j|`` in ``g`` (zero for unpenalised entries)."""

    def pseudo_gradient(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Minimum-norm subgradient of ``F`` given ``grad = grad f(theta)``."""

    def optimality(self, theta: np.ndarray, grad: np.ndarray) -> float:
        """Largest absolute entry of the pseudo-gradient."""

    def orthant(self, theta: np.ndarray, pg: np.ndarray) -> np.ndarray:
        """Sign pattern an OWL-QN step from ``theta`` must keep."""

    def project_orthant(self, theta: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Zero, in place, the entries of ``theta`` whose sign left ``xi``."""

    def prox(self, theta: np.ndarray, step: float) -> np.ndarray:
        """Proximal step of ``step * g``, in place."""

    def pack(self, coef, intercept=None) -> np.ndarray:
        """``theta`` of coefficients ``(K, d)`` and intercepts ``(K,)``."""

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients and intercepts of ``theta``."""

    def sgd_pass(
        self, P, optimizer, order, *, batch_size, weight_mean, weight_total
    ) -> tuple[float, int, float]:
        """One minibatch pass over the rows ``order`` (updates ``P`` in place).

        Returns the sum of the minibatch objective estimates, the number of
        updates and the cumulative L1 penalty after the pass.
        """
