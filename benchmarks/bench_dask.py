"""Cost of fitting on a dask cluster: round trip per evaluation against kernel time.

A LocalCluster of 2 worker processes (1 thread each) holds X, generated
block by block on the workers (never on the driver). Reported:

* ``noop ms``: one round of ``n_blocks`` no-op tasks (``pure=False``),
  submitted and gathered as an evaluation is;
* ``eval ms``: one evaluation of the loss and gradient
  (:class:`~sklearn_softmax._dask_data.DaskDataTerm`), best of ``--repeat``;
* ``kernel ms/block``: the kernel of one block, timed inside its task;
* ``fit s`` / ``memory fit s``: ``SoftmaxClassifier(max_iter=...)`` on the dask
  array and on the same data in memory (2 numba threads), with the same
  iterations;
* the round trip of ``n_blocks`` tasks returning partials of ``P`` float64
  (how the overhead grows with blocks and parameters).

Run ``python benchmarks/bench_dask.py`` (1M x 100 x 10 dense and its CSR
counterpart; ``--rows`` and friends for other shapes, ``--quick`` for a tiny
run).
"""

import argparse
import json
import time

import numpy as np


def make_block(block_info=None, d=100, K=10, density=None, seed=0):
    """Rows of a softmax model, regenerated from the block's position."""
    import scipy.sparse as sp

    loc = block_info[None]["chunk-location"][0]
    n = block_info[None]["chunk-shape"][0]
    rng = np.random.default_rng([seed, loc])
    if density is None:
        X = rng.standard_normal((n, d))
    else:
        X = sp.random(n, d, density=density, format="csr", random_state=rng)
        X.data = rng.standard_normal(X.data.shape[0])
    W = np.random.default_rng(seed).standard_normal((K, d)) / np.sqrt(
        d * (density or 1)
    )
    Z = np.asarray(X @ W.T)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
    return X, y


def _x(block_info=None, **kw):
    return make_block(block_info, **kw)[0]


def _y(block_info=None, **kw):
    return make_block(block_info, **kw)[1]


def _noop(i):
    return i


def _partial(i, size):
    return np.zeros(size)


def _kernel_ms(block, coef, intercept, repeat=5):
    from sklearn_softmax._dask_block import run_block

    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        run_block(block, "loss_gradient", (coef, intercept))
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def _best(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def run(client, rows, d, K, n_blocks, density, max_iter, repeat, memory_fit):
    import dask.array as da

    from sklearn_softmax import SoftmaxClassifier
    from sklearn_softmax._dask_validate import dask_training_data

    chunks = tuple(np.diff(np.linspace(0, rows, n_blocks + 1).astype(int)).tolist())
    kw = dict(d=d, K=K, density=density)
    meta = np.empty((0, 0))
    if density is not None:
        import scipy.sparse as sp

        meta = sp.csr_matrix((0, 0))
    X = da.map_blocks(_x, chunks=(chunks, (d,)), dtype=float, meta=meta, **kw)
    y = da.map_blocks(_y, chunks=(chunks,), dtype=int, meta=np.empty(0, int), **kw)
    X, y = X.persist(), y.persist()
    client.wait_for_workers(2)
    out = {"rows": rows, "d": d, "K": K, "blocks": n_blocks, "density": density}
    futures = [client.submit(_noop, i, pure=False) for i in range(n_blocks)]
    client.gather(futures)
    out["noop ms"] = 1e3 * _best(
        lambda: client.gather(
            [client.submit(_noop, i, pure=False) for i in range(n_blocks)]
        ),
        repeat,
    )
    clf = SoftmaxClassifier()
    data, _ = dask_training_data(
        clf, X, y, None, first=True, classes=None, whole_data=True
    )
    term = data.data_term
    coef, b = np.zeros((K, d)), np.zeros(K)
    term.loss_gradient(coef, b)  # compile on the workers
    out["eval ms"] = 1e3 * _best(lambda: term.loss_gradient(coef, b), repeat)
    kernel = client.gather(
        [client.submit(_kernel_ms, blk, coef, b, pure=False) for blk in term.blocks]
    )
    out["kernel ms/block"] = float(np.median(kernel))
    term.close()
    data = term = None
    t = time.perf_counter()
    fitted = SoftmaxClassifier(max_iter=max_iter, tol=0).fit(X, y)
    out["fit s"] = time.perf_counter() - t
    out["iterations"] = int(fitted.n_iter_[0])
    if memory_fit:
        Xm, ym = client.compute([X, y], sync=True)
        SoftmaxClassifier(max_iter=2).fit(Xm[:1000], ym[:1000])
        t = time.perf_counter()
        SoftmaxClassifier(max_iter=max_iter, tol=0).fit(Xm, ym)
        out["memory fit s"] = time.perf_counter() - t
        del Xm, ym
    del X, y
    return out


def partial_round_trips(client, blocks_list, sizes, repeat):
    rows = []
    for n_blocks in blocks_list:
        for size in sizes:
            t = _best(
                lambda n=n_blocks, s=size: client.gather(
                    [client.submit(_partial, i, s, pure=False) for i in range(n)]
                ),
                repeat,
            )
            rows.append({"blocks": n_blocks, "P": size, "ms": 1e3 * t})
    return rows


def main():
    import warnings

    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--blocks", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--density", type=float, default=0.05)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.features, args.classes = 20_000, 20, 4
        args.blocks, args.max_iter, args.repeat = [4], 5, 3
    warnings.simplefilter("ignore")
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    results = {"runs": [], "partials": []}
    with cluster, Client(cluster) as client:
        for density in (None, args.density):
            for n_blocks in args.blocks:
                r = run(
                    client,
                    args.rows,
                    args.features,
                    args.classes,
                    n_blocks,
                    density,
                    args.max_iter,
                    args.repeat,
                    memory_fit=n_blocks == args.blocks[0],
                )
                print(
                    json.dumps(
                        {
                            k: round(v, 3) if isinstance(v, float) else v
                            for k, v in r.items()
                        }
                    ),
                    flush=True,
                )
                results["runs"].append(r)
        sizes = [1_000, 100_000, 1_000_000]
        for r in partial_round_trips(client, [8, 32, 128], sizes, args.repeat):
            print(json.dumps({k: round(v, 2) for k, v in r.items()}), flush=True)
            results["partials"].append(r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
