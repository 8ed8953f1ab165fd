"""The column-blocked CSR kernel and its layout, against NumPy references."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from _reference import data_term, dense_targets

from sklearn_softmax import _csr_layout, _kernels
from sklearn_softmax._arrays import Targets
from sklearn_softmax._arrays import prepare_X as _prepare_X
from sklearn_softmax._config import CHUNK_MIN_ROWS, PARTIALS_BUDGET
from sklearn_softmax._cpu_caches import CacheSizes
from sklearn_softmax._csr_layout import csr_layout
from sklearn_softmax._datafit import data_loss_gradient
from sklearn_softmax._objective import SoftmaxObjective


def _skewed_csr(rng, n, d, nnz, dtype=np.float64):
    # Popular columns first, like words in text; a few empty rows and a band
    # of columns no row uses.
    cols = (d * rng.random(n * nnz) ** 3).astype(np.int64)
    cols[(cols > d // 2) & (cols < d // 2 + 5)] = 0
    X = sp.csr_matrix(
        (rng.standard_normal(n * nnz), cols, np.arange(0, n * nnz + 1, nnz)),
        shape=(n, d),
    )
    X.sum_duplicates()
    X = sp.csr_matrix(X.multiply((rng.random((n, 1)) > 0.05).astype(float)))
    X.eliminate_zeros()
    return X.astype(dtype)


def _naive_segments(X, bounds):
    seg = np.empty((bounds.shape[0], X.shape[0]), dtype=np.int64)
    for i in range(X.shape[0]):
        p0, p1 = X.indptr[i], X.indptr[i + 1]
        seg[:, i] = p0 + np.searchsorted(X.indices[p0:p1], bounds)
    seg[-1] = X.indptr[1:]
    return seg


# Cache sizes of the layouts below: block_bytes gives the slice (no L3:
# half of L2; an L3 shared by 2**20 CPUs adds nothing to it) and the L3,
# when there is one, the span and the partials' budget.
_AMD = CacheSizes(32 * 2**10, 2**20, 32 * 2**20, 2)


def _caches(block):
    return CacheSizes(32 * 2**10, 2 * block, 64 * 2**20, 2**20)


# (caches, Z_BYTES, MIN_TASKS) and the regime each layout is for, on the
# data of the tests below (5 or 6 classes, 300 or 400 columns, 700 to 1500
# rows): how the column blocks are bounded ("one" block; by the "width" the
# cache allows; by the "entries" per row), whether a kernel call covers a
# single row chunk of several, and what caps the row groups ("tasks": just
# enough for MIN_TASKS; "rows": one group per CHUNK_MIN_ROWS rows).
LAYOUTS = {
    "default": ((_AMD, _csr_layout.Z_BYTES, 16), ("one", False, "rows")),
    "width": ((_caches(8 * 6 * 80), _csr_layout.Z_BYTES, 8), ("width", False, "tasks")),
    "entries": (
        (_caches(8 * 5 * 16), _csr_layout.Z_BYTES, 8),
        ("entries", False, "tasks"),
    ),
    "entries+spans": (
        (_caches(8 * 5 * 16), 8 * 5 * 256, 8),
        ("entries", True, "tasks"),
    ),
    "groups": ((_caches(8 * 6 * 100), 8 * 5 * 256, 64), ("width", True, "rows")),
}


def _patch_layout(mp, name):
    (caches, z, tasks), _ = LAYOUTS[name]
    # Every layout the kernels' drivers compute uses these caches.
    mp.setattr(_csr_layout, "cache_sizes", lambda: caches)
    mp.setattr(_csr_layout, "Z_BYTES", z)
    mp.setattr(_csr_layout, "MIN_TASKS", tasks)


@pytest.fixture(params=list(LAYOUTS))
def layout_constants(request, monkeypatch):
    _patch_layout(monkeypatch, request.param)
    return request.param


def _regime(layout, X, n_classes):
    """The regime of ``layout`` (see LAYOUTS), read from its attributes."""
    n, d = X.shape
    widths = np.diff(layout.bounds)
    slice_bytes = _csr_layout.block_bytes(_csr_layout.cache_sizes())
    cap = max(8, slice_bytes // (8 * n_classes))
    if layout.n_blocks == 1:
        blocks = "one"
    elif widths.max() == cap and layout.n_blocks >= -(-d // cap):
        # Some block is cut at the widest the cache allows.
        blocks = "width"
    elif widths.max() > cap and layout.n_blocks <= X.nnz // n // 4:
        # Some block is wider than the cache allows: only the entries count.
        blocks = "entries"
    else:
        blocks = "neither"
    one_chunk_spans = layout.span == _kernels.ROW_CHUNK < n
    by_tasks = -(-_csr_layout.MIN_TASKS // layout.n_blocks)
    by_rows = n // CHUNK_MIN_ROWS
    if layout.n_groups == by_tasks <= by_rows:
        groups = "tasks"
    elif layout.n_groups == by_rows < by_tasks:
        groups = "rows"
    else:
        groups = "neither"
    return blocks, one_chunk_spans, groups


def _assert_regime(name, X, n_classes):
    """Fail unless the fixture's layout ``name`` reaches its regime on ``X``."""
    layout = csr_layout(X.indices, X.indptr, X.shape[1], n_classes)
    assert _regime(layout, X, n_classes) == LAYOUTS[name][1]
    # Every layout above splits the gradient into several row groups.
    assert layout.n_groups > 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("parallel", [True, False])
def test_segments_match_searchsorted(dtype, parallel, layout_constants):
    rng = np.random.default_rng(0)
    X = _skewed_csr(rng, 700, 300, 40, dtype)
    _assert_regime(layout_constants, X, 5)
    layout = csr_layout(X.indices, X.indptr, 300, 5, parallel)
    assert layout.bounds[0] == 0 and layout.bounds[-1] == 300
    assert np.all(np.diff(layout.bounds) > 0)
    assert layout.seg.dtype == X.indptr.dtype
    np.testing.assert_array_equal(layout.seg, _naive_segments(X, layout.bounds))
    assert layout.span % _kernels.ROW_CHUNK == 0


def test_layout_respects_cache_and_entry_limits():
    rng = np.random.default_rng(1)
    X = _skewed_csr(rng, 2000, 20_000, 48)
    # 512 KB slices (no L3: half of L2).
    caches = CacheSizes(32 * 2**10, 2**20)
    layout = csr_layout(X.indices, X.indptr, 20_000, 20, caches=caches)
    width = 512 * 2**10 // (8 * 20)
    assert layout.n_blocks >= -(-20_000 // width)
    assert np.diff(layout.bounds).max() <= width
    # Popular columns come first: equal shares of the entries make the first
    # blocks narrower than the last.
    assert np.diff(layout.bounds)[0] < np.diff(layout.bounds)[-2]
    # With 3 entries per row no block is worth its loop start.
    Y = _skewed_csr(rng, 2000, 20_000, 3)
    assert csr_layout(Y.indices, Y.indptr, 20_000, 20, caches=caches).n_blocks == 1
    # Many blocks: one row group and no partials beyond it.
    assert layout.n_groups == max(1, -(-_csr_layout.MIN_TASKS // layout.n_blocks))


def test_column_counts_in_slices(monkeypatch):
    # Counting in slices (no int64 copy of all the indices) gives the counts
    # and the layout of one np.bincount over all of them, bit for bit.
    rng = np.random.default_rng(5)
    X = _skewed_csr(rng, 900, 300, 40)
    whole = csr_layout(X.indices, X.indptr, 300, 5)
    assert X.nnz < _csr_layout.COUNT_STEP
    monkeypatch.setattr(_csr_layout, "COUNT_STEP", 1000)
    assert X.nnz % 1000 and X.nnz > 10 * 1000
    np.testing.assert_array_equal(
        _csr_layout._column_counts(X.indices, 300),
        np.bincount(X.indices, minlength=300),
    )
    sliced = csr_layout(X.indices, X.indptr, 300, 5)
    np.testing.assert_array_equal(sliced.bounds, whole.bounds)
    np.testing.assert_array_equal(sliced.seg, whole.seg)
    # Slices are never shorter than a row of counts.
    monkeypatch.setattr(_csr_layout, "COUNT_STEP", 1)
    np.testing.assert_array_equal(
        _csr_layout._column_counts(X.indices, 300),
        np.bincount(X.indices, minlength=300),
    )


def test_layout_of_degenerate_matrices():
    empty = sp.csr_matrix((300, 40))
    layout = csr_layout(empty.indices, empty.indptr, 40, 3)
    np.testing.assert_array_equal(layout.bounds, [0, 40])
    assert np.all(layout.seg == 0)
    no_cols = sp.csr_matrix((300, 0))
    assert csr_layout(no_cols.indices, no_cols.indptr, 0, 3).n_blocks == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("soft", [False, True])
def test_loss_gradient_matches_reference(dtype, eps, soft, layout_constants):
    rng = np.random.default_rng(2)
    n, d, K = 1100, 300, 5
    X = _skewed_csr(rng, n, d, 40, dtype)
    _assert_regime(layout_constants, X, K)
    coef = rng.standard_normal((K, d)) * 0.3
    intercept = rng.standard_normal(K)
    sw = rng.uniform(0.1, 2.0, n)
    if soft:
        targets = Targets.from_proba(rng.dirichlet(np.ones(K), size=n))
    else:
        targets = Targets.from_labels(rng.integers(0, K, n), K)
    ref_loss, ref_grad = data_term(X, dense_targets(targets), sw, coef, intercept, eps)
    _, X_args, _, _ = _prepare_X(X)
    results = []
    for parallel in (True, False):
        loss, grad = data_loss_gradient(
            X_args, True, targets, sw, coef, intercept, eps, parallel
        )
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
        np.testing.assert_allclose(
            grad, ref_grad, rtol=1e-11, atol=1e-12 * np.abs(ref_grad).max()
        )
        results.append((loss, grad))
    # The serial twin walks the same chunks and tasks: the same bits.
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_same_bits_for_any_thread_count(layout_constants):
    rng = np.random.default_rng(3)
    X = _skewed_csr(rng, 1500, 400, 30)
    _assert_regime(layout_constants, X, 6)
    targets = Targets.from_labels(rng.integers(0, 6, 1500), 6)
    obj = SoftmaxObjective(X, targets, np.ones(1500), C=1.0, fit_intercept=True)
    theta = rng.standard_normal(obj.n_params) * 0.2
    previous = numba.get_num_threads()
    results = []
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            results.append(obj.loss_gradient(theta))
            # The layout is kept between evaluations: a second call is equal.
            results.append(obj.loss_gradient(theta))
    finally:
        numba.set_num_threads(previous)
    for loss, grad in results[1:]:
        assert loss == results[0][0]
        np.testing.assert_array_equal(grad, results[0][1])


def test_unsorted_indices_are_sorted_into_a_copy():
    rng = np.random.default_rng(4)
    X = _skewed_csr(rng, 400, 50, 10)
    shuffled = X.copy()
    for i in range(shuffled.shape[0]):
        p0, p1 = shuffled.indptr[i], shuffled.indptr[i + 1]
        order = rng.permutation(p1 - p0)
        shuffled.indices[p0:p1] = shuffled.indices[p0:p1][order]
        shuffled.data[p0:p1] = shuffled.data[p0:p1][order]
    shuffled.has_sorted_indices = False
    before = shuffled.indices.copy()
    targets = Targets.from_labels(rng.integers(0, 3, 400), 3)
    theta = rng.standard_normal(3 * 51)
    kw = dict(C=1.0, fit_intercept=True)
    f_sorted = SoftmaxObjective(X, targets, np.ones(400), **kw).loss_gradient(theta)
    f_shuffled = SoftmaxObjective(shuffled, targets, np.ones(400), **kw).loss_gradient(
        theta
    )
    np.testing.assert_array_equal(shuffled.indices, before)
    assert f_shuffled[0] == pytest.approx(f_sorted[0], rel=1e-14)
    np.testing.assert_allclose(f_shuffled[1], f_sorted[1], rtol=1e-13, atol=1e-15)
    # The kernel's own entry point refuses unsorted rows instead of
    # computing wrong segments.
    with pytest.raises(ValueError, match="sorted within each row"):
        csr_layout(shuffled.indices, shuffled.indptr, 50, 3)


def test_fixture_layouts_reach_every_branch():
    # Each regime of LAYOUTS is reached by exactly its layout, and together
    # they cover both ways of bounding several blocks, the single block, spans
    # of one row chunk and both caps on the row groups.
    X = _skewed_csr(np.random.default_rng(0), 1100, 300, 40)
    seen = {}
    for name in LAYOUTS:
        with pytest.MonkeyPatch.context() as mp:
            _patch_layout(mp, name)
            layout = csr_layout(X.indices, X.indptr, 300, 5)
            seen[name] = _regime(layout, X, 5)
            # A single block holds every column; spans of one chunk need
            # several kernel calls for the 1100 rows.
            if seen[name][0] == "one":
                np.testing.assert_array_equal(layout.bounds, [0, 300])
            assert (-(-1100 // layout.span) > 1) == seen[name][1]
    assert seen == {name: regime for name, (_, regime) in LAYOUTS.items()}
    blocks, spans, groups = zip(*seen.values(), strict=True)
    assert set(blocks) == {"one", "width", "entries"}
    assert set(spans) == {True, False}
    assert set(groups) == {"tasks", "rows"}


# Cache sizes of three kinds of machine: this AMD EPYC guest (1 MB L2 per
# core, 32 MB L3 for 2 CPUs), an Intel server (2 MB L2, 105 MB of L3 for 112
# CPUs) and a CPU that reports no L3.
MACHINES = {
    "amd": _AMD,
    "intel": CacheSizes(48 * 2**10, 2 * 2**20, 105 * 2**20, 112),
    "no-l3": CacheSizes(32 * 2**10, 2**20),
}


def test_block_partials_and_span_sizes_from_caches():
    amd, intel, no_l3 = MACHINES.values()
    # A quarter of the L3 share where it is larger than half of L2.
    assert _csr_layout.block_bytes(amd) == 4 * 2**20
    assert _csr_layout.block_bytes(intel) == 2**20
    assert _csr_layout.block_bytes(no_l3) == 512 * 2**10
    assert _csr_layout.partials_budget(amd) == 16 * 2**20
    assert _csr_layout.partials_budget(intel) == PARTIALS_BUDGET
    assert _csr_layout.partials_budget(no_l3) == PARTIALS_BUDGET
    assert _csr_layout.span_bytes(amd) == 16 * 2**20
    assert _csr_layout.span_bytes(no_l3) == 2**20


@pytest.mark.parametrize("parallel", [True, False])
def test_layout_is_a_function_of_data_and_caches(parallel, monkeypatch):
    rng = np.random.default_rng(6)
    X = _skewed_csr(rng, 3000, 60_000, 48)
    K = 20
    layouts = {
        name: csr_layout(X.indices, X.indptr, 60_000, K, parallel, caches)
        for name, caches in MACHINES.items()
    }
    # The 9.6 MB table (44.8 entries per row: at most 11 blocks) needs 3
    # slices of 4 MB, but AMD's 16 MB budget holds one partial, so the columns
    # give the 4 tasks (MIN_SPLIT_TASKS); 10 slices of 1 MB. Equal shares of
    # the entries with popular columns first make one more, or four more.
    # 512 KB slices would need 19, so the entries alone decide.
    assert _csr_layout.MIN_SPLIT_TASKS == 4
    assert [lay.n_blocks for lay in layouts.values()] == [5, 14, 11]
    width = {
        name: _csr_layout.block_bytes(c) // (8 * K) for name, c in MACHINES.items()
    }
    assert np.diff(layouts["amd"].bounds).max() <= width["amd"]
    assert np.diff(layouts["intel"].bounds).max() <= width["intel"]
    assert np.diff(layouts["no-l3"].bounds).max() > width["no-l3"]
    for lay in layouts.values():
        np.testing.assert_array_equal(lay.seg, _naive_segments(X, lay.bounds))
    # AMD's budget (16 MB) holds one 9.6 MB partial; 32 MB hold three, and
    # 16 tasks need two groups of 14 or 11 blocks.
    assert [lay.n_groups for lay in layouts.values()] == [1, 2, 2]
    # The span: 16 MB of logits, or all of L2 without an L3.
    assert [lay.span for lay in layouts.values()] == [104704, 104704, 6400]
    # The default is the machine's caches, and the thread count changes
    # nothing.
    monkeypatch.setattr(_csr_layout, "cache_sizes", lambda: MACHINES["intel"])
    previous = numba.get_num_threads()
    try:
        for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(threads)
            again = csr_layout(X.indices, X.indptr, 60_000, K, parallel)
            np.testing.assert_array_equal(again.bounds, layouts["intel"].bounds)
            np.testing.assert_array_equal(again.seg, layouts["intel"].seg)
            assert (again.n_groups, again.span) == (
                layouts["intel"].n_groups,
                layouts["intel"].span,
            )
    finally:
        numba.set_num_threads(previous)


@pytest.mark.parametrize("machine", list(MACHINES))
def test_loss_gradient_for_every_machine_layout(machine, monkeypatch):
    # Each machine's layout gives the reference's loss and gradient, and the
    # serial twin its bits.
    monkeypatch.setattr(_csr_layout, "cache_sizes", lambda: MACHINES[machine])
    rng = np.random.default_rng(7)
    n, d, K = 1200, 40_000, 9
    X = _skewed_csr(rng, n, d, 48)
    coef = rng.standard_normal((K, d)) * 0.3
    intercept = rng.standard_normal(K)
    sw = rng.uniform(0.1, 2.0, n)
    targets = Targets.from_labels(rng.integers(0, K, n), K)
    ref_loss, ref_grad = data_term(X, dense_targets(targets), sw, coef, intercept, 0.0)
    _, X_args, _, _ = _prepare_X(X)
    got = [
        data_loss_gradient(X_args, True, targets, sw, coef, intercept, 0.0, parallel)
        for parallel in (True, False)
    ]
    np.testing.assert_allclose(got[0][0], ref_loss, rtol=1e-12)
    np.testing.assert_allclose(
        got[0][1], ref_grad, rtol=1e-11, atol=1e-12 * np.abs(ref_grad).max()
    )
    assert got[0][0] == got[1][0]
    np.testing.assert_array_equal(got[0][1], got[1][1])


def test_columns_split_for_tasks_when_one_partial_fits():
    # A 40 MB table on a machine whose L3 would hold it whole (a guest with
    # 384 MB of L3 for 2 CPUs): one slice is enough for the cache, but the
    # 32 MB budget holds no second partial; without blocks the gradient phase
    # would be a single task.
    caches = CacheSizes(48 * 2**10, 2 * 2**20, 384 * 2**20, 2)
    rng = np.random.default_rng(8)
    X = _skewed_csr(rng, 600, 100_000, 30)
    layout = csr_layout(X.indices, X.indptr, 100_000, 50, caches=caches)
    assert _csr_layout.block_bytes(caches) > 8 * 100_001 * 50
    assert layout.n_groups == 1
    assert layout.n_blocks == _csr_layout.MIN_SPLIT_TASKS
    # Too few entries per row for 4 blocks: the entries decide.
    Y = _skewed_csr(rng, 600, 100_000, 9)
    assert csr_layout(Y.indices, Y.indptr, 100_000, 50, caches=caches).n_blocks == 2
