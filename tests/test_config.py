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


def test_fastmath_policy_keeps_nan_and_inf():
    assert "nnan" not in _config.FASTMATH_FLAGS
    assert "ninf" not in _config.FASTMATH_FLAGS
    assert "fast" not in _config.FASTMATH_FLAGS

    def is_nan(x):
        return x != x

    assert _config.jit(is_nan)(np.nan)


def test_resolve_n_threads_never_exceeds_the_process_limit():
    allowed = numba.config.NUMBA_NUM_THREADS
    assert _config.resolve_n_threads(10_000) == allowed
    assert _config.resolve_n_threads(-1) == allowed
    assert _config.resolve_n_threads(-10_000) == 1
    assert _config.resolve_n_threads(None) == numba.get_num_threads()


def test_partition_depends_on_shape_only():
    assert _config.n_chunks(10, 50) == 1
    assert _config.n_chunks(10**7, 50) == _config.CHUNK_MAX
    big = _config.n_chunks(10**7, 10**7)
    assert big == 1


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
