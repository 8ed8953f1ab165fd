"""Data and checks shared by the dask tests (imported only when dask is installed)."""

import gc
import time

import numpy as np

from sklearn_softmax._config import n_chunks


def make_data(n=6000, d=8, K=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    W = rng.standard_normal((K, d))
    Z = X @ W.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
    sw = rng.uniform(0.2, 3.0, n)
    return X, y, sw


def aligned_chunks(n, d, K, chunks_per_block):
    """Row chunks on the in-memory chunk boundaries of the data term."""
    c = n_chunks(n, K * (d + 1))
    bounds = [(j * n) // c for j in range(c + 1)][::chunks_per_block]
    if bounds[-1] != n:
        bounds.append(n)
    return tuple(int(b) for b in np.diff(bounds))


def wait_released(client, keep=(), rounds=400):
    """Wait until the cluster holds no keys but ``keep``; return what is left."""
    left = None
    for _ in range(rounds):
        gc.collect()
        held = {k for keys in client.has_what().values() for k in keys}
        left = held - set(keep)
        if not left:
            return left
        time.sleep(0.05)
    return left


def assert_same_fit(a, b):
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(a.n_iter_, b.n_iter_)
    np.testing.assert_array_equal(a.classes_, b.classes_)
