"""CSR: one evaluation by layout and data path, and whole fits against scikit-learn.

Two modes, both on the CSR data of ``bench_lbfgs.py`` (``nnz`` entries per
row in columns of skewed popularity, labels from a softmax model):

``--eval``
    Milliseconds of one loss and gradient evaluation (the data term, at
    random coefficients), for this package's kernel with the layout sized
    from this machine's caches and from other machines' caches (injected),
    and for the simplest strong alternative: scipy's sparse products with
    the package's fused softmax in between, ``X @ W.T`` on the CSR matrix
    and ``X.T @ R`` on its transpose (CSC, no copy), as scikit-learn
    evaluates. The variants take turns, ``--repeats`` rounds, medians.
``--fit``
    Seconds of whole fits (``C=1``, ``tol=1e-4``): ``LogisticRegression``
    (lbfgs) with its default BLAS threads and with one BLAS thread, saga, and
    ``SoftmaxClassifier`` with both layouts. The fits take turns; medians of
    ``--repeats``; final objectives from the same float64 objective.

Run with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. \\
        python benchmarks/bench_csr.py --eval --repeats 11
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_lbfgs import make_data, objective_at  # noqa: E402
from numba import prange  # noqa: E402

from sklearn_softmax import SoftmaxClassifier, _csr_layout, _kernels  # noqa: E402
from sklearn_softmax._arrays import Targets, prepare_X, readonly  # noqa: E402
from sklearn_softmax._config import compute_threads, jit  # noqa: E402
from sklearn_softmax._cpu_caches import CacheSizes, cache_sizes  # noqa: E402
from sklearn_softmax._datafit import data_loss_gradient  # noqa: E402

# name: (n_samples, n_features, n_classes, nnz per row)
SHAPES = {
    "csr": (100_000, 20_000, 20, 50),
    "csr20": (100_000, 20_000, 20, 20),
    "classes50": (100_000, 50_000, 50, 20),
    "rows200k": (200_000, 100_000, 10, 5),
    "quick": (2_000, 1_000, 5, 10),
}

#: Caches that give the layout of the 512 KB constant the blocks had before
#: they were sized from the machine (512 KB slices, 32 MB of partials, 16 MB
#: spans).
CONSTANT_512K = CacheSizes(32 * 2**10, 2**20, 64 * 2**20, 32, "512 KB constant")


def _header():
    caches = cache_sizes()
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mb = 2**20
    print(
        f"# {model}, {os.cpu_count()} CPUs; L1d {caches.l1d // 1024} KB, "
        f"L2 {caches.l2 / mb:g} MB, L3 {caches.l3 / mb:g} MB shared by "
        f"{caches.l3_cpus} CPUs ({caches.source}); load {os.getloadavg()[0]:.2f}"
    )


def _layout_eval(X_args, t, sw, coef, intercept, caches):
    saved = _csr_layout.cache_sizes
    _csr_layout.cache_sizes = lambda: caches
    try:
        workspace = {}
        data_loss_gradient(X_args, True, t, sw, coef, intercept, 0.0, True, workspace)
    finally:
        _csr_layout.cache_sizes = saved
    lay = workspace["csr_layout"]
    desc = f"{lay.n_blocks} blocks, {lay.n_groups} groups"

    def run():
        return data_loss_gradient(
            X_args, True, t, sw, coef, intercept, 0.0, True, workspace
        )

    return run, desc


def _softmax(Z, t, sw, loss_parts):
    # The package's vectorised residual, chunk by chunk, as a stand-in for
    # scikit-learn's loss module between the two products.
    n, k = Z.shape
    for r0 in range(0, n, _kernels.ROW_CHUNK):
        Zt = np.ascontiguousarray(Z[r0 : r0 + _kernels.ROW_CHUNK].T)
        scratch = np.empty((4, Zt.shape[1]))
        loss_parts[r0 // _kernels.ROW_CHUNK] = _kernels.block_residual(
            Zt, r0, t.ptr, t.cls, t.prob, sw, 0.0, scratch
        )
        Z[r0 : r0 + _kernels.ROW_CHUNK] = Zt.T


def _scipy_eval(X, t, sw, coef, intercept):
    XT = X.T  # CSC view: scipy scatters rows of the gradient, no copy
    loss_parts = np.zeros(-(-X.shape[0] // _kernels.ROW_CHUNK))

    def run():
        Z = np.ascontiguousarray(X @ coef.T) + intercept
        _softmax(Z, t, sw, loss_parts)
        grad = np.empty((coef.shape[0], coef.shape[1] + 1))
        grad[:, :-1] = (XT @ Z).T
        grad[:, -1] = Z.sum(axis=0)
        return float(loss_parts.sum()), grad

    return run, "X @ W.T, softmax, X.T @ R"


def _rows_logits(data, indices, indptr, WT, b, t_ptr, t_cls, t_prob, sw, Z, loss_parts):
    # Row-parallel sparse product and the package's softmax, chunk by chunk.
    n, k = Z.shape
    for c in prange((n + 255) // 256):
        r0, r1 = 256 * c, min(n, 256 * c + 256)
        for i in range(r0, r1):
            for q in range(k):
                Z[i, q] = b[q]
            for p in range(indptr[i], indptr[i + 1]):
                v = data[p]
                j = indices[p]
                for q in range(k):
                    Z[i, q] += v * WT[j, q]
        Zt = np.empty((k, r1 - r0))
        for i in range(r0, r1):
            for q in range(k):
                Zt[q, i - r0] = Z[i, q]
        scratch = np.empty((4, r1 - r0))
        loss_parts[c] = _kernels.block_residual(
            Zt, r0, t_ptr, t_cls, t_prob, sw, 0.0, scratch
        )
        for i in range(r0, r1):
            for q in range(k):
                Z[i, q] = Zt[q, i - r0]


def _csc_gradient(cdata, crows, cptr, Z, G):
    # Each column of the CSC copy owns its gradient row: no partials, and
    # the sums run in row order whatever the threads.
    d, k = G.shape
    for c in prange((d + 63) // 64):
        for j in range(64 * c, min(d, 64 * c + 64)):
            for q in range(k):
                G[j, q] = 0.0
            for p in range(cptr[j], cptr[j + 1]):
                v = cdata[p]
                i = crows[p]
                for q in range(k):
                    G[j, q] += v * Z[i, q]


rows_logits = jit(_rows_logits, parallel=True)
csc_gradient = jit(_csc_gradient, parallel=True)


def _rows_csc_eval(X, t, sw, coef, intercept):
    data, indices, indptr = (readonly(a) for a in (X.data, X.indices, X.indptr))
    Xc = X.tocsc()  # the copy made once per fit
    cdata, crows, cptr = (readonly(a) for a in (Xc.data, Xc.indices, Xc.indptr))
    n, k = X.shape[0], coef.shape[0]
    Z = np.empty((n, k))
    loss_parts = np.zeros(-(-n // 256))

    def run():
        WT = np.ascontiguousarray(coef.T)
        rows_logits(
            data,
            indices,
            indptr,
            WT,
            intercept,
            t.ptr,
            t.cls,
            t.prob,
            sw,
            Z,
            loss_parts,
        )
        G = np.empty((coef.shape[1], k))
        csc_gradient(cdata, crows, cptr, Z, G)
        grad = np.empty((k, coef.shape[1] + 1))
        grad[:, :-1] = G.T
        grad[:, -1] = Z.sum(axis=0)
        return float(loss_parts.sum()), grad

    mb = (Xc.data.nbytes + Xc.indices.nbytes + Xc.indptr.nbytes) / 2**20
    return run, f"CSC copy {mb:.0f} MB"


def bench_eval(shapes, repeats, threads):
    _header()
    for name in shapes:
        n, d, k, nnz = SHAPES[name]
        X, y = make_data(n, d, k, nnz, np.float64)
        _, X_args, _, _ = prepare_X(X, sort_indices=True)
        t = Targets.from_labels(y, k)
        sw = readonly(np.ones(n))
        rng = np.random.default_rng(1)
        coef = rng.standard_normal((k, d)) * 0.1
        intercept = np.zeros(k)
        variants = {
            "512 KB blocks": _layout_eval(
                X_args, t, sw, coef, intercept, CONSTANT_512K
            ),
            "cache-sized": _layout_eval(X_args, t, sw, coef, intercept, cache_sizes()),
            "rows + CSC": _rows_csc_eval(X, t, sw, coef, intercept),
        }
        for nt in threads:
            with compute_threads(nt):
                if nt == threads[0]:
                    # scipy's products run on one thread whatever numba has.
                    variants["scipy products"] = _scipy_eval(X, t, sw, coef, intercept)
                ref = None
                for run, _ in variants.values():
                    loss, grad = run()
                    ref = ref or (loss, grad)
                    assert np.allclose(grad, ref[1], rtol=1e-9, atol=1e-12)
                times = {key: [] for key in variants}
                for _ in range(repeats):
                    for key, (run, _) in variants.items():
                        t0 = time.perf_counter()
                        run()
                        times[key].append(time.perf_counter() - t0)
            for key, (_, desc) in variants.items():
                ms = 1e3 * np.median(times[key])
                print(
                    f"{name:10s} {n}x{d}x{k} nnz/row={X.nnz / n:5.1f} threads={nt} "
                    f"{key:15s} {ms:8.1f} ms  ({desc})",
                    flush=True,
                )
            variants.pop("scipy products", None)


def _fit_ours(X, y, caches, n_jobs=None):
    saved = _csr_layout.cache_sizes
    _csr_layout.cache_sizes = lambda: caches
    try:
        clf = SoftmaxClassifier(C=1.0, tol=1e-4, max_iter=1000, n_jobs=n_jobs)
        clf.fit(X, y)
    finally:
        _csr_layout.cache_sizes = saved
    return clf


def _fit_lr(X, y, solver, one_blas):
    lr = LogisticRegression(C=1.0, tol=1e-4, max_iter=1000, solver=solver)
    if one_blas:
        with threadpool_limits(1, "blas"):
            return lr.fit(X, y)
    return lr.fit(X, y)


def bench_fit(shapes, repeats, skip, once):
    _header()
    for name in shapes:
        n, d, k, nnz = SHAPES[name]
        X, y = make_data(n, d, k, nnz, np.float64)
        fits = {
            "ours 512 KB": (_fit_ours, CONSTANT_512K),
            "ours cache-sized": (_fit_ours, cache_sizes()),
            "ours 1 thread": (_fit_ours, cache_sizes(), 1),
            "LR1 lbfgs": (_fit_lr, "lbfgs", True),
            "LR lbfgs": (_fit_lr, "lbfgs", False),
            "saga": (_fit_lr, "saga", True),
        }
        for key in skip:
            fits.pop(key, None)
        times = {key: [] for key in fits}
        models = {}
        for r in range(repeats):
            for key, fit in fits.items():
                if r and key in once:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t0 = time.perf_counter()
                    models[key] = fit[0](X, y, *fit[1:])
                    times[key].append(time.perf_counter() - t0)
                print(f"  {name} {key}: {times[key][-1]:.2f} s", flush=True)
        base = np.median(times["LR1 lbfgs"]) if "LR1 lbfgs" in times else np.nan
        for key, model in models.items():
            obj = objective_at(X, y, model.coef_, model.intercept_)
            med = np.median(times[key])
            print(
                f"{name:10s} {key:17s} {med:8.2f} s  x{base / med:5.2f} vs LR1  "
                f"it {int(np.ravel(model.n_iter_)[0]):5d}  objective {obj:.10f}  "
                f"runs {' '.join(f'{s:.2f}' for s in times[key])}",
                flush=True,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", action="store_true")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument(
        "--shapes", nargs="+", default=["csr", "classes50", "rows200k"], choices=SHAPES
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip", nargs="*", default=[], help="fits to leave out")
    parser.add_argument("--once", nargs="*", default=[], help="fits to run once")
    args = parser.parse_args(argv)
    if args.eval:
        bench_eval(args.shapes, args.repeats, args.threads)
    if args.fit:
        bench_fit(args.shapes, args.repeats, args.skip, args.once)


if __name__ == "__main__":
    main()
