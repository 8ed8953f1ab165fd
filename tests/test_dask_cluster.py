"""SoftmaxClassifier on a LocalCluster of spawned worker processes.

What an in-process client cannot show: blocks computed only on the workers,
results independent of the cluster's shape, and a worker killed (SIGKILL)
in the middle of a fit, whose blocks are recomputed from their lineage.
"""

import os
import signal
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from _dask_helpers import (  # noqa: E402
    aligned_chunks,
    assert_same_fit,
    make_data,
    wait_released,
)

from sklearn_softmax import SoftmaxClassifier  # noqa: E402
from sklearn_softmax._dask_data import DaskDataTerm  # noqa: E402

# The workers cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(sys.modules["_dask_helpers"])

N, D, K = 8000, 8, 3
DRIVER = os.getpid()


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def _block(block_id, chunks, driver):
    # Regenerates its rows from the whole data's seed; refuses to run on
    # the driver, so a fit that computed X there would fail.
    if os.getpid() == driver:
        raise AssertionError("an X block was computed on the driver")
    X, _, _ = make_data(n=N, d=D, K=K)
    start = sum(chunks[: block_id[0]])
    return X[start : start + chunks[block_id[0]]]


def _map_blocks_block(block_info=None, chunks_arg=None, driver=None):
    return _block(block_info[None]["chunk-location"], chunks_arg, driver)


def _X(chunks, driver=DRIVER):
    return da.map_blocks(
        _map_blocks_block,
        chunks=(chunks, (D,)),
        dtype=np.float64,
        chunks_arg=chunks,
        driver=driver,
        meta=np.empty((0, 0)),
    )


def test_blocks_are_computed_on_the_workers_only(client):
    X, y, sw = make_data(n=N, d=D, K=K)
    chunks = aligned_chunks(N, D, K, 8)
    Xd = _X(chunks)
    with pytest.raises(AssertionError, match="on the driver"):
        Xd.compute(scheduler="sync")
    ref = SoftmaxClassifier().fit(X, y, sample_weight=sw)
    got = SoftmaxClassifier().fit(Xd, da.from_array(y, chunks=chunks), sample_weight=sw)
    assert_same_fit(ref, got)
    pred = got.predict_proba(Xd).compute()
    np.testing.assert_array_equal(pred, ref.predict_proba(X))
    assert not wait_released(client)


def test_same_bits_on_any_cluster_shape(client):
    X, y, sw = make_data(n=N, d=D, K=K)
    chunks = (1234, 2000, 1766, 3000)  # not on the chunk plan
    fits = [SoftmaxClassifier().fit(_X(chunks), y, sample_weight=sw)]
    for n_workers in (1, 3):
        with (
            distributed.Client(
                processes=False,
                n_workers=n_workers,
                threads_per_worker=1,
                dashboard_address="127.0.0.1:0",
            ) as other,
            other.as_current(),
        ):
            # In-process workers run in this process: no driver check.
            Xd = _X(chunks, driver=None)
            fits.append(SoftmaxClassifier().fit(Xd, y, sample_weight=sw))
    for fit in fits[1:]:
        assert_same_fit(fits[0], fit)
    ref = SoftmaxClassifier().fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(fits[0].coef_, ref.coef_, rtol=0, atol=1e-8)


def test_worker_killed_mid_fit(client, monkeypatch):
    X, y, sw = make_data(n=N, d=D, K=K)
    chunks = aligned_chunks(N, D, K, 8)
    ref = SoftmaxClassifier().fit(X, y, sample_weight=sw)
    killed = []
    evaluate = DaskDataTerm.loss_gradient

    def kill_after_iteration_2(self, coef, intercept):
        if self.n_evaluations == 3 and not killed:
            # The worker holding block 0, by its process id: SIGKILL, no
            # goodbye to the scheduler; its nanny starts a new one.
            [address] = client.who_has([self.blocks[0]])[self.blocks[0].key]
            pid = client.run(os.getpid, workers=[address])[address]
            os.kill(pid, signal.SIGKILL)
            killed.append(address)
        return evaluate(self, coef, intercept)

    monkeypatch.setattr(DaskDataTerm, "loss_gradient", kill_after_iteration_2)
    got = SoftmaxClassifier().fit(
        _X(chunks), da.from_array(y, chunks=chunks), sample_weight=sw
    )
    assert killed
    assert ref.n_iter_[0] > 3
    assert_same_fit(ref, got)
    client.wait_for_workers(2)
    assert not wait_released(client)


def test_error_in_a_block_leaves_nothing(client):
    _, y, _ = make_data(n=N, d=D, K=K)
    chunks = aligned_chunks(N, D, K, 8)
    bad = _X(chunks).map_blocks(
        lambda b, block_info=None: np.where(
            block_info[0]["chunk-location"][0] == 2, np.nan, b
        ),
        dtype=np.float64,
    )
    with pytest.raises(ValueError, match="Input X contains NaN") as err:
        SoftmaxClassifier().fit(bad, y)
    assert any("In block 2" in note for note in err.value.__notes__)
    del err
    assert not wait_released(client)
