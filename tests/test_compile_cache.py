"""Faults of numba's on-disk compile cache fall back to compiling without it.

Every variant runs in its own interpreter with ``NUMBA_CACHE_DIR`` pointing
at a temporary directory that is damaged before the run or made to fail while
it runs. The fit must succeed, give the coefficients of a normal fit bit for
bit, and say so with exactly one ``RuntimeWarning`` that mentions the cache.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

from sklearn_softmax import _config

ROOT = Path(__file__).resolve().parents[1]

# 200 rows make one chunk, so a fit compiles only the serial twins (the
# cheapest to compile) and its predictions too; a fault in any of the
# kernels' cache entries still stops the fit.
SCRIPT = """
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    from sklearn_softmax import SoftmaxClassifier
    FAULT = sys.argv[1]
    CACHE_DIR = sys.argv[2]
    exec(compile(open(sys.argv[3]).read(), "fault", "exec"))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = np.arange(200) % 3
    clf = SoftmaxClassifier(max_iter=30).fit(X, y)
    proba = clf.predict_proba(X)
runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
print(json.dumps({
    "coef": clf.coef_.tobytes().hex(),
    "intercept": clf.intercept_.tobytes().hex(),
    "proba": proba.tobytes().hex(),
    "runtime_warnings": runtime,
}))
"""

# Faults set up inside the fitting interpreter, after the package's import
# (the kernels' dispatchers and their caches exist by then).
FAULTS = """
import errno, os, resource, signal, stat, tempfile
import numba.core.caching as caching

def _failing_writes(err, at_open=False):
    real_open = open

    class FailingFile:
        def __init__(self, f):
            self._f = f
        def write(self, data):
            raise OSError(err, os.strerror(err))
        def __getattr__(self, name):
            return getattr(self._f, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self._f.close()

    def fake_open(path, mode="r", *args, **kwargs):
        writing = "w" in mode or "a" in mode
        if writing and at_open:
            raise OSError(err, os.strerror(err))
        f = real_open(path, mode, *args, **kwargs)
        return FailingFile(f) if writing else f

    # The module's own name `open` shadows the builtin for numba's cache only.
    caching.open = fake_open

if FAULT == "full_disk":
    _failing_writes(errno.ENOSPC)
elif FAULT == "file_size_limit":
    # The kernel would otherwise kill the process at the first write past
    # the limit instead of failing the write with EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(
        resource.RLIMIT_FSIZE, (512, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
    )
elif FAULT == "read_only_after_import":
    for dirpath, dirnames, filenames in os.walk(CACHE_DIR):
        os.chmod(dirpath, stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:
        # root writes through file modes: fail as a read-only mount would.
        def read_only(*args, **kwargs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))

        _failing_writes(errno.EROFS, at_open=True)
        caching.tempfile = type("tempfile", (), {"TemporaryFile": read_only})
"""

# Damage done to a warm cache before the fitting interpreter starts.
UNPICKLABLE = b"cno_such_module_for_numba_cache\nGone\n."


def _corrupt(cache_dir, variant):
    kind, _, target = variant.partition("_")
    paths = sorted(cache_dir.rglob("*.nbi" if target == "index" else "*.nbc"))
    assert paths
    rng = np.random.default_rng(0)
    for path in paths:
        raw = path.read_bytes()
        if kind == "truncated":
            path.write_bytes(raw[: len(raw) // 2])
        elif kind == "garbage":
            path.write_bytes(rng.bytes(len(raw)))
        else:
            # A current version header, so numba goes on to unpickle the
            # rest, which names a module that does not exist.
            header = pickle.dumps(numba.__version__, protocol=-1)
            path.write_bytes(header + UNPICKLABLE)


def _run(cache_dir, fault, tmp_path):
    fault_file = tmp_path / "fault.py"
    fault_file.write_text(FAULTS)
    env = {k: v for k, v in os.environ.items() if k != "SKLEARN_SOFTMAX_NO_CACHE"}
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, fault, str(cache_dir), str(fault_file)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cache_warnings(result):
    return [m for m in result["runtime_warnings"] if "cache" in m.lower()]


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A cache filled by a normal fit, and that fit's result."""
    tmp = tmp_path_factory.mktemp("warm")
    cache_dir = tmp / "cache"
    result = _run(cache_dir, "none", tmp)
    assert result["runtime_warnings"] == []
    assert list(cache_dir.rglob("*.nbc"))
    return cache_dir, result


def _assert_same_fit(result, reference):
    for key in ("coef", "intercept", "proba"):
        assert result[key] == reference[key], key


def test_warm_cache_is_used_without_warnings(warm, tmp_path):
    cache_dir, reference = warm
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    before = {p: p.stat().st_mtime_ns for p in copy.rglob("*.nb*")}
    result = _run(copy, "none", tmp_path)
    _assert_same_fit(result, reference)
    assert _cache_warnings(result) == []
    # Loaded, not rewritten: the cache really served this run.
    assert {p: p.stat().st_mtime_ns for p in copy.rglob("*.nb*")} == before


@pytest.mark.parametrize(
    "variant",
    [
        "truncated_index",
        "truncated_data",
        "garbage_index",
        "garbage_data",
        "unpicklable_index",
    ],
)
def test_corrupt_cache_files_fall_back(warm, tmp_path, variant):
    cache_dir, reference = warm
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    _corrupt(copy, variant)
    result = _run(copy, "none", tmp_path)
    _assert_same_fit(result, reference)
    assert len(_cache_warnings(result)) == 1, result["runtime_warnings"]


def test_damaged_data_files_are_rewritten(warm, tmp_path):
    # A bad data file under a sound index is a miss whose compiled code is
    # saved over it: the next process loads the kernels again.
    cache_dir, reference = warm
    copy = tmp_path / "cache"
    shutil.copytree(cache_dir, copy)
    _corrupt(copy, "garbage_data")
    assert len(_cache_warnings(_run(copy, "none", tmp_path))) == 1
    result = _run(copy, "none", tmp_path)
    _assert_same_fit(result, reference)
    assert _cache_warnings(result) == []


@pytest.mark.parametrize(
    "fault", ["full_disk", "file_size_limit", "read_only_after_import"]
)
def test_failing_writes_fall_back(warm, tmp_path, fault):
    _, reference = warm
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    result = _run(cache_dir, fault, tmp_path)
    _assert_same_fit(result, reference)
    assert len(_cache_warnings(result)) == 1, result["runtime_warnings"]
    # Nothing half-written is left for the next process to trip over.
    assert not list(cache_dir.rglob("*.nbc"))
    assert not list(cache_dir.rglob("*.tmp.*"))


class _BrokenCache:
    def __init__(self):
        self.enabled = True
        self.cache_path = "/nowhere"

    def load_overload(self, sig, target_context):
        raise EOFError("Ran out of input")

    def save_overload(self, sig, data):
        raise OSError(28, "No space left on device")

    def disable(self):
        self.enabled = False


def test_fault_tolerant_cache_turns_faults_into_misses(monkeypatch):
    monkeypatch.setattr(_config, "_CACHE_WARNED", False)
    inner = _BrokenCache()
    cache = _config._FaultTolerantCache(inner)
    with pytest.warns(RuntimeWarning, match="reading numba's compile cache") as rec:
        assert cache.load_overload(None, None) is None
    assert "EOFError" in str(rec[0].message)
    assert inner.enabled
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.save_overload(None, None)  # one warning per process only
        assert cache.load_overload(None, None) is None
    assert not inner.enabled  # a failed save stops further writes
    assert cache.cache_path == "/nowhere"  # the rest is delegated


def test_jit_installs_the_fault_tolerant_cache(monkeypatch):
    monkeypatch.delenv("SKLEARN_SOFTMAX_NO_CACHE", raising=False)

    def triple(x):
        return 3 * x

    f = _config.jit(triple)
    assert isinstance(f._cache, _config._FaultTolerantCache)
    assert f(2.0) == 6.0
