"""Penalty objects: strengths, proximal operator, pseudo-gradient, orthant."""

import numpy as np
import pytest

from sklearn_softmax._penalty import L1, L2, ElasticNet


def test_strengths_follow_logistic_regression():
    p = ElasticNet.for_estimator(C=0.5, l1_ratio=0.25, n_classes=3)
    assert (p.l1, p.l2) == (0.25 / 0.5, 0.75 / 0.5)
    # Two classes: the quadratic term is doubled, the L1 term kept.
    b = ElasticNet.for_estimator(C=0.5, l1_ratio=0.25, n_classes=2)
    assert (b.l1, b.l2) == (0.5, 3.0)
    assert ElasticNet(np.inf, 0.7).l1 == ElasticNet(np.inf, 0.7).l2 == 0.0
    assert L2(2.0).l1 == 0.0 and L2(2.0).l2 == 0.5
    assert L1(2.0).l2 == 0.0 and L1(2.0).l1 == 0.5
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNet(1.0, 1.5)
    with pytest.raises(ValueError, match="C must be positive"):
        ElasticNet(0.0, 0.5)
    with pytest.raises(ValueError):
        L1(1.0, l1_ratio=0.5)


def test_with_C_keeps_the_kind_and_the_ratio():
    p = L1(1.0, l2_scale=2.0).with_C(0.1)
    assert type(p) is L1 and p.l1_ratio == 1.0 and p.l2_scale == 2.0 and p.C == 0.1
    q = ElasticNet(1.0, 0.3).with_C(4.0)
    assert q.l1 == pytest.approx(0.3 / 4.0) and q.l2 == pytest.approx(0.7 / 4.0)


def test_value_and_smooth_gradient():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 5))
    p = ElasticNet(0.4, 0.3)
    assert p.value(W) == pytest.approx(
        p.l1 * np.abs(W).sum() + 0.5 * p.l2 * np.sum(W**2), rel=1e-14
    )
    G = np.zeros_like(W)
    p.add_smooth_gradient(W, G)
    np.testing.assert_allclose(G, p.l2 * W, rtol=1e-15)


def test_prox_is_the_minimiser_of_the_proximal_problem():
    # prox(v) = argmin_w  l1 |w| + (w - v)^2 / (2 step), checked on a grid.
    p = L1(0.5)
    step = 0.3
    grid = np.linspace(-4, 4, 80001)
    for v in (-3.0, -0.2, 0.0, 0.1, 0.6, 2.5):
        best = grid[np.argmin(p.l1 * np.abs(grid) + (grid - v) ** 2 / (2 * step))]
        assert p.prox(np.array([[v]]), step)[0, 0] == pytest.approx(best, abs=2e-4)


def test_pseudo_gradient_is_the_minimum_norm_subgradient():
    p = L1(1.0)  # l1 = 1
    W = np.array([[0.0, 0.0, 0.0, 2.0, -1.0]])
    G = np.array([[0.5, 1.5, -3.0, 0.25, 0.25]])
    pg = p.pseudo_gradient(W, G)
    # At zero: the point of [G - 1, G + 1] nearest to 0; elsewhere G + sign(W).
    np.testing.assert_array_equal(pg, [[0.0, 0.5, -2.0, 1.25, -0.75]])
    np.testing.assert_array_equal(
        p.pseudo_gradient(W, G, scale=0.5), [[0.0, 1.0, -2.5, 0.75, -0.25]]
    )
    # The orthant of a step: the sign of W, or against the pseudo-gradient.
    np.testing.assert_array_equal(p.orthant(W, pg), [[0.0, -1.0, 1.0, 1.0, -1.0]])
    # Without an L1 part the pseudo-gradient is the gradient (a copy).
    q = L2(1.0)
    out = q.pseudo_gradient(W, G)
    np.testing.assert_array_equal(out, G)
    assert out is not G
