r"""Penalties on the coefficients: L2, L1 and the elastic net between them.

A penalty acts on the coefficient block ``W`` (``K x d``; intercepts are never
penalised) and is

.. math::

    R(W) = \lambda_1 \lVert W \rVert_1 + \frac{\lambda_2}{2} \lVert W \rVert_F^2 .

The objective divides it by the total sample weight ``S`` together with the
data term. The quadratic part is smooth and enters the gradient the solvers
see; the L1 part is not, and is handled by the operations a solver for a
composite problem needs: its value, the proximal operator (soft thresholding),
the minimum-norm subgradient of smooth part plus L1 (OWL-QN's pseudo-gradient)
and the orthant OWL-QN searches in. Every operation is elementwise, so a
penalty applies equally to ``W`` or to any view of it.

Penalties are small immutable values: changing the strength along a
regularisation path is :meth:`ElasticNet.with_C`, and the data term, its
buffers and its CSR layout stay as they are.

How the estimator's ``C`` and ``l1_ratio`` become ``lambda_1`` and
``lambda_2`` is :meth:`ElasticNet.for_estimator`, the one place that knows
the binary special case.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ElasticNet", "L1", "L2"]


class ElasticNet:
    r"""The penalty ``l1 ||W||_1 + l2 ||W||^2 / 2`` with ``l1, l2 >= 0``.

    Parameters
    ----------
    C : float
        Inverse regularisation strength, ``np.inf`` for no penalty.
    l1_ratio : float in [0, 1]
        Share of the L1 term: ``l1 = l1_ratio / C`` and
        ``l2 = l2_scale * (1 - l1_ratio) / C``.
    l2_scale : float, default=1.0
        Multiplies the quadratic term (2 for the binary special case, see
        :meth:`for_estimator`).
    """

    def __init__(self, C, l1_ratio, l2_scale=1.0):
        C = float(C)
        if not C > 0:
            raise ValueError(f"C must be positive, got {C}.")
        r = float(l1_ratio)
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}.")
        self.C, self.l1_ratio, self.l2_scale = C, r, float(l2_scale)
        if np.isinf(C):
            self.l1 = self.l2 = 0.0
        else:
            self.l1 = r / C
            self.l2 = (self.l2_scale * (1.0 - r)) / C

    @classmethod
    def for_estimator(cls, C, l1_ratio, n_classes):
        """Return the penalty of an estimator with ``C`` and ``l1_ratio``.

        LogisticRegression fits one logit ``w`` for two classes, penalised by
        ``(r ||w||_1 + (1 - r) ||w||^2 / 2) / C``. The symmetric two-row
        softmax ``W = (-w / 2, w / 2)`` has ``||W||^2 = ||w||^2 / 2`` and
        ``||W||_1 = ||w||_1``, and any optimum of the two-row problem with
        ``r < 1`` is symmetric (the quadratic term prefers the even split of
        a difference). So the quadratic term is doubled and the L1 term kept:
        both problems then have the same minimisers ``w = W_1 - W_0``.
        """
        return cls(C, l1_ratio, l2_scale=2.0 if n_classes == 2 else 1.0)

    def with_C(self, C):
        """Return the same kind of penalty with another ``C``."""
        return type(self)(C, self.l1_ratio, self.l2_scale)

    def __repr__(self):
        return (
            f"{type(self).__name__}(C={self.C!r}, l1_ratio={self.l1_ratio!r}, "
            f"l2_scale={self.l2_scale!r})"
        )

    @property
    def is_smooth(self):
        """Whether the penalty has no L1 part."""
        return self.l1 == 0.0

    def smooth_value(self, W):
        """``l2 ||W||^2 / 2``."""
        if not self.l2:
            return 0.0
        # einsum reads a strided view in place (np.dot of its ravel copies).
        return 0.5 * self.l2 * float(np.einsum("ij,ij->", W, W))

    def add_smooth_gradient(self, W, G):
        """Add the gradient ``l2 W`` of the smooth part to ``G`` in place."""
        if self.l2:
            G += self.l2 * W

    def l1_value(self, W):
        """``l1 ||W||_1``."""
        if not self.l1:
            return 0.0
        return self.l1 * float(np.abs(W).sum())

    def value(self, W):
        """Return the whole penalty ``R(W)``."""
        return self.smooth_value(W) + self.l1_value(W)

    def prox(self, W, step):
        """Proximal operator of ``step * l1 ||.||_1``: soft thresholding."""
        t = step * self.l1
        return np.sign(W) * np.maximum(np.abs(W) - t, 0.0)

    def pseudo_gradient(self, W, G, scale=1.0):
        """Minimum-norm subgradient of ``f + scale l1 ||.||_1`` given ``G = grad f``.

        Where ``W != 0`` it is ``G + lam sign(W)`` with ``lam = scale * l1``;
        where ``W == 0`` it is the point of ``[G - lam, G + lam]`` nearest to
        zero. It vanishes exactly at a minimiser, so its largest absolute entry
        measures optimality.
        """
        if not self.l1:
            return np.array(G, dtype=np.float64, copy=True)
        lam = scale * self.l1
        at_zero = np.sign(G) * np.maximum(np.abs(G) - lam, 0.0)
        return np.where(W != 0.0, G + lam * np.sign(W), at_zero)

    def orthant(self, W, PG):
        """Sign pattern OWL-QN keeps during a step: ``sign(W)``, or ``-sign(PG)``."""
        return np.where(W != 0.0, np.sign(W), -np.sign(PG))


class L2(ElasticNet):
    """The squared-norm penalty ``l2_scale ||W||^2 / (2 C)``."""

    def __init__(self, C, l1_ratio=0.0, l2_scale=1.0):
        if l1_ratio != 0.0:
            raise ValueError("L2 has l1_ratio=0; use ElasticNet.")
        super().__init__(C, 0.0, l2_scale)


class L1(ElasticNet):
    """The absolute-value penalty ``||W||_1 / C``."""

    def __init__(self, C, l1_ratio=1.0, l2_scale=1.0):
        if l1_ratio != 1.0:
            raise ValueError("L1 has l1_ratio=1; use ElasticNet.")
        super().__init__(C, 1.0, l2_scale)
