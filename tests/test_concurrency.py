"""Fits and predictions from several Python threads at once.

numba's ``workqueue`` threading layer aborts the whole interpreter when two
threads launch parallel regions at the same time, so every multi-threaded
run is made in a subprocess: an abort is a failed test, not a lost session.
"""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numba
import pytest

from sklearn_softmax import _config

ROOT = Path(__file__).resolve().parents[1]


def _python(code, **env):
    full_env = {**os.environ, **env}
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), full_env.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def _layer_available(layer):
    code = (
        "import numba, numpy as np\n"
        "@numba.njit(parallel=True)\n"
        "def f(x):\n"
        "    for i in numba.prange(x.size):\n"
        "        x[i] += 1.0\n"
        "f(np.zeros(4))\n"
        "print(numba.threading_layer())\n"
    )
    proc = _python(code, NUMBA_THREADING_LAYER=layer)
    return proc.returncode == 0 and proc.stdout.split()[-1:] == [layer]


# Every configuration is fitted once alone (which also compiles the kernels),
# then by N_THREADS threads released together by a barrier, each fitting and
# predicting several times with the configurations in a thread-dependent
# order, so that dense and CSR fits and predictions overlap.
CONCURRENT = """
import json, threading
import numba, numpy as np, scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
import warnings
warnings.simplefilter("ignore", ConvergenceWarning)
from sklearn_softmax import SoftmaxClassifier
N_THREADS, ROUNDS = {n_threads}, {rounds}
rng = np.random.default_rng(0)
X = rng.standard_normal((3000, 8))
y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 0)
configs = {{
    "dense": (X, dict(max_iter=40)),
    "dense32": (X.astype(np.float32), dict(max_iter=40)),
    "csr": (sp.csr_matrix(np.where(np.abs(X) > 0.7, X, 0.0)), dict(max_iter=40)),
    "sgd": (X, dict(solver="sgd", max_iter=3, batch_size=256, random_state=0)),
}}
names = sorted(configs)

def run(name):
    data, params = configs[name]
    clf = SoftmaxClassifier(**params).fit(data, y)
    return [clf.coef_.tobytes(), clf.intercept_.tobytes(),
            clf.predict_proba(data).tobytes(), clf.predict(data).tobytes()]

reference = {{name: run(name) for name in names}}
barrier = threading.Barrier(N_THREADS)
results, errors = [], []

def work(i):
    try:
        for r in range(ROUNDS):
            barrier.wait()
            for k in range(len(names)):
                name = names[(i + r + k) % len(names)]
                results.append((name, run(name)))
    except BaseException as exc:
        errors.append(repr(exc))
        barrier.abort()

threads = [threading.Thread(target=work, args=(i,)) for i in range(N_THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({{
    "layer": numba.threading_layer(),
    "errors": errors,
    "n_results": len(results),
    "mismatches": sorted({{n for n, res in results if res != reference[n]}}),
}}))
"""


@pytest.mark.parametrize("n_threads", [2, 4])
@pytest.mark.parametrize("layer", ["workqueue", "omp"])
def test_concurrent_fits_match_the_sequential_fit(layer, n_threads):
    if not _layer_available(layer):
        pytest.skip(f"numba's {layer} threading layer does not load here")
    rounds = 2
    proc = _python(
        CONCURRENT.format(n_threads=n_threads, rounds=rounds),
        NUMBA_THREADING_LAYER=layer,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["layer"] == layer
    assert out["errors"] == []
    assert out["n_results"] == n_threads * rounds * 4
    assert out["mismatches"] == []


# --- ownership of the parallel kernels, in this process --------------------


def _in_thread(func):
    box = []
    t = threading.Thread(target=lambda: box.append(func()))
    t.start()
    t.join()
    return box[0]


def _owner_in_a_block():
    with _config.compute_threads(1):
        return _config.parallel_allowed()


@pytest.fixture
def unsafe_layer(monkeypatch):
    """Pretend numba runs the ``workqueue`` layer (no kernel is launched)."""
    monkeypatch.setattr(_config, "_LAYER_THREADSAFE", False)
    monkeypatch.setattr(_config, "_PARALLEL_LOCK", threading.Lock())


def test_one_thread_at_a_time_owns_the_parallel_kernels(unsafe_layer):
    assert not _config.parallel_allowed()  # outside any block: serial
    with _config.compute_threads(1):
        assert _config.parallel_allowed()
        with _config.compute_threads(None):  # nested blocks keep ownership
            assert _config.parallel_allowed()
        assert _config.parallel_allowed()

        assert _in_thread(_owner_in_a_block) is False
    assert not _config.parallel_allowed()
    # Released: the next block, in any thread, owns the kernels.
    assert _in_thread(_owner_in_a_block) is True


def test_ownership_is_released_after_an_error(unsafe_layer):
    with pytest.raises(KeyError), _config.compute_threads(1):
        assert _config._PARALLEL_LOCK.locked()
        raise KeyError("fit failed")
    assert not _config._PARALLEL_LOCK.locked()
    assert _in_thread(_owner_in_a_block)


def test_threadsafe_layers_need_no_owner(monkeypatch):
    monkeypatch.setattr(_config, "_LAYER_THREADSAFE", True)
    with _config.compute_threads(1):
        assert _in_thread(_config.parallel_allowed)
        assert not _config._PARALLEL_LOCK.locked()


def test_the_layer_is_the_one_numba_runs():
    expected = numba.threading_layer() in {"tbb", "omp"}
    assert _config.threading_layer_threadsafe() is expected


# --- BLAS limits --------------------------------------------------------------

# threadpoolctl lets only one Python thread at a time set OpenBLAS's limit,
# so the machine's BLAS is raised to 2 threads (when it runs 1) from a helper
# thread that then hands control back, never from the main thread.
BLAS_PRELUDE = """
import json, threading
import numpy as np, scipy.linalg
import threadpoolctl
from threadpoolctl import threadpool_info, threadpool_limits

def blas():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

if blas() and min(blas()) < 2:
    def raise_to_two():
        threadpool_limits(limits=2, user_api="blas")
        threadpoolctl.OpenBLASController.clear_controlling_thread(force=True)
    t = threading.Thread(target=raise_to_two)
    t.start()
    t.join()
before = blas()
"""

BLAS_INTERLEAVED = (
    BLAS_PRELUDE
    + """
from sklearn_softmax._config import compute_threads
a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
inside = {}

def a():
    with compute_threads(1):
        a_in.set()
        b_in.wait()
        inside["a"] = blas()
    a_out.set()

def b():
    a_in.wait()
    with compute_threads(1):
        b_in.set()
        a_out.wait()  # outlives the block that set the limit
        inside["b"] = blas()

threads = [threading.Thread(target=f) for f in (a, b)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"before": before, "inside": inside, "after": blas()}))
"""
)

BLAS_FITS = (
    BLAS_PRELUDE
    + """
from sklearn.exceptions import ConvergenceWarning
import warnings
warnings.simplefilter("ignore", ConvergenceWarning)
from sklearn_softmax import SoftmaxClassifier
rng = np.random.default_rng(0)
X = rng.standard_normal((1500, 6))
y = np.arange(1500) % 3
barrier = threading.Barrier(4)
rounds = []

def work(i):
    for r in range(5):
        barrier.wait()
        # Fits of different lengths end in another order than they began.
        SoftmaxClassifier(max_iter=3 + 6 * ((i + r) % 4)).fit(X, y)
        if barrier.wait() == 0:
            rounds.append(blas())

threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({"before": before, "rounds": rounds, "after": blas()}))
"""
)


def _blas_run(code):
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not out["before"]:
        pytest.skip("no BLAS library found by threadpoolctl")
    assert min(out["before"]) >= 2
    return out


def test_overlapping_blocks_keep_the_user_blas_limit():
    out = _blas_run(BLAS_INTERLEAVED)
    ones = [1] * len(out["before"])
    # Both blocks ran with one BLAS thread, though the first one in left
    # before the second, and the user's setting is back afterwards.
    assert out["inside"] == {"a": ones, "b": ones}
    assert out["after"] == out["before"]


def test_overlapping_fits_restore_blas_threads():
    out = _blas_run(BLAS_FITS)
    assert out["rounds"] == [out["before"]] * 5
    assert out["after"] == out["before"]
