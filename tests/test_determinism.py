"""Results do not depend on the thread count and are reproducible."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets
from sklearn_softmax._config import compute_threads
from sklearn_softmax._datafit import data_loss_gradient


def _data(sparse=False, dtype=np.float64):
    X, y = make_classification(
        n_samples=6000, n_features=20, n_informative=10, n_classes=5, random_state=0
    )
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bitwise_identical_for_any_n_jobs(sparse, dtype):
    X, y = _data(sparse, dtype)
    fits = [
        SoftmaxClassifier(n_jobs=n_jobs, max_iter=50).fit(X, y)
        for n_jobs in (1, 2, -1, 1)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
        assert other.n_iter_ == fits[0].n_iter_
    np.testing.assert_array_equal(fits[1].predict_proba(X), fits[0].predict_proba(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_n_jobs_restores_thread_count():
    X, y = _data()
    before = numba.get_num_threads()
    SoftmaxClassifier(n_jobs=1, max_iter=5).fit(X, y)
    assert numba.get_num_threads() == before


def test_n_jobs_restored_after_error():
    before = numba.get_num_threads()
    with pytest.raises(ValueError):
        SoftmaxClassifier(n_jobs=1).fit(np.full((4, 2), np.nan), [0, 1, 0, 1])
    assert numba.get_num_threads() == before


FORK_SCRIPT = """
import multiprocessing as mp
import numpy as np
from sklearn_softmax import SoftmaxClassifier

rng = np.random.default_rng(0)
X = rng.standard_normal((3000, 5))
y = np.arange(3000) % 3
parent = SoftmaxClassifier().fit(X, y)  # the parent uses the parallel kernels


def work(_):
    clf = SoftmaxClassifier().fit(X, y)
    return clf.coef_.tobytes(), clf.predict_proba(X).tobytes()


if __name__ == "__main__":
    with mp.get_context("fork").Pool(2) as pool:
        results = pool.map(work, range(2))
    same = all(
        c == parent.coef_.tobytes() and p == parent.predict_proba(X).tobytes()
        for c, p in results
    )
    print("SAME" if same else "DIFFERENT")
"""


@pytest.mark.parametrize("variant", ["dense", "two-loop", "csr"])
def test_fit_in_forked_children(tmp_path, variant):
    # GNU OpenMP aborts a forked child that launches a parallel region; the
    # children must fall back to the serial twins and get identical bits,
    # also in the vector kernel of the two-loop L-BFGS and in the CSR
    # kernel's layout pass.
    import subprocess
    import sys

    script = tmp_path / "fork_fit.py"
    source = FORK_SCRIPT
    if variant == "csr":
        source = source.replace(
            "X = rng.standard_normal((3000, 5))\n",
            "import scipy.sparse as sp\n"
            "X = sp.random(3000, 400, density=0.1, format='csr', random_state=0)\n",
        )
        assert source != FORK_SCRIPT
    if variant == "two-loop":
        source = source.replace(
            "import multiprocessing as mp\n",
            "import multiprocessing as mp\n"
            "import sklearn_softmax._solvers._lbfgs as lbfgs_module\n"
            "lbfgs_module.TWO_LOOP_MIN_PARAMS = 0\n",
        )
        assert source != FORK_SCRIPT
    script.write_text(source)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SAME", out.stdout + out.stderr


@pytest.mark.parametrize("parallel", [False, True])
def test_same_bits_whatever_the_heap_layout(parallel):
    # The kernels allocate their work space inside; where it lands must not
    # change the result. (A loss reduction that shared its loop with stores
    # let LLVM pick vector or scalar code by the addresses at run time, which
    # changed the loss in the last bits in most runs of this test.)
    X, y = make_classification(
        n_samples=1500, n_features=12, n_informative=6, n_classes=3, random_state=5
    )
    targets = Targets.from_labels(y, 3)
    coef, intercept = np.zeros((3, 12)), np.zeros(3)
    rng = np.random.default_rng(0)
    seen = set()
    with compute_threads(None):
        for _ in range(300):
            shift = [np.empty(rng.integers(1, 3000)) for _ in range(3)]
            loss, grad = data_loss_gradient(
                (X,), False, targets, np.ones(1500), coef, intercept, 0.0, parallel
            )
            seen.add((loss, grad.tobytes()))
            del shift
    assert len(seen) == 1


@pytest.mark.parametrize(
    "caches",
    [(2**20, 32 * 2**20, 2), (2**18, 2**21, 4), (2**17, 0, 1)],
    ids=["amd", "small-l3", "no-l3"],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_csr_bitwise_for_any_n_jobs_whatever_the_caches(caches, monkeypatch):
    # The CSR layout comes from the data and the machine's caches, never from
    # the thread count: under each machine's caches every n_jobs gives the
    # same bits. The three layouts differ: one column block and 15 row
    # groups; 2 blocks and 6 groups; 3 blocks, 6 groups and spans of 2,304
    # rows.
    from sklearn_softmax import _csr_layout
    from sklearn_softmax._cpu_caches import CacheSizes

    fake = CacheSizes(32 * 2**10, *caches)
    monkeypatch.setattr(_csr_layout, "cache_sizes", lambda: fake)
    rng = np.random.default_rng(0)
    X = sp.random(4000, 3000, density=0.01, format="csr", random_state=0)
    y = rng.integers(0, 7, 4000)
    fits = [
        SoftmaxClassifier(n_jobs=n_jobs, max_iter=30).fit(X, y) for n_jobs in (1, 2, -1)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
