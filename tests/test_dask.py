"""SoftmaxClassifier on dask collections, with an in-process distributed client.

Blocks on the in-memory chunk boundaries give the in-memory fit bit for bit;
other chunkings agree to 1e-8. The process cluster (lineage, a worker
killed mid-fit, nothing computed on the driver) is in test_dask_cluster.py.
"""

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from _dask_helpers import (  # noqa: E402
    aligned_chunks,
    assert_same_fit,
    make_data,
    wait_released,
)

from sklearn_softmax import SoftmaxClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    with distributed.Client(
        processes=False,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address="127.0.0.1:0",
    ) as c:
        yield c


def _dask(X, y, sw, chunks):
    rows = (chunks,)
    Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
    yd = da.from_array(y, chunks=rows + y.shape[1:])
    swd = None if sw is None else da.from_array(sw, chunks=rows)
    return Xd, yd, swd


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("K", [2, 3])
def test_aligned_blocks_give_the_in_memory_fit_bitwise(client, dtype, K):
    X, y, sw = make_data(K=K, dtype=dtype)
    chunks = aligned_chunks(len(X), X.shape[1], K, 6)
    assert len(chunks) > 1
    Xd, yd, swd = _dask(X, y, sw, chunks)
    ref = SoftmaxClassifier(C=0.5).fit(X, y, sample_weight=sw)
    got = SoftmaxClassifier(C=0.5).fit(Xd, yd, sample_weight=swd)
    assert ref.n_iter_[0] > 3
    assert_same_fit(ref, got)
    assert got.coef_.dtype == dtype
    assert got.n_features_in_ == X.shape[1]


def test_large_parameters_are_scattered_with_the_same_result(client, monkeypatch):
    from sklearn_softmax import _dask_data

    X, y, sw = make_data(n=3000)
    Xd, yd, swd = _dask(X, y, sw, 1000)
    ref = SoftmaxClassifier().fit(Xd, yd, sample_weight=swd)
    scattered = []
    scatter = client.scatter

    def counting(*args, **kwargs):
        scattered.append(kwargs.get("broadcast"))
        return scatter(*args, **kwargs)

    monkeypatch.setattr(_dask_data, "BROADCAST_BYTES", 0)
    monkeypatch.setattr(client, "scatter", counting)
    got = SoftmaxClassifier().fit(Xd, yd, sample_weight=swd)
    assert scattered and all(scattered)
    assert_same_fit(ref, got)
    assert not wait_released(client)


def test_unaligned_blocks_agree_to_1e_8(client):
    X, y, sw = make_data()
    ref = SoftmaxClassifier().fit(X, y, sample_weight=sw)
    fits = [
        SoftmaxClassifier().fit(*_dask(X, y, sw, 1111)),
        SoftmaxClassifier().fit(*_dask(X, y, sw, 1111)),
    ]
    np.testing.assert_allclose(fits[0].coef_, ref.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fits[0].intercept_, ref.intercept_, rtol=0, atol=1e-8)
    assert_same_fit(fits[0], fits[1])


def _soft(y, K, seed=1):
    rng = np.random.default_rng(seed)
    Y = 0.7 * np.eye(K)[y] + 0.3 * rng.dirichlet(np.ones(K), size=len(y))
    return Y / Y.sum(axis=1, keepdims=True)


OPTIONS = {
    "class_weight": dict(class_weight={0: 2.0, 1: 0.5}),
    "label_smoothing": dict(label_smoothing=0.1),
    "fit_intercept=False": dict(fit_intercept=False),
    "C=inf": dict(C=np.inf, max_iter=30),
    "l1": dict(l1_ratio=0.5, C=0.2),
    "classes": dict(classes=[3, 0, 1, 2]),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_options_give_the_in_memory_fit_bitwise(client, name):
    X, y, sw = make_data()
    Xd, yd, swd = _dask(X, y, sw, aligned_chunks(len(X), X.shape[1], 3, 8))
    params = OPTIONS[name]
    if name == "classes":
        # A class without samples: K = 4 changes the chunk plan.
        Xd, yd, swd = _dask(X, y, sw, aligned_chunks(len(X), X.shape[1], 4, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # C=inf stops at max_iter
        ref = SoftmaxClassifier(**params).fit(X, y, sample_weight=sw)
        got = SoftmaxClassifier(**params).fit(Xd, yd, sample_weight=swd)
    assert_same_fit(ref, got)


def test_soft_targets_and_unweighted(client):
    X, y, _ = make_data()
    Y = _soft(y, 3)
    Xd, Yd, _ = _dask(X, Y, None, aligned_chunks(len(X), X.shape[1], 3, 8))
    ref = SoftmaxClassifier(label_smoothing=0.05).fit(X, Y)
    got = SoftmaxClassifier(label_smoothing=0.05).fit(Xd, Yd)
    assert_same_fit(ref, got)


def test_balanced_class_weight_from_global_class_mass(client):
    X, y, sw = make_data()
    y = np.where(y == 2, np.where(np.arange(len(y)) % 3 == 0, 2, 0), y)
    ref = SoftmaxClassifier(class_weight="balanced").fit(X, y, sample_weight=sw)
    got = SoftmaxClassifier(class_weight="balanced").fit(*_dask(X, y, sw, 700))
    # The class masses are summed block by block: equal to rounding.
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got.intercept_, ref.intercept_, rtol=0, atol=1e-8)


def test_warm_start_and_refit(client):
    X, y, sw = make_data()
    Xd, yd, swd = _dask(X, y, sw, aligned_chunks(len(X), X.shape[1], 3, 8))
    ref = SoftmaxClassifier(warm_start=True, max_iter=3)
    got = SoftmaxClassifier(warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            ref.fit(X, y, sample_weight=sw)
            got.fit(Xd, yd, sample_weight=swd)
    assert_same_fit(ref, got)


def _csr_block(block, unsorted):
    m = sp.csr_matrix(block)
    if unsorted:
        # Reverse the column indices within every row.
        for i in range(m.shape[0]):
            a, b = m.indptr[i], m.indptr[i + 1]
            m.indices[a:b] = m.indices[a:b][::-1].copy()
            m.data[a:b] = m.data[a:b][::-1].copy()
        m.has_sorted_indices = False
    return m


def test_csr_blocks_one_with_unsorted_indices(client):
    X, y, sw = make_data(d=30)
    X[np.abs(X) < 1.0] = 0.0
    chunks = (1500, 1500, 1500, 1500)
    Xd = da.from_array(X, chunks=(chunks, 30)).map_blocks(
        lambda b, block_info=None: _csr_block(
            b, block_info[0]["chunk-location"][0] == 1
        ),
        dtype=X.dtype,
        meta=sp.csr_matrix((0, 0)),
    )
    assert not Xd.blocks[1].compute().has_sorted_indices
    yd = da.from_array(y, chunks=(chunks,))
    ref = SoftmaxClassifier().fit(sp.csr_matrix(X), y, sample_weight=sw)
    got = SoftmaxClassifier().fit(Xd, yd, sample_weight=sw)
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(got.predict(Xd).compute(), ref.predict(X))


def test_dataframe_with_feature_names(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, y, sw = make_data()
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df["label"], df["w"] = y, sw
    ddf = dd.from_pandas(df, npartitions=5)
    features = list(df.columns[:-2])
    ref = SoftmaxClassifier().fit(df[features], y, sample_weight=sw)
    got = SoftmaxClassifier().fit(ddf[features], ddf["label"], sample_weight=ddf["w"])
    np.testing.assert_array_equal(got.feature_names_in_, features)
    np.testing.assert_allclose(got.coef_, ref.coef_, rtol=0, atol=1e-8)
    proba = got.predict_proba(ddf[features])
    assert isinstance(proba, da.Array)
    np.testing.assert_array_equal(proba.compute(), got.predict_proba(df[features]))


@pytest.mark.parametrize("K", [2, 3])
def test_lazy_predictions_equal_in_memory(client, K):
    X, y, sw = make_data(K=K)
    Xd, yd, swd = _dask(X, y, sw, 1000)
    clf = SoftmaxClassifier().fit(Xd, yd)
    for method in (
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
    ):
        lazy = getattr(clf, method)(Xd)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == Xd.chunks[0]
        np.testing.assert_array_equal(lazy.compute(), getattr(clf, method)(X))
    with pytest.raises(ValueError, match="X has 7 features, but SoftmaxClassifier"):
        clf.predict(Xd[:, :7])


def test_fitted_model_pickles_small_and_predicts_numpy(client):
    X, y, sw = make_data()
    clf = SoftmaxClassifier().fit(*_dask(X, y, sw, 1000))
    blob = pickle.dumps(clf)
    assert len(blob) < 4000
    back = pickle.loads(blob)
    pred = back.predict(X)
    assert isinstance(pred, np.ndarray)
    np.testing.assert_array_equal(pred, clf.predict(X))


def _bad(kind):
    X, y, sw = make_data(n=2000)
    if kind == "nan":
        X[1500, 2] = np.nan
    elif kind == "inf":
        X[700, 1] = np.inf
    elif kind == "negative weight":
        sw[1200] = -1.0
    elif kind == "continuous y":
        y = y + 0.5
    return X, y, sw


@pytest.mark.parametrize("kind", ["nan", "inf", "negative weight", "continuous y"])
def test_bad_blocks_raise_the_in_memory_error_and_leave_nothing(client, kind):
    X, y, sw = _bad(kind)
    with pytest.raises(ValueError) as memory:
        SoftmaxClassifier().fit(X, y, sample_weight=sw)
    with pytest.raises(ValueError) as dask_error:
        SoftmaxClassifier().fit(*_dask(X, y, sw, 500))
    assert str(dask_error.value) == str(memory.value)
    assert any("In block" in note for note in dask_error.value.__notes__)
    del dask_error
    assert not wait_released(client)


def test_block_with_wrong_number_of_features(client):
    X, y, sw = make_data(n=2000)
    Xd = da.from_array(X, chunks=(500, 8)).map_blocks(
        lambda b, block_info=None: (
            b[:, :7] if block_info[0]["chunk-location"][0] == 2 else b
        ),
        dtype=X.dtype,
    )
    with pytest.raises(ValueError, match="X has 7 features, but SoftmaxClassifier"):
        SoftmaxClassifier().fit(Xd, da.from_array(y, chunks=500))
    assert not wait_released(client)


def test_fit_leaves_nothing_on_the_cluster(client):
    X, y, sw = make_data()
    Xd = da.from_array(X, chunks=(1000, 8)).persist()
    SoftmaxClassifier().fit(Xd, y, sample_weight=sw)
    mine = {row[0] for row in Xd.__dask_keys__()}
    assert not wait_released(client, keep=mine)
    # The user's persisted blocks stay.
    assert {k for keys in client.has_what().values() for k in keys} == mine


def test_sgd_points_to_incremental(client):
    X, y, sw = make_data(n=2000)
    with pytest.raises(ValueError, match="dask_ml.wrappers.Incremental"):
        SoftmaxClassifier(solver="sgd").fit(*_dask(X, y, sw, 500))


def test_newton_cg_refused_on_dask(client):
    X, y, sw = make_data(n=2000)
    with pytest.raises(ValueError, match="newton-cg.*solver='lbfgs'"):
        SoftmaxClassifier(solver="newton-cg").fit(*_dask(X, y, sw, 500))


def test_incremental_runs_partial_fit_on_the_blocks(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y, _ = make_data(n=4000)
    Xd, yd, _ = _dask(X, y, None, 500)
    inc = wrappers.Incremental(SoftmaxClassifier(solver="sgd", random_state=0))
    inc.fit(Xd, yd, classes=[0, 1, 2])
    ref = SoftmaxClassifier().fit(X, y)
    assert inc.estimator_.t_ > 0
    assert inc.estimator_.score(X, y) > ref.score(X, y) - 0.05


def test_no_client_error_and_base_install_never_imports_dask():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from sklearn_softmax import SoftmaxClassifier\n"
        "X = np.random.default_rng(0).standard_normal((50, 3))\n"
        "clf = SoftmaxClassifier().fit(X, np.arange(50) % 2)\n"
        "clf.predict(X)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'dask'], 'dask'\n"
        "import dask.array as da\n"
        "try:\n"
        "    clf.fit(da.from_array(X, chunks=25), np.arange(50) % 2)\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "there is no client" in out.stdout
    assert "Client(LocalCluster())" in out.stdout
