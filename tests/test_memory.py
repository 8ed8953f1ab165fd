"""Peak memory: no temporary of the CSR path grows with the stored entries, and
early stopping copies no part of ``X``.

tracemalloc sees every NumPy allocation (NumPy reports them to it), so the
peak it records between start and stop is the extra memory of the code run in
between. The kernels allocate nothing (numba's own allocations would not be
seen): their work arrays come from the objective.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sklearn_softmax import SoftmaxClassifier, _csr_layout
from sklearn_softmax._arrays import Targets
from sklearn_softmax._cpu_caches import CacheSizes
from sklearn_softmax._csr_layout import csr_layout
from sklearn_softmax._objective import SoftmaxObjective

N_ROWS, N_FEATURES, N_CLASSES, PER_ROW = 40_000, 20_000, 5, 50


def _csr(n, d, per_row, seed=0):
    # Skewed column popularity like words in text; int32 indices, as scipy
    # gives for fewer than 2**31 entries. About 1.94e6 entries at full size.
    rng = np.random.default_rng(seed)
    cols = np.sort((d * rng.random((n, per_row)) ** 3).astype(np.int32), axis=1)
    X = sp.csr_matrix(
        (
            rng.standard_normal(n * per_row),
            cols.ravel(),
            np.arange(0, n * per_row + 1, per_row),
        ),
        shape=(n, d),
    )
    X.sum_duplicates()
    assert X.indices.dtype == np.int32 and X.has_sorted_indices
    return X


@pytest.fixture(scope="module")
def X():
    return _csr(N_ROWS, N_FEATURES, PER_ROW)


def _targets(n):
    y = np.random.default_rng(1).integers(0, N_CLASSES, n)
    return Targets.from_labels(y, N_CLASSES), np.ones(n)


def _objective(X, targets, sw):
    return SoftmaxObjective(X, targets, sw, C=1.0, fit_intercept=True)


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    # Compile the kernels for these argument types before measuring: the
    # compiler's own allocations are not the code's.
    small = _csr(600, N_FEATURES, PER_ROW)
    obj = _objective(small, *_targets(600))
    obj.loss_gradient(np.zeros(obj.n_params))


def _peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result


def test_csr_layout_allocates_no_copy_of_the_indices(X):
    assert X.nnz > 1.9e6
    peak, layout = _peak(lambda: csr_layout(X.indices, X.indptr, N_FEATURES, N_CLASSES))
    # Measured 0.31 x the indices' bytes: the 2 MB slice being counted
    # (COUNT_STEP int64 indices) and two arrays of column counts; the result,
    # the segment table (0.6 MB here), is allocated after they are freed.
    # Counting with one np.bincount over all the indices took 2.0 x (their
    # int64 copy).
    assert peak < 0.5 * X.indices.nbytes
    assert peak >= layout.seg.nbytes


def test_objective_and_one_evaluation_stay_small_against_the_data(X, monkeypatch):
    # The row groups depend on the caches: pin an AMD EPYC guest's (1 MB L2,
    # 32 MB L3 for 2 CPUs), where one column block and 16 groups are chosen.
    caches = CacheSizes(32 * 2**10, 2**20, 32 * 2**20, 2)
    monkeypatch.setattr(_csr_layout, "cache_sizes", lambda: caches)
    theta = np.zeros(N_CLASSES * (N_FEATURES + 1))
    # Targets and weights come from encode_targets, before the objective.
    targets, sw = _targets(X.shape[0])

    def build_and_evaluate():
        obj = _objective(X, targets, sw)
        return obj, obj.loss_gradient(theta)

    peak, (obj, (loss, grad)) = _peak(build_and_evaluate)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    # The objective reads X in place: no copy of its arrays.
    for own, arg in zip((X.data, X.indices, X.indptr), obj.data.X_args, strict=True):
        assert np.shares_memory(own, arg)
    data_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    # The row groups' (d + 1) x K partial gradients are bounded by the
    # caches' budget, not by X.
    layout = obj.data._workspace["csr_layout"]
    partials = 8 * layout.n_groups * (N_FEATURES + 1) * N_CLASSES
    assert layout.n_groups == 16
    assert partials <= _csr_layout.partials_budget(caches)
    # Beyond them, 0.15 x the bytes of X (23.4 MB): the layout, the logits
    # of all n rows, the transposed coefficients and the gradient.
    # Any copy of X.data, or an int64 copy of X.indices, alone adds 0.66 x.
    assert peak < 0.5 * data_bytes + partials


def _sgd_fit(X, y, early_stopping):
    clf = SoftmaxClassifier(
        solver="sgd", early_stopping=early_stopping, max_iter=2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


@pytest.mark.parametrize("sparse", [False, True])
def test_early_stopping_copies_no_rows_of_X(sparse):
    rng = np.random.default_rng(2)
    n, d = 40_000, 100
    X = rng.standard_normal((n, d))
    if sparse:
        X[rng.random((n, d)) < 0.8] = 0.0
        X = sp.csr_matrix(X)
        x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    else:
        x_bytes = X.nbytes
    y = rng.integers(0, 3, n)
    for early_stopping in (False, True):
        # Compile for these argument types first (see _compiled).
        _sgd_fit(X[:2000], y[:2000], early_stopping)
    plain, _ = _peak(lambda: _sgd_fit(X, y, False))
    peak, clf = _peak(lambda: _sgd_fit(X, y, True))
    assert len(clf.validation_scores_) == 2
    # Measured (32 MB dense X, 9.8 MB CSR X): the early-stopping fit peaks
    # at 0.135 x (dense) and 0.443 x (CSR) the bytes of X, 0.055 x and
    # 0.094 x above the same fit without early stopping (index arrays of
    # the split, the epoch's visiting order, one chunk of training rows and
    # one block of validation rows at a time). Copying X[train] and X[val]
    # peaked at 1.10 x and 1.47 x.
    assert peak < plain + 0.25 * x_bytes
    if not sparse:
        assert peak < 0.25 * x_bytes
