"""Benchmark: SoftmaxClassifier against LogisticRegression and its peers, one process.

For every synthetic shape and dtype the script fits the columns of
``benchmarks/_peers.py``: ours (``SoftmaxClassifier`` with solver lbfgs, and
newton-cg and auto where the estimator has them), ``LR1`` and ``LR``
(``LogisticRegression`` lbfgs with one and with the default BLAS threads),
``skx`` (scikit-learn-intelex, when importable), ``saga`` (CSR shapes) and
``nchol`` (newton-cholesky where its Hessian fits in memory), all with
``C=1``. Every final objective is LogisticRegression's, computed by one
float64 function (``_peers.lr_objective``) at each model's coefficients.

Two modes:

* default: the same ``tol`` (1e-4) and ``max_iter`` for every column; times,
  iterations and final objectives (``F/Fmin-1``: against the lowest of the
  row);
* ``--matched``: a tight reference, the lower objective of ours at
  ``tol=1e-10`` and LR1 at ``tol=1e-12``, gives ``F*``; every column is
  refitted with ``tol`` 1e-4, 3.2e-5, 1e-5, ... until its objective is at
  most ``F* (1 + 1e-6)``, and its time is that of the first fit that gets
  there (``tol`` reported), or "not reached" with its best objective.

Times are medians of ``--repeat`` (default 3) runs that take turns: every
repeat fits every column once, in an order that rotates (in matched mode the
first repeat is the tolerance ladder). The ratio table gives, for each of our
columns, the median time of every peer over ours, measured in this one run.
The script also times one loss-and-gradient evaluation against a machine
bound ``max(4 n d K / GEMM rate, bytes of X / read bandwidth)`` (``nnz``
instead of ``n d`` for CSR), its 1 -> 2 thread scaling, and, in fresh
processes, import plus first fit with a warm compile cache and a cold one.

Usage::

    python benchmarks/bench_lbfgs.py --quick          # tiny shapes, < 1 minute
    python benchmarks/bench_lbfgs.py --full --json out.json
    python benchmarks/bench_lbfgs.py --full --matched --json matched.json

OpenBLAS kernel selection (``OPENBLAS_CORETYPE``) changes numpy's speed; the
header prints what threadpoolctl reports, the CPU model and its caches, so
that runs can be compared. The script asserts no timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import _common  # before sklearn_softmax: puts this checkout on sys.path
import _peers
import numpy as np
import scipy.sparse as sp

from sklearn_softmax._arrays import Targets
from sklearn_softmax._config import compute_threads
from sklearn_softmax._objective import SoftmaxObjective

# Kept importable from here: bench_cv and bench_l1 used to take it from us.
make_data = _common.make_data
best_time = _common.best_time

# name: (n_samples, n_features, n_classes, nnz per row or None for dense)
FULL_SHAPES = {
    "small": (10_000, 50, 5, None),
    "medium": (100_000, 100, 10, None),
    "wide": (50_000, 784, 10, None),
    "csr": (100_000, 20_000, 20, 50),
    "classes100": (20_000, 100, 100, None),
    "binary": (100_000, 100, 2, None),
    "csr50k": (100_000, 50_000, 50, 50),
    "csr100k": (200_000, 100_000, 10, 5),
}
QUICK_SHAPES = {
    "small": (2_000, 20, 4, None),
    "csr": (2_000, 1_000, 5, 10),
    "classes30": (1_000, 20, 30, None),
    "binary": (2_000, 20, 2, None),
}
COLUMNS = (*_peers.OURS, *_peers.PEERS)
C = 1.0
#: --matched: a column matches when ``F <= F* (1 + MATCH_RTOL)``.
MATCH_RTOL = 1e-6
#: --matched: the reference runs (ours, LR1) and their tolerances.
REFERENCE_TOL = {"ours": 1e-10, "LR1": 1e-12}
#: --matched: tolerances tried, loosest first, from --tol on (half decades:
#: the matching fit overshoots F* by little).
TOL_LADDER = tuple(10.0 ** (-e / 2) for e in range(0, 27))


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
    settings = {"default": None, "1": 1, "2": 2}
    out = dict.fromkeys(settings, np.inf)
    for n_jobs in settings.values():
        with compute_threads(n_jobs):
            obj.loss_gradient(theta)  # compile / warm caches
    # The settings take turns (the 1 -> 2 scaling compares them).
    for _, label in _common.round_robin(settings, 5 if quick else 15):
        with compute_threads(settings[label]):
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


def reference(X, y, cols, args):
    """``F*``: the lower final objective of the two tight reference fits."""
    runs = {}
    for name, tol in REFERENCE_TOL.items():
        t, model, _ = _peers.fit(cols[name], X, y, tol, args.ref_max_iter)
        runs[name] = {
            "tol": tol,
            "s": t,
            "iter": _peers.n_iter(model),
            "objective": objective(X, y, model),
        }
    best = min(runs, key=lambda name: runs[name]["objective"])
    return runs[best]["objective"], best, runs


def objective(X, y, model):
    return _peers.lr_objective(X, y, model.coef_, model.intercept_, C)


def bench_case(name, shape, dtype, args, rates):
    n, d, k, nnz = shape
    X, y = make_data(n, d, k, nnz, dtype)
    budget = args.hessian_budget
    cols = {c.name: c for c in _peers.columns(args.columns, C, d, k, nnz, budget)}
    # The reference fits need ours and LR1 even where they are not shown.
    ref_cols = {c.name: c for c in _peers.columns(REFERENCE_TOL, C, d, k, nnz, 0)}
    run = [c for c in cols.values() if c.skip is None]
    # Compile this dtype/format/size's kernels (ours) and load oneDAL (skx)
    # before timing: three iterations on all rows.
    for col in run:
        if col.name in _peers.OURS or col.name == "skx":
            _peers.fit(col, X, y, args.tol, 3)
    out = {c.name: {"skip": c.skip, "times_s": []} for c in cols.values()}
    row = {"shape": name, "dims": f"{n}x{d}x{k}" + (f" nnz/row={nnz}" if nnz else "")}
    row.update(dtype=np.dtype(dtype).name, columns=out)
    if args.matched:
        f_ref, by, runs = reference(X, y, ref_cols, args)
        target = f_ref * (1.0 + MATCH_RTOL)
        row.update(reference_objective=f_ref, reference_by=by, reference_runs=runs)
        row["target_objective"] = target
    tols = [args.tol, *(t for t in TOL_LADDER if t < args.tol * (1 - 1e-9))]
    for rep, cname in _common.round_robin([c.name for c in run], args.repeat):
        col, res = cols[cname], out[cname]
        if not args.matched:
            t, model, note = _peers.fit(col, X, y, args.tol, args.max_iter)
            res.update(model=model, note=note, tol=args.tol)
        elif rep == 0:
            refit, note = ladder(col, X, y, target, tols, args)
            t, model = refit.seconds, refit.model
            res.update(model=model, note=note, tol=refit.tol, reached=refit.reached)
            res.update(ladder_s=refit.ladder_s, best_objective=refit.best_objective)
        elif res["reached"]:
            t, model, _ = _peers.fit(col, X, y, res["tol"], args.max_iter)
        else:
            continue  # its time is not one at the matched objective
        res["times_s"].append(t)
    summarise(X, y, row)
    ev = eval_times(X, y, args.quick)
    bound = bound_seconds(X, k, rates[np.dtype(dtype).name])
    row.update(eval_ms=1e3 * ev["default"], bound_ms=1e3 * bound)
    row.update(eval_over_bound=ev["default"] / bound, scaling_1_to_2=ev["1"] / ev["2"])
    return row


def ladder(col, X, y, target, tols, args):
    """``(Refit, note)``: ``col`` refitted down ``tols`` until ``F <= target``."""
    notes = []

    def fit_at(tol):
        t, model, note = _peers.fit(col, X, y, tol, args.max_iter)
        notes.append(note)
        return t, model

    refit = _common.refit_until(
        fit_at,
        lambda model: objective(X, y, model),
        target,
        tols,
        stop=_stopper(args.max_iter),
    )
    return refit, notes[-1]


def summarise(X, y, row):
    """Medians, iterations, objectives (and against what) and ratios of a row."""
    out = row["columns"]
    for res in out.values():
        model = res.pop("model", None)
        if model is not None:
            res["median_s"] = _common.median(res["times_s"])
            res["iter"] = _peers.n_iter(model)
            res["objective"] = objective(X, y, model)
    finals = [r["objective"] for r in out.values() if "iter" in r]
    row["lowest_objective"] = min(finals, default=float("nan"))
    base = row.get("reference_objective", row["lowest_objective"])
    for res in out.values():
        if "objective" in res:
            res["rel"] = (res["objective"] - base) / abs(base)
        if "best_objective" in res:
            res["best_rel"] = (res["best_objective"] - base) / abs(base)
    row["ratios"] = ratios(out)


def _stopper(max_iter, patience=4):
    """When a tol ladder ends: ``max_iter`` reached (a tighter tol cannot
    help), or no lower objective in ``patience`` rungs in a row (two
    decades; one rung often stops at the same iteration as the one before).
    """
    stalled = 0

    def stop(model, f, f_prev):
        nonlocal stalled
        stalled = stalled + 1 if f >= f_prev else 0
        return _peers.n_iter(model) >= max_iter or stalled >= patience

    return stop


def _timed(res):
    """Median time of a column that ran (and, when matching, matched)."""
    if "median_s" not in res or not res.get("reached", True):
        return None
    return res["median_s"]


def ratios(out):
    """``{ours column: {peer: peer median / ours median}}``.

    None where either did not run or, matching, did not reach the target.
    """
    result = {}
    for mine in _peers.OURS:
        if mine not in out or out[mine]["skip"] is not None:
            continue
        t_mine = _timed(out[mine])
        result[mine] = {}
        for peer in _peers.PEERS:
            t_peer = _timed(out.get(peer, {}))
            ok = t_peer is not None and t_mine is not None
            result[mine][peer] = t_peer / t_mine if ok else None
    return result


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
        # The checkout this script benchmarks, as in this process.
        path = [str(_common.ROOT), os.environ.get("PYTHONPATH", "")]
        path = os.pathsep.join(p for p in path if p)
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=path)

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


def _status(res, matched):
    if res["skip"]:
        return f"skipped: {res['skip']}"
    notes = [res["note"]] if res.get("note") else []
    if matched and not res["reached"]:
        notes.append(f"not reached, best F/F*-1 {res['best_rel']:.1e}")
    return "; ".join(notes)


def table_lines(rows, matched):
    """The per-column lines (long format) and the ratio lines."""
    lines, ratio_lines = [], []
    for row in rows:
        for cname, res in row["columns"].items():
            lines.append(
                {
                    "shape": row["shape"],
                    "dtype": row["dtype"],
                    "column": cname,
                    "s": _timed(res),
                    "iter": res.get("iter"),
                    "objective": res.get("objective"),
                    "rel": res.get("rel"),
                    "tol": res.get("tol"),
                    "ladder_s": res.get("ladder_s"),
                    "status": _status(res, matched),
                }
            )
        for mine, against in row["ratios"].items():
            line = {"shape": row["shape"], "dtype": row["dtype"], "ours": mine}
            ratio_lines.append(line | {f"x{p}": x for p, x in against.items()})
    return lines, ratio_lines


def print_report(rows, startup, info, matched):
    _common.print_header(info)
    lines, ratio_lines = table_lines(rows, matched)
    rel = "F/F*-1" if matched else "F/Fmin-1"
    _common.print_columns(
        lines,
        [
            ("shape", "{:<10}", "shape"),
            ("dtype", "{:<7}", "dtype"),
            ("column", "{:<9}", "column"),
            ("time s", "{:>9.3f}", "s"),
            ("it", "{:>6d}", "iter"),
            ("objective", "{:>14.10f}", "objective"),
            (rel, "{:>9.1e}", "rel"),
            ("tol", "{:>7.1e}", "tol"),
            *([("ladder s", "{:>9.3f}", "ladder_s")] if matched else []),
            ("status", "{:<}", "status"),
        ],
    )
    print("# ratios: median time of the peer over ours (above 1: ours faster)")
    _common.print_columns(
        ratio_lines,
        [
            ("shape", "{:<10}", "shape"),
            ("dtype", "{:<7}", "dtype"),
            ("ours", "{:<9}", "ours"),
            *((f"x{p}", "{:>7.2f}", f"x{p}") for p in _peers.PEERS),
        ],
    )
    _common.print_columns(
        rows,
        [
            ("shape", "{:<10}", "shape"),
            ("dtype", "{:<7}", "dtype"),
            ("eval ms", "{:>8.2f}", "eval_ms"),
            ("bound", "{:>7.2f}", "bound_ms"),
            ("x bnd", "{:>6.1f}", "eval_over_bound"),
            ("1->2", "{:>5.2f}", "scaling_1_to_2"),
        ],
    )
    for name, dims in {row["shape"]: row["dims"] for row in rows}.items():
        print(f"#   {name}: {dims}")
    if matched:
        print(
            f"# matched: F* = the lower objective of ours at tol="
            f"{REFERENCE_TOL['ours']:g} and LR1 at tol={REFERENCE_TOL['LR1']:g}; "
            f"a column's time is its first fit of the tol ladder with F <= F* "
            f"(1 + {MATCH_RTOL:g}), ladder s the whole ladder"
        )
        for row in rows:
            print(
                f"#   {row['shape']} {row['dtype']}: F* "
                f"{row['reference_objective']:.12f} from {row['reference_by']}"
            )
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
    mode.add_argument(
        "--full", action="store_true", help=f"issue-sized shapes: {list(FULL_SHAPES)}"
    )
    parser.add_argument("--shapes", nargs="*", help="subset of shape names")
    parser.add_argument("--dtypes", nargs="*", default=["float64", "float32"])
    parser.add_argument(
        "--columns",
        nargs="*",
        choices=COLUMNS,
        default=list(COLUMNS),
        metavar="COL",
        help=f"subset of {list(COLUMNS)}",
    )
    parser.add_argument("--matched", action="store_true", help="matched objective")
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians")
    parser.add_argument(
        "--max-iter", type=int, default=None, help="1000 (--matched: 10000)"
    )
    parser.add_argument(
        "--ref-max-iter", type=int, default=None, help="reference fits: 10000"
    )
    parser.add_argument(
        "--tol",
        type=float,
        default=None,
        help="solver tolerance of every column, the first of the --matched "
        "ladder (full 1e-4, quick 1e-6: tiny problems stop where float32 "
        "rounding decides the last digits otherwise)",
    )
    parser.add_argument(
        "--hessian-budget-gib",
        type=float,
        default=None,
        help="nchol runs where its Hessian fits in this; default "
        f"{_peers.HESSIAN_FRACTION:g} of the physical memory (quick: 1/16 GiB, "
        "which its sparse products would otherwise take a minute to fill)",
    )
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    args.quick = not args.full
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    args.max_iter = args.max_iter or (10_000 if args.matched else 1000)
    args.ref_max_iter = args.ref_max_iter or 10_000
    args.tol = args.tol or (1e-6 if args.quick else 1e-4)
    if args.hessian_budget_gib is not None:
        args.hessian_budget = args.hessian_budget_gib * 2**30
    elif args.quick:
        args.hessian_budget = 2**30 / 16
    else:
        args.hessian_budget = (_peers.physical_memory() or 0) * _peers.HESSIAN_FRACTION
    rates = {dt: machine_rates(np.dtype(dt), args.quick) for dt in args.dtypes}
    rows = []
    for name, shape in shapes.items():
        for dtype in args.dtypes:
            rows.append(bench_case(name, shape, np.dtype(dtype), args, rates))
            if not args.quick:
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    startup = None if args.no_startup else startup_times()
    info = _common.machine()
    info["gemm_gflops"] = {k: round(v[0] / 1e9, 1) for k, v in rates.items()}
    info["read_gb_s"] = round(rates[args.dtypes[0]][1] / 1e9, 1)
    info["mode"] = "matched objective" if args.matched else "same tol"
    info["C, tol, max_iter"] = (C, args.tol, args.max_iter)
    info["repeats"] = args.repeat
    info["sklearnex"] = _peers.sklearnex_version()
    info["nchol Hessian budget GiB"] = round(args.hessian_budget / 2**30, 3)
    info["our solvers"] = sorted(_peers.solver_options())
    print_report(rows, startup, info, args.matched)
    result = {"machine": info, "rows": rows, "startup": startup}
    _common.save_json(args.json, result)
    return result


if __name__ == "__main__":
    run()
