"""Benchmark: SoftmaxClassifierCV against LogisticRegressionCV and GridSearchCV.

The three searches choose ``C`` over the same grid (``--n-Cs`` values of
``np.logspace(-4, 4, n)``, default 10), with the same folds
(``StratifiedKFold(--cv)``, default 5, without shuffling), the same scorer
(``"neg_log_loss"``), ``tol`` (1e-4) and ``max_iter``, and refit on all data:

* ``SoftmaxClassifierCV(Cs, cv)``: one objective per fold, the C path
  warm-started from strong to weak regularisation;
* ``LogisticRegressionCV(Cs, cv, l1_ratios=(0,), use_legacy_attributes=False)``
  (solver lbfgs), scikit-learn's own path;
* ``GridSearchCV(SoftmaxClassifier(), {"C": Cs}, cv)``: every grid point of
  every fold fitted from zeros, the data term rebuilt every time.

Shapes (the synthetic data of ``benchmarks/bench_lbfgs.py``, from
``benchmarks/_common.py``): a
dense 50k x 100 x 10 problem (standardised columns) and a CSR 50k x 5k x 10
problem with 20 non-zeros per row. Every repeat runs the three searches, in
an order that rotates from one repeat to the next; the table reports the
median time of each over ``--repeats`` (default 3) and the ratios of those
medians, all measured in this one run, the chosen ``C`` of each, the total
solver iterations of ours and of LogisticRegressionCV over the path (refit
not counted), and the largest difference between our ``scores_`` and theirs
(``max dS``; the grid search's per-split test scores) and the largest one
at our chosen ``C`` (``dS@C``). Solves of weak penalties that stop at
``max_iter`` stop at different points in the three searches, hence ``max
dS`` can be much larger than ``dS@C``.

``--n-jobs`` goes to all three (folds in threads for ours, joblib workers
for the others; default ``None``: one at a time).

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
METHODS = ("ours", "lrcv", "grid")


def make_data(shape, seed=0):
    """The benchmarks' synthetic data; dense columns standardised."""
    n, d, k, nnz = shape
    X, y = _common.make_data(n, d, k, nnz, np.float64, seed=seed)
    if nnz is None:
        X = np.ascontiguousarray(StandardScaler().fit_transform(X))
    return X, y


def make_search(which, Cs, cv, args):
    """The unfitted search ``which`` (one of METHODS)."""
    common = dict(cv=cv, max_iter=args.max_iter, tol=TOL)
    if which == "ours":
        return SoftmaxClassifierCV(Cs=Cs, n_jobs=args.n_jobs, **common)
    if which == "lrcv":
        return LogisticRegressionCV(
            Cs=Cs,
            l1_ratios=(0.0,),
            scoring="neg_log_loss",
            use_legacy_attributes=False,
            n_jobs=args.n_jobs,
            **common,
        )
    return GridSearchCV(
        SoftmaxClassifier(max_iter=args.max_iter, tol=TOL),
        {"C": list(Cs)},
        cv=cv,
        scoring="neg_log_loss",
        n_jobs=args.n_jobs,
    )


def chosen_C(which, search):
    return float(search.best_params_["C"] if which == "grid" else search.C_)


def fold_scores(which, search, n_folds):
    """Validation scores of shape (n_folds, n_Cs)."""
    if which == "grid":
        res = search.cv_results_
        return np.array([res[f"split{i}_test_score"] for i in range(n_folds)])
    return np.asarray(search.scores_)[:, 0, :]


def bench_case(name, shape, args):
    n, d, k, nnz = shape
    X, y = make_data(shape)
    Cs = np.logspace(-4, 4, args.n_Cs)
    cv = StratifiedKFold(n_splits=args.cv)
    # Compile the kernels this format and size use before timing: a few
    # iterations of the CV estimator and of the plain one on all rows.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SoftmaxClassifierCV(Cs=[1.0], cv=cv, max_iter=3, n_jobs=args.n_jobs).fit(X, y)
        SoftmaxClassifier(max_iter=3).fit(X, y)
    times = {m: [] for m in METHODS}
    fitted = {}
    for _rep, which in _common.round_robin(METHODS, args.repeats):
        # Weak penalties may reach max_iter: the same budget for all three.
        t, fitted[which] = _common.timed_fit(make_search(which, Cs, cv, args), X, y)
        times[which].append(t)
    med = {m: _common.median(t) for m, t in times.items()}
    scores = {m: fold_scores(m, fitted[m], args.cv) for m in METHODS}
    diff = {m: np.abs(scores["ours"] - scores[m]) for m in ("lrcv", "grid")}
    # At our chosen C, a well penalised and converged grid point.
    i_C = int(np.argmin(np.abs(Cs - fitted["ours"].C_)))
    return {
        "shape": name,
        "dims": f"{n}x{d}x{k}" + (f" nnz/row={nnz}" if nnz else " standardised"),
        "ours_s": med["ours"],
        "lrcv_s": med["lrcv"],
        "grid_s": med["grid"],
        "x_lrcv": med["lrcv"] / med["ours"],
        "x_grid": med["grid"] / med["ours"],
        "C_ours": chosen_C("ours", fitted["ours"]),
        "C_lrcv": chosen_C("lrcv", fitted["lrcv"]),
        "C_grid": chosen_C("grid", fitted["grid"]),
        "best_score_ours": float(scores["ours"].mean(axis=0).max()),
        "iter_ours": int(np.sum(fitted["ours"].n_iter_)),
        "iter_lrcv": int(np.sum(fitted["lrcv"].n_iter_)),
        "scores_max_diff_lrcv": float(diff["lrcv"].max()),
        "scores_max_diff_grid": float(diff["grid"].max()),
        "scores_diff_at_C_lrcv": float(diff["lrcv"][:, i_C].max()),
        "scores_diff_at_C_grid": float(diff["grid"][:, i_C].max()),
        "ours_times_s": times["ours"],
        "lrcv_times_s": times["lrcv"],
        "grid_times_s": times["grid"],
    }


COLUMNS = [
    ("shape", "{:<6}", "shape"),
    ("ours s", "{:>8.3f}", "ours_s"),
    ("lrcv s", "{:>8.3f}", "lrcv_s"),
    ("grid s", "{:>8.3f}", "grid_s"),
    ("xlrcv", "{:>6.2f}", "x_lrcv"),
    ("xgrid", "{:>6.2f}", "x_grid"),
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
    "# times: medians over repeats (the order of the three searches "
    "rotates); xlrcv, xgrid: their median over ours; it: solver "
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
    parser.add_argument("--n-jobs", type=int, default=None, help="all three")
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
        rows.append(bench_case(name, shape, args))
        if not args.quick:
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    info = _common.machine()
    info["Cs, cv, scoring"] = (
        f"np.logspace(-4, 4, {args.n_Cs})",
        f"StratifiedKFold({args.cv})",
        "neg_log_loss",
    )
    info["tol, max_iter, n_jobs"] = (TOL, args.max_iter, args.n_jobs)
    info["repeats"] = args.repeats
    _common.print_table(rows, info, COLUMNS, NOTE)
    _common.save_json(args.json, {"machine": info, "rows": rows})
    return {"machine": info, "rows": rows}


if __name__ == "__main__":
    run()
