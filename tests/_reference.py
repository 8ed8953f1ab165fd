"""Naive NumPy references the kernels and the objective are tested against."""

import numpy as np
from scipy.special import logsumexp


def dense_targets(targets):
    """Dense (n, K) matrix of a ``Targets`` object."""
    n = targets.n_samples
    T = np.zeros((n, targets.n_classes))
    for i in range(n):
        for t in range(targets.ptr[i], targets.ptr[i + 1]):
            T[i, targets.cls[t]] += targets.prob[t]
    return T


def data_term(X, T, sw, coef, intercept, eps):
    """Unnormalised ``sum_i s_i CE_i`` and its gradient ``(K, d + 1)``."""
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    X = X.astype(np.float64)
    K = coef.shape[0]
    Z = X @ coef.astype(np.float64).T + intercept.astype(np.float64)
    lse = logsumexp(Z, axis=1, keepdims=True)
    logp = Z - lse
    T = (1 - eps) * T + eps / K
    loss = float(np.sum(sw * -(T * logp).sum(axis=1)))
    R = sw[:, None] * (np.exp(logp) - T)
    grad = np.hstack([R.T @ X, R.sum(axis=0)[:, None]])
    return loss, grad


def objective(X, T, sw, coef, intercept, C, eps=0.0, penalty_scale=1.0):
    """The full objective of ``SoftmaxObjective`` from the reference data term."""
    loss, _ = data_term(X, T, sw, coef, intercept, eps)
    alpha = 0.0 if np.isinf(C) else penalty_scale / C
    return (loss + 0.5 * alpha * np.sum(coef.astype(np.float64) ** 2)) / sw.sum()
