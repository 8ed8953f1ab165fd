"""The numba policy module."""

import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest

from sklearn_softmax import _config


def test_cache_falls_back_with_a_warning(monkeypatch):
    real_njit = numba.njit

    def njit_without_cache_locator(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **kwargs)

    monkeypatch.setattr(_config.numba, "njit", njit_without_cache_locator)
    monkeypatch.setattr(_config, "_CACHE_WARNED", False)

    def twice(x):
        return 2 * x

    with pytest.warns(RuntimeWarning, match="no writable cache"):
        f = _config.jit(twice)
    assert f(3.0) == 6.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _config.jit(twice)  # warned once per process only


def _policy_sum(x):
    # A reduction LLVM may reassociate and vectorise under the policy.
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


def _policy_elementwise(x, y):
    out = np.empty((5, x.shape[0]))
    for i in range(x.shape[0]):
        out[0, i] = x[i] != x[i]  # folded to False under nnan
        out[1, i] = abs(x[i]) == np.inf  # folded to False under ninf
        out[2, i] = x[i] - x[i]  # inf - inf is NaN
        out[3, i] = x[i] / y[i]  # numpy's error model: inf, no exception
        out[4, i] = max(x[i], 0.0)
    return out


def test_fastmath_policy_keeps_nan_and_inf():
    f = _config.jit(_policy_elementwise)
    total = _config.jit(_policy_sum)
    assert f.targetoptions["fastmath"] == set(_config.FASTMATH_FLAGS)
    assert f.targetoptions["error_model"] == _config.ERROR_MODEL == "numpy"
    x = np.array([1.5, np.nan, np.inf, -np.inf, -2.0, 0.0, 3.0, np.nan] * 5)
    y = np.array([2.0, 1.0, 1.0, 1.0, 0.0, 0.0, -0.0, 4.0] * 5)
    with np.errstate(all="ignore"):
        expected = np.stack(
            [np.isnan(x), np.isinf(x), x - x, x / y, np.maximum(x, 0.0)]
        )
    got = f(x, y)
    np.testing.assert_array_equal(got[:4], expected[:4])
    # max() with a NaN operand is whichever one the comparison picks.
    finite = ~np.isnan(x)
    np.testing.assert_array_equal(got[4][finite], expected[4][finite])
    assert np.isnan(total(x))
    assert total(np.array([1.0, np.inf, 2.0] * 20)) == np.inf
    assert np.isnan(total(np.array([np.inf, -np.inf] * 20)))
    finite_x = np.arange(64.0)
    assert total(finite_x) == finite_x.sum()


def test_resolve_n_threads_never_exceeds_the_process_limit():
    allowed = numba.config.NUMBA_NUM_THREADS
    assert _config.resolve_n_threads(10_000) == allowed
    assert _config.resolve_n_threads(-1) == allowed
    assert _config.resolve_n_threads(-10_000) == 1
    assert _config.resolve_n_threads(None) == numba.get_num_threads()


def _chunks_by_search(n_rows, partial_size):
    # The largest count within CHUNK_MAX whose chunks all get rows and whose
    # partials fit the budget, found by trying every count.
    best = 1
    for k in range(1, _config.CHUNK_MAX + 1):
        rows_ok = (k - 1) * _config.CHUNK_MIN_ROWS < n_rows
        memory_ok = k * 8 * partial_size <= _config.PARTIALS_BUDGET
        if rows_ok and memory_ok:
            best = k
    return best


SHAPES = [
    (n, p)
    for n in (0, 1, 255, 256, 257, 512, 513, 5000, 16383, 16385, 10**7)
    for p in (1, 50, 5001, 65536, 4 * 2**20, 4 * 2**20 + 1, 10**7)
]


def test_partition_depends_on_shape_only():
    by_threads = []
    for n_jobs in (1, -1):
        with _config.compute_threads(n_jobs):
            by_threads.append([_config.n_chunks(n, p) for n, p in SHAPES])
    assert by_threads[0] == by_threads[1]
    assert by_threads[0] == [_chunks_by_search(n, p) for n, p in SHAPES]
    assert {type(k) for k in by_threads[0]} == {int}


def test_joblib_worker_limit_is_respected():
    code = (
        "import numba, numpy as np;"
        "from sklearn_softmax import SoftmaxClassifier;"
        "X = np.random.default_rng(0).standard_normal((500, 3));"
        "y = np.arange(500) % 3;"
        "SoftmaxClassifier(n_jobs=-1).fit(X, y);"
        "print(numba.get_num_threads(), numba.config.NUMBA_NUM_THREADS)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "NUMBA_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["1", "1"]


def test_twins_have_separate_cache_entries():
    # numba's cache is keyed by qualified name: twins compiled from one source
    # must not share it, or one loads the other's machine code.
    from sklearn_softmax import _kernels

    assert (
        _kernels.fused_dense.py_func.__qualname__
        != _kernels.fused_dense_serial.py_func.__qualname__
    )
    assert _kernels.fused_dense.targetoptions["parallel"]
    assert not _kernels.fused_dense_serial.targetoptions.get("parallel", False)
