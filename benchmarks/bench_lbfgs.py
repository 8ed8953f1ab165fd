"""Benchmark: SoftmaxClassifier against LogisticRegression (lbfgs), one process.

For every synthetic shape and dtype the script fits

* ``LogisticRegression`` with default BLAS threads,
* ``LogisticRegression`` under ``threadpool_limits(1, "blas")``,
* ``SoftmaxClassifier`` (default ``n_jobs``: all numba threads, BLAS at 1),

with the same ``C``, ``tol`` and ``max_iter``, and reports fit times, ratios,
iterations and the final objective of each model, both computed by the same
float64 ``SoftmaxObjective`` at the model's coefficients. It also times one
loss-and-gradient evaluation against a machine bound
``max(4 n d K / GEMM rate, bytes of X / read bandwidth)`` (``nnz`` instead of
``n d`` for CSR), its 1 -> 2 thread scaling, and, in fresh processes, import
plus first fit with a warm compile cache and with a cold one.

Usage::

    python benchmarks/bench_lbfgs.py --quick          # tiny shapes, < 1 minute
    python benchmarks/bench_lbfgs.py --full --json out.json

OpenBLAS kernel selection (``OPENBLAS_CORETYPE``) changes numpy's speed; the
header prints what threadpoolctl reports so that runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets
from sklearn_softmax._config import compute_threads
from sklearn_softmax._objective import SoftmaxObjective

# name: (n_samples, n_features, n_classes, nnz per row or None for dense)
FULL_SHAPES = {
    "small": (10_000, 50, 5, None),
    "medium": (100_000, 100, 10, None),
    "wide": (50_000, 784, 10, None),
    "csr": (100_000, 20_000, 20, 50),
    "classes100": (20_000, 100, 100, None),
    "binary": (100_000, 100, 2, None),
}
QUICK_SHAPES = {
    "small": (2_000, 20, 4, None),
    "csr": (2_000, 1_000, 5, 10),
    "classes30": (1_000, 20, 30, None),
    "binary": (2_000, 20, 2, None),
}
C = 1.0


def make_data(n, d, k, nnz, dtype, seed=0):
    """Synthetic, not separable data with realistic conditioning.

    Dense: ``make_classification`` (informative clusters plus redundant,
    correlated features, 5% flipped labels), which takes L-BFGS tens to
    hundreds of iterations like real data. CSR: ``nnz`` entries per row in
    columns drawn with a skewed popularity (like words in text) and labels
    drawn from a softmax model.
    """
    rng = np.random.default_rng(seed)
    if nnz is None:
        X, y = make_classification(
            n_samples=n,
            n_features=d,
            n_informative=max(2, min(d // 2, 4 * k)),
            n_redundant=d // 4,
            n_classes=k,
            n_clusters_per_class=1,
            flip_y=0.05,
            random_state=seed,
        )
        return X.astype(dtype), y
    cols = (d * rng.random(n * nnz) ** 3).astype(np.int64)
    X = sp.csr_matrix(
        (rng.random(n * nnz), cols, np.arange(0, n * nnz + 1, nnz)), shape=(n, d)
    )
    X.sum_duplicates()
    W = rng.standard_normal((k, d)) * (4.0 / np.sqrt(nnz))
    Z = np.asarray(X @ W.T)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.minimum((P.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1), k - 1)
    return X.astype(dtype), y


def objective_at(X, y, coef, intercept):
    """Objective of ``(coef, intercept)`` in the estimator's convention."""
    k = int(y.max()) + 1
    X64 = X.astype(np.float64)
    obj = SoftmaxObjective(
        X64,
        Targets.from_labels(y, k),
        np.ones(X.shape[0]),
        C=C,
        fit_intercept=True,
    )
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64)
    if k == 2:  # one logistic row -> symmetric two-row softmax
        coef = np.stack([-0.5 * coef[0], 0.5 * coef[0]])
        intercept = np.array([-0.5 * intercept[0], 0.5 * intercept[0]])
    with compute_threads(None):
        return obj.loss(obj.pack(coef, intercept))


def best_time(func, repeat):
    """Smallest wall time of ``repeat`` calls and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def fit_lr(X, y, tol, max_iter, one_blas):
    model = LogisticRegression(C=C, tol=tol, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if one_blas:
            with threadpool_limits(1, "blas"):
                return model.fit(X, y)
        return model.fit(X, y)


def fit_ours(X, y, tol, max_iter):
    model = SoftmaxClassifier(C=C, tol=tol, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def machine_rates(dtype, quick):
    """GEMM flop rate (default BLAS threads) and single-pass read bandwidth."""
    m = 600 if quick else 2000
    A = np.random.default_rng(0).standard_normal((m, m)).astype(dtype)
    t, _ = best_time(lambda: A @ A, 3)
    gemm = 2.0 * m**3 / t
    B = np.ones((16 if quick else 64) * 2**20 // 8)
    t, _ = best_time(lambda: B.sum(), 3)
    return gemm, B.nbytes / t


def eval_times(X, y, quick):
    """One loss+gradient evaluation: default threads, 1 thread, 2 threads."""
    k = int(y.max()) + 1
    obj = SoftmaxObjective(
        X, Targets.from_labels(y, k), np.ones(X.shape[0]), C=C, fit_intercept=True
    )
    theta = np.random.default_rng(1).standard_normal(obj.n_params) * 0.01
    repeat = 5 if quick else 15
    settings = (("default", None), ("1", 1), ("2", 2))
    out = dict.fromkeys((label for label, _ in settings), np.inf)
    for _label, n_jobs in settings:
        with compute_threads(n_jobs):
            obj.loss_gradient(theta)  # compile / warm caches
    # The settings take turns, so that a slow spell of a shared machine does
    # not fall on one of them only (the 1 -> 2 scaling compares them).
    for _ in range(repeat):
        for label, n_jobs in settings:
            with compute_threads(n_jobs):
                t, _ = best_time(lambda: obj.loss_gradient(theta), 1)
            out[label] = min(out[label], t)
    return out


def bound_seconds(X, k, rates):
    gemm, bandwidth = rates
    n, d = X.shape
    if sp.issparse(X):
        work = X.nnz
        nbytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    else:
        work, nbytes = n * d, X.nbytes
    return max(4.0 * work * k / gemm, nbytes / bandwidth)


def bench_case(name, shape, dtype, args, rates):
    n, d, k, nnz = shape
    X, y = make_data(n, d, k, nnz, dtype)
    # Compile this dtype/format's kernels before timing (reported separately).
    fit_ours(X[:64], np.arange(64) % k, args.tol, 3)
    long_fit = n * d * k >= 5e7 if nnz is None else nnz * n * k >= 2e7
    rep = 1 if (long_fit and not args.quick) else args.repeat
    t_lr, lr = best_time(lambda: fit_lr(X, y, args.tol, args.max_iter, False), rep)
    t_lr1, lr1 = best_time(lambda: fit_lr(X, y, args.tol, args.max_iter, True), rep)
    t_ours, ours = best_time(lambda: fit_ours(X, y, args.tol, args.max_iter), rep)
    f_lr = objective_at(X, y, lr.coef_, lr.intercept_)
    f_ours = objective_at(X, y, ours.coef_, ours.intercept_)
    ev = eval_times(X, y, args.quick)
    bound = bound_seconds(X, k, rates[np.dtype(dtype).name])
    return {
        "shape": name,
        "dims": f"{n}x{d}x{k}" + (f" nnz/row={nnz}" if nnz else ""),
        "dtype": np.dtype(dtype).name,
        "fit_lr_s": t_lr,
        "fit_lr_1blas_s": t_lr1,
        "fit_ours_s": t_ours,
        "ratio_lr": t_lr / t_ours,
        "ratio_lr_1blas": t_lr1 / t_ours,
        # Per iteration: slowly converging problems take paths that differ by
        # rounding, so fit times partly measure the path.
        "ratio_lr_1blas_per_iter": (t_lr1 / max(1, int(np.max(lr1.n_iter_))))
        / (t_ours / max(1, int(np.max(ours.n_iter_)))),
        "iter_lr": int(np.max(lr.n_iter_)),
        "iter_ours": int(np.max(ours.n_iter_)),
        "objective_lr": f_lr,
        "objective_ours": f_ours,
        "objective_rel_diff": (f_ours - f_lr) / abs(f_lr),
        "eval_ms": 1e3 * ev["default"],
        "bound_ms": 1e3 * bound,
        "eval_over_bound": ev["default"] / bound,
        "scaling_1_to_2": ev["1"] / ev["2"],
    }


_STARTUP = """
import time
t0 = time.perf_counter()
import numba, numpy as np, scipy.optimize, sklearn.linear_model
t1 = time.perf_counter()
from sklearn_softmax import SoftmaxClassifier
rng = np.random.default_rng(0)
X = rng.standard_normal((500, 20))
SoftmaxClassifier().fit(X, rng.integers(0, 3, 500)).predict_proba(X)
t2 = time.perf_counter()
print(t2 - t0, t2 - t1)
"""


def startup_times():
    """Import + first fit in fresh processes: warm cache and cold compile."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)

        def run():
            out = subprocess.run(
                [sys.executable, "-c", _STARTUP],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            return [float(v) for v in out.stdout.split()[-2:]]

        cold = run()
        warm = min(run(), run())
    return {
        "first_fit_cold_s": cold[0],
        "first_fit_warm_s": warm[0],
        "first_fit_cold_own_s": cold[1],
        "first_fit_warm_own_s": warm[1],
    }


def machine():
    info = {"python": platform.python_version()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    import numba
    import scipy
    import sklearn

    info["numba_threads"] = numba.config.NUMBA_NUM_THREADS
    info["versions"] = (
        f"numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, numba {numba.__version__}"
    )
    info["blas"] = sorted(
        {
            f"{p['internal_api']} {p.get('version')} {p.get('architecture')} "
            f"threads={p['num_threads']}"
            for p in threadpool_info()
        }
    )
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    return info


def print_table(rows, startup, info):
    print("# machine")
    for key, value in info.items():
        print(f"#   {key}: {value}")
    cols = [
        ("shape", "{:<10}", "shape"),
        ("dtype", "{:<7}", "dtype"),
        ("LR s", "{:>8.3f}", "fit_lr_s"),
        ("LR1 s", "{:>8.3f}", "fit_lr_1blas_s"),
        ("ours s", "{:>8.3f}", "fit_ours_s"),
        ("xLR", "{:>6.1f}", "ratio_lr"),
        ("xLR1", "{:>6.1f}", "ratio_lr_1blas"),
        ("xLR1/it", "{:>7.1f}", "ratio_lr_1blas_per_iter"),
        ("it LR", "{:>6d}", "iter_lr"),
        ("it us", "{:>6d}", "iter_ours"),
        ("obj LR", "{:>14.10f}", "objective_lr"),
        ("obj ours", "{:>14.10f}", "objective_ours"),
        ("rel diff", "{:>9.1e}", "objective_rel_diff"),
        ("eval ms", "{:>8.2f}", "eval_ms"),
        ("bound", "{:>7.2f}", "bound_ms"),
        ("x bnd", "{:>6.1f}", "eval_over_bound"),
        ("1->2", "{:>5.2f}", "scaling_1_to_2"),
    ]
    width = [len(fmt.format(rows[0][key])) if rows else 8 for _, fmt, key in cols]
    print(" ".join(f"{h:>{w}}" for (h, _, _), w in zip(cols, width, strict=True)))
    for row in rows:
        print(" ".join(fmt.format(row[key]) for _, fmt, key in cols))
    for name, dims in {row["shape"]: row["dims"] for row in rows}.items():
        print(f"#   {name}: {dims}")
    if startup:
        print(
            "# fresh process, imports + first fit + predict_proba "
            "(in brackets: without importing numpy/scipy/sklearn/numba): "
            f"warm cache {startup['first_fit_warm_s']:.2f} s "
            f"({startup['first_fit_warm_own_s']:.2f} s), cold compile "
            f"{startup['first_fit_cold_s']:.2f} s "
            f"({startup['first_fit_cold_own_s']:.2f} s)"
        )


def run(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="tiny shapes (CI)")
    mode.add_argument("--full", action="store_true", help="issue-sized shapes")
    parser.add_argument("--shapes", nargs="*", help="subset of shape names")
    parser.add_argument("--dtypes", nargs="*", default=["float64", "float32"])
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument(
        "--tol",
        type=float,
        default=None,
        help="solver tolerance of both estimators (full 1e-4, quick 1e-6: tiny "
        "problems stop where float32 rounding decides the last digits otherwise)",
    )
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.quick = not args.full
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    args.repeat = args.repeat or (3 if args.quick else 3)
    args.max_iter = args.max_iter or (500 if args.quick else 1000)
    args.tol = args.tol or (1e-6 if args.quick else 1e-4)
    rates = {dt: machine_rates(np.dtype(dt), args.quick) for dt in args.dtypes}
    rows = []
    for name, shape in shapes.items():
        for dtype in args.dtypes:
            rows.append(bench_case(name, shape, np.dtype(dtype), args, rates))
            if not args.quick:
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    startup = None if args.no_startup else startup_times()
    info = machine()
    info["gemm_gflops"] = {k: round(v[0] / 1e9, 1) for k, v in rates.items()}
    info["C, tol, max_iter"] = (C, args.tol, args.max_iter)
    info["read_gb_s"] = round(rates[args.dtypes[0]][1] / 1e9, 1)
    print_table(rows, startup, info)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "rows": rows, "startup": startup}, fh, indent=1)
    return {"machine": info, "rows": rows, "startup": startup}


if __name__ == "__main__":
    run()
