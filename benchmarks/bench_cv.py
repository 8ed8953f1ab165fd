"""Benchmark: SoftmaxClassifierCV against LogisticRegressionCV and GridSearchCV.

The searches choose ``C`` over the same grid (``--n-Cs`` values of
``np.logspace(-4, 4, n)``, default 10), with the same folds
(``StratifiedKFold(--cv)``, default 5, without shuffling), the same scorer
(``"neg_log_loss"``), ``tol`` (1e-4) and ``max_iter``, and refit on all data:

* ``SoftmaxClassifierCV(Cs, cv, solver=s)`` for every ``s`` of ``--solvers``
  (default ``lbfgs auto``): one objective per fold, the C path warm-started
  from strong to weak regularisation;
* ``LogisticRegressionCV(Cs, cv, l1_ratios=(0,), use_legacy_attributes=False)``
  (solver lbfgs), scikit-learn's own path, run as it comes (``lrcv``) and
  under one BLAS thread (``lrcv1``); the ratios take the faster of the two;
* ``GridSearchCV(SoftmaxClassifier(), {"C": Cs}, cv)`` (``grid``, the
  default solver lbfgs) and, for another ``s``,
  ``GridSearchCV(SoftmaxClassifier(solver=s), ...)`` (``grid same``): every
  grid point of every fold fitted from zeros, the data term rebuilt every
  time.

Shapes (the synthetic data of ``benchmarks/bench_lbfgs.py``, from
``benchmarks/_common.py``): a
dense 50k x 100 x 10 problem (standardised columns) and a CSR 50k x 5k x 10
problem with 20 non-zeros per row. Every repeat runs all searches, in
an order that rotates from one repeat to the next; the table has a row per
shape and solver of ours, with the median time of each search over
``--repeats`` (default 3) and the ratios of those medians, all measured in
this one run, the chosen ``C`` of each, the total solver iterations of ours
and of LogisticRegressionCV over the path (refit not counted; Newton-CG
counts Newton iterations), and the largest difference between our
``scores_`` and theirs (``max dS``; the grid search's per-split test scores)
and the largest one at our chosen ``C`` (``dS@C``). Solves of weak penalties
that stop at ``max_iter`` stop at different points in the searches, and
Newton-CG converges there, hence ``max dS`` can be much larger than
``dS@C``.

``--n-jobs`` goes to all searches (folds in threads for ours, joblib
workers for the others; default ``None``: one at a time).

Usage::

    python benchmarks/bench_cv.py --quick          # tiny shapes, < 1 minute
    python benchmarks/bench_cv.py --json cv.json   # the full shapes

The script prints ratios measured in one run; it asserts no timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import _common  # before sklearn_softmax: puts this checkout on sys.path
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier, SoftmaxClassifierCV

# name: (n_samples, n_features, n_classes, nnz per row or None for dense)
FULL_SHAPES = {
    "dense": (50_000, 100, 10, None),
    "csr": (50_000, 5_000, 10, 20),
}
QUICK_SHAPES = {
    "dense": (600, 8, 3, None),
    "csr": (600, 100, 3, 6),
}
#: Grid size and folds: (full, --quick) defaults.
N_CS = (10, 5)
N_FOLDS = (5, 3)
TOL = 1e-4
SOLVERS = ("lbfgs", "auto")


def make_data(shape, seed=0):
    """The benchmarks' synthetic data; dense columns standardised."""
    n, d, k, nnz = shape
    X, y = _common.make_data(n, d, k, nnz, np.float64, seed=seed)
    if nnz is None:
        X = np.ascontiguousarray(StandardScaler().fit_transform(X))
    return X, y


def methods(solvers):
    """The searches to time: ours and the grid search per solver, and LRCV."""
    names = ["lrcv", "lrcv1", "grid:lbfgs"]
    for solver in solvers:
        names.append(f"ours:{solver}")
        if solver != "lbfgs":
            names.append(f"grid:{solver}")
    return names


def make_search(which, Cs, cv, args):
    """The unfitted search ``which`` (one of ``methods()``)."""
    common = dict(cv=cv, max_iter=args.max_iter, tol=TOL)
    kind, _, solver = which.partition(":")
    if kind == "ours":
        return SoftmaxClassifierCV(Cs=Cs, n_jobs=args.n_jobs, solver=solver, **common)
    if kind.startswith("lrcv"):
        return LogisticRegressionCV(
            Cs=Cs,
            l1_ratios=(0.0,),
            scoring="neg_log_loss",
            use_legacy_attributes=False,
            n_jobs=args.n_jobs,
            **common,
        )
    return GridSearchCV(
        SoftmaxClassifier(max_iter=args.max_iter, tol=TOL, solver=solver),
        {"C": list(Cs)},
        cv=cv,
        scoring="neg_log_loss",
        n_jobs=args.n_jobs,
    )


def chosen_C(search):
    best = getattr(search, "best_params_", None)
    return float(best["C"] if best is not None else search.C_)


def fold_scores(search, n_folds):
    """Validation scores of shape (n_folds, n_Cs)."""
    res = getattr(search, "cv_results_", None)
    if res is not None:
        return np.array([res[f"split{i}_test_score"] for i in range(n_folds)])
    return np.asarray(search.scores_)[:, 0, :]


def bench_case(name, shape, args):
    """Time every search on ``shape``; one row per solver of ours."""
    n, d, k, nnz = shape
    X, y = make_data(shape)
    Cs = np.logspace(-4, 4, args.n_Cs)
    cv = StratifiedKFold(n_splits=args.cv)
    # Compile the kernels this format and size use before timing: a few
    # iterations of the CV estimator and of the plain one on all rows.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in args.solvers:
            SoftmaxClassifierCV(
                Cs=[1.0], cv=cv, max_iter=3, n_jobs=args.n_jobs, solver=solver
            ).fit(X, y)
            SoftmaxClassifier(max_iter=3, solver=solver).fit(X, y)
    names = methods(args.solvers)
    times = {m: [] for m in names}
    fitted = {}
    for _rep, which in _common.round_robin(names, args.repeats):
        # Weak penalties may reach max_iter: the same budget for all.
        t, fitted[which] = _common.timed_fit(
            make_search(which, Cs, cv, args), X, y, one_blas=which == "lrcv1"
        )
        times[which].append(t)
    med = {m: _common.median(t) for m, t in times.items()}
    lrcv = min(med["lrcv"], med["lrcv1"])
    scores = {m: fold_scores(fitted[m], args.cv) for m in names}
    rows = []
    for solver in args.solvers:
        ours, same = f"ours:{solver}", f"grid:{solver}"
        diff = {
            "lrcv": np.abs(scores[ours] - scores["lrcv"]),
            "grid": np.abs(scores[ours] - scores["grid:lbfgs"]),
        }
        # At our chosen C, a well penalised and converged grid point.
        i_C = int(np.argmin(np.abs(Cs - fitted[ours].C_)))
        rows.append(
            {
                "shape": name,
                "solver": solver,
                "dims": f"{n}x{d}x{k}"
                + (f" nnz/row={nnz}" if nnz else " standardised"),
                "ours_s": med[ours],
                "lrcv_s": med["lrcv"],
                "lrcv1_s": med["lrcv1"],
                "grid_s": med["grid:lbfgs"],
                "grid_same_s": med[same],
                "x_lrcv": lrcv / med[ours],
                "x_grid": med["grid:lbfgs"] / med[ours],
                "x_grid_same": med[same] / med[ours],
                "C_ours": chosen_C(fitted[ours]),
                "C_lrcv": chosen_C(fitted["lrcv"]),
                "C_grid": chosen_C(fitted["grid:lbfgs"]),
                "best_score_ours": float(scores[ours].mean(axis=0).max()),
                "iter_ours": int(np.sum(fitted[ours].n_iter_)),
                "iter_lrcv": int(np.sum(fitted["lrcv"].n_iter_)),
                "scores_max_diff_lrcv": float(diff["lrcv"].max()),
                "scores_max_diff_grid": float(diff["grid"].max()),
                "scores_diff_at_C_lrcv": float(diff["lrcv"][:, i_C].max()),
                "scores_diff_at_C_grid": float(diff["grid"][:, i_C].max()),
                "ours_times_s": times[ours],
                "lrcv_times_s": times["lrcv"],
                "lrcv1_times_s": times["lrcv1"],
                "grid_times_s": times["grid:lbfgs"],
                "grid_same_times_s": times[same],
            }
        )
    return rows


COLUMNS = [
    ("shape", "{:<6}", "shape"),
    ("solver", "{:<9}", "solver"),
    ("ours s", "{:>8.3f}", "ours_s"),
    ("lrcv s", "{:>8.3f}", "lrcv_s"),
    ("lrcv1 s", "{:>8.3f}", "lrcv1_s"),
    ("grid s", "{:>8.3f}", "grid_s"),
    ("grid same s", "{:>11.3f}", "grid_same_s"),
    ("xlrcv", "{:>6.2f}", "x_lrcv"),
    ("xgrid", "{:>6.2f}", "x_grid"),
    ("xgrid same", "{:>10.2f}", "x_grid_same"),
    ("C ours", "{:>9.3g}", "C_ours"),
    ("C lrcv", "{:>9.3g}", "C_lrcv"),
    ("C grid", "{:>9.3g}", "C_grid"),
    ("best score", "{:>10.6f}", "best_score_ours"),
    ("it ours", "{:>7d}", "iter_ours"),
    ("it lrcv", "{:>7d}", "iter_lrcv"),
    ("max dS lrcv", "{:>11.1e}", "scores_max_diff_lrcv"),
    ("max dS grid", "{:>11.1e}", "scores_max_diff_grid"),
    ("dS@C lrcv", "{:>9.1e}", "scores_diff_at_C_lrcv"),
    ("dS@C grid", "{:>9.1e}", "scores_diff_at_C_grid"),
]


NOTE = (
    "# times: medians over repeats (the order of the searches rotates); "
    "lrcv1: LogisticRegressionCV under one BLAS thread; grid: "
    "GridSearchCV(SoftmaxClassifier()), grid same: with our row's solver; "
    "xlrcv: the faster LogisticRegressionCV over ours, xgrid, xgrid same: "
    "their median over ours; it: solver "
    "iterations over all folds and Cs (refit not counted); max dS: "
    "largest |difference| of our per-fold scores from theirs (dS@C: at our "
    "chosen C); the largest ones come from weak penalties that stop at "
    "max_iter"
)


def run(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes (CI)")
    parser.add_argument("--shapes", nargs="*", help="subset of shape names")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--n-Cs", type=int, default=None, help="np.logspace(-4, 4, n); 10 (quick: 5)"
    )
    parser.add_argument(
        "--cv", type=int, default=None, help="StratifiedKFold splits; 5 (quick: 3)"
    )
    parser.add_argument("--max-iter", type=int, default=100, help="every solve")
    parser.add_argument("--n-jobs", type=int, default=None, help="all searches")
    parser.add_argument(
        "--solvers",
        nargs="+",
        default=list(SOLVERS),
        choices=["lbfgs", "newton-cg", "auto"],
        help="solvers of ours (and of the grid search's 'grid same')",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    if args.n_Cs is None:
        args.n_Cs = N_CS[args.quick]
    if args.cv is None:
        args.cv = N_FOLDS[args.quick]
    if args.shapes:
        shapes = {k: v for k, v in shapes.items() if k in args.shapes}
    rows = []
    for name, shape in shapes.items():
        for row in bench_case(name, shape, args):
            rows.append(row)
            if not args.quick:
                print(json.dumps(row), file=sys.stderr, flush=True)
    info = _common.machine()
    info["Cs, cv, scoring"] = (
        f"np.logspace(-4, 4, {args.n_Cs})",
        f"StratifiedKFold({args.cv})",
        "neg_log_loss",
    )
    info["tol, max_iter, n_jobs"] = (TOL, args.max_iter, args.n_jobs)
    info["solvers of ours"] = tuple(args.solvers)
    info["repeats"] = args.repeats
    _common.print_table(rows, info, COLUMNS, NOTE)
    _common.save_json(args.json, {"machine": info, "rows": rows})
    return {"machine": info, "rows": rows}


if __name__ == "__main__":
    run()
