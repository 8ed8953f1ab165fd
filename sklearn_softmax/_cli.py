"""``python -m sklearn_softmax``: compare SoftmaxClassifier with LogisticRegression.

Both estimators are fitted with the same ``C``, ``tol`` and ``max_iter`` after
the same :class:`~sklearn.preprocessing.StandardScaler` (standardised features
let L-BFGS converge in a few dozen iterations), on a dataset shipped with
scikit-learn or on a CSV file, and the command prints one table: fit time,
iterations, accuracies, log-loss, the largest probability and coefficient
differences and two speed ratios. LogisticRegression is timed twice, with
BLAS's default threads and under one BLAS thread (threadpoolctl), because its
time with several BLAS threads depends on how busy the other cores are; the
three programs are fitted ``--repeats`` times, interleaved, and the report
gives median times. ``--plot FILE.png`` saves the same comparison as a figure
(matplotlib is imported only then).

Errors in the user's input (an out-of-range option, a missing, binary or
non-UTF-8 file, a missing target column, a non-numeric feature, too few rows)
are reported as one ``sklearn-softmax: error: ...`` line on stderr with exit
code 2, like argparse's own errors, and never as a traceback.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings

import numpy as np

from ._cli_csv import CSVError, check_separator, read_csv
from ._cli_plot import PlotError, plot_file, save_plot
from ._cli_report import ComparisonResult, FitReport, format_table

__all__ = ["DATASETS", "ComparisonResult", "build_parser", "main", "run_comparison"]

#: Datasets shipped with scikit-learn that ``--dataset`` accepts.
DATASETS = ("digits", "iris", "wine", "breast_cancer")


class UsageError(Exception):
    """A problem with the user's input; reported with exit code 2."""


def _solver_choices():
    # Read the choices from the estimator so that new solvers appear here
    # without editing the CLI.
    from ._classifier import SoftmaxClassifier

    for constraint in SoftmaxClassifier._parameter_constraints["solver"]:
        options = getattr(constraint, "options", None)
        if options:
            return sorted(options)
    return ["lbfgs"]


def _checked(convert, ok, requirement):
    """Make an argparse type: ``convert`` the text, then require ``ok(value)``."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if convert is int else 'a number'}"
            ) from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    return parse


_positive_float = _checked(float, lambda v: v > 0, "positive")
# An infinite tol stops every solver before its first step.
_positive_finite_float = _checked(
    float, lambda v: 0 < v < math.inf, "a positive finite number"
)
_positive_int = _checked(int, lambda v: v >= 1, "at least 1")
_test_size = _checked(float, lambda v: 0 < v < 1, "a fraction in (0, 1)")
_n_jobs = _checked(int, lambda v: v != 0, "a non-zero number of threads")
# The range NumPy's seeding accepts, checked here rather than after the data
# is loaded.
_random_state = _checked(int, lambda v: 0 <= v < 2**32, "in [0, 2**32 - 1]")


def _separator(text):
    try:
        return check_separator(text)
    except CSVError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser():
    """Build the command-line parser of ``python -m sklearn_softmax``.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="sklearn-softmax",
        description=(
            "Fit SoftmaxClassifier and scikit-learn's LogisticRegression with the "
            "same C, tol and max_iter (after StandardScaler) and print fit time, "
            "iterations, accuracy, log-loss, the largest probability and "
            "coefficient differences and the speed ratios (median fit times; "
            "LogisticRegression with its default BLAS threads and with one)."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="dataset shipped with scikit-learn (default: digits)",
    )
    source.add_argument("--csv", metavar="PATH", help="CSV file with a header row")
    parser.add_argument(
        "--target", metavar="COLUMN", help="name of the label column of --csv"
    )
    parser.add_argument(
        "--sep",
        type=_separator,
        default=",",
        help="field separator of --csv: one character, or \\t for a tab (default: ',')",
    )
    parser.add_argument(
        "--C",
        type=_positive_float,
        default=1.0,
        help="inverse penalty (default 1; inf for none)",
    )
    parser.add_argument(
        "--solver",
        default="lbfgs",
        choices=_solver_choices(),
        help="SoftmaxClassifier solver (LogisticRegression always uses lbfgs)",
    )
    parser.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="SoftmaxClassifier threads (-1: all; default: numba's setting)",
    )
    parser.add_argument(
        "--tol", type=_positive_finite_float, default=1e-4, help="default 1e-4"
    )
    parser.add_argument(
        "--max-iter", type=_positive_int, default=1000, help="default 1000"
    )
    parser.add_argument(
        "--test-size", type=_test_size, default=0.25, help="held-out fraction (0.25)"
    )
    parser.add_argument(
        "--random-state", type=_random_state, default=0, help="split seed (0)"
    )
    parser.add_argument(
        "--repeats",
        "--repeat",
        dest="repeats",
        type=_positive_int,
        default=3,
        help=(
            "fit each of the three timed programs this many times, interleaved, "
            "and report the median times (default 3)"
        ),
    )
    parser.add_argument("--plot", metavar="FILE.png", help="save a comparison figure")
    return parser


def load_data(args):
    """Return ``(X, y, name)`` selected by the parsed arguments."""
    if args.csv is not None:
        if args.target is None:
            raise UsageError("--csv needs --target COLUMN (the label column)")
        try:
            X, y = read_csv(args.csv, args.target, args.sep)
        except CSVError as exc:
            raise UsageError(str(exc)) from None
        return X, y, args.csv
    if args.target is not None:
        raise UsageError("--target is only used with --csv")
    from sklearn import datasets

    name = args.dataset or "digits"
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X.astype(np.float64), y, name


def _blas_threads():
    """Return the number of threads BLAS uses by default (1 if none reports)."""
    from threadpoolctl import threadpool_info

    counts = [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]
    return max(counts, default=1)


def _timed_fits(programs, X, y, repeats):
    """Fit every program ``repeats`` times, interleaved.

    ``programs`` maps a key to ``(make, context)``: ``make()`` builds an
    unfitted model and ``context()`` a context manager to fit it in. Rounds
    alternate the programs (one fit of each per round), so that a change of
    machine load affects all of them alike rather than only the program that
    happened to be running.

    Returns ``{key: (last fitted model, list of fit times, converged)}``.
    """
    from sklearn.exceptions import ConvergenceWarning

    times = {key: [] for key in programs}
    models, caught = {}, {}
    for _ in range(repeats):
        for key, (make, context) in programs.items():
            with warnings.catch_warnings(record=True) as found:
                warnings.simplefilter("always")
                model = make()
                with context():
                    start = time.perf_counter()
                    model.fit(X, y)
                    times[key].append(time.perf_counter() - start)
            models[key] = model
            caught.setdefault(key, []).extend(found)
    return {
        key: (
            models[key],
            times[key],
            not any(issubclass(w.category, ConvergenceWarning) for w in caught[key]),
        )
        for key in programs
    }


def run_comparison(
    X,
    y,
    *,
    dataset="data",
    C=1.0,
    solver="lbfgs",
    n_jobs=None,
    tol=1e-4,
    max_iter=1000,
    test_size=0.25,
    random_state=0,
    repeats=3,
):
    """Fit both estimators on a stratified split and compare them.

    SoftmaxClassifier, LogisticRegression with the default BLAS threads and
    LogisticRegression under ``threadpool_limits(1, user_api="blas")`` are
    each fitted ``repeats`` times, interleaved, and compared by their median
    fit times.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Numeric features.
    y : ndarray of shape (n_samples,)
        Labels.
    dataset : str, default="data"
        Name shown in the report.
    C, tol, max_iter : float, float, int
        Passed to both estimators.
    solver : str, default="lbfgs"
        SoftmaxClassifier solver; LogisticRegression uses lbfgs.
    n_jobs : int or None, default=None
        SoftmaxClassifier threads.
    test_size : float, default=0.25
        Held-out fraction.
    random_state : int, default=0
        Seed of the split (and of stochastic solvers).
    repeats : int, default=3
        Number of timed fits of each of the three programs; the medians are
        reported.

    Returns
    -------
    result : ComparisonResult
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.multiclass import type_of_target

    from ._classifier import SoftmaxClassifier

    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise UsageError(
            f"the labels are of type {kind!r}; a classifier needs class labels "
            "(integers or strings), not continuous values"
        )
    classes, counts = np.unique(y, return_counts=True)
    if classes.shape[0] < 2:
        raise UsageError(f"the labels contain only one class: {_show(classes[0])}")
    stratify = y if counts.min() >= 2 else None
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=random_state, stratify=stratify
        )
    except ValueError as exc:
        raise UsageError(f"cannot split the data: {exc}") from None
    # Without stratification (some class has one row) a class can miss the
    # training rows; neither estimator could then predict it.
    unseen = np.setdiff1d(classes, y_train)
    if unseen.size:
        count = int(counts[np.searchsorted(classes, unseen[0])])
        raise UsageError(
            f"class {_show(unseen[0])} has no row in the training split "
            f"({count} row{'s' if count != 1 else ''} of {len(y)} in all); "
            "give every class at least 2 rows"
        )

    common = dict(C=C, tol=tol, max_iter=max_iter)
    softmax_params = dict(common, solver=solver, n_jobs=n_jobs)
    if solver != "lbfgs":
        softmax_params["random_state"] = random_state

    def make_softmax():
        return make_pipeline(StandardScaler(), SoftmaxClassifier(**softmax_params))

    def make_logistic():
        return make_pipeline(StandardScaler(), LogisticRegression(**common))

    # Compile the kernels for this dtype before timing: the first fit in a
    # process without a warm numba cache pays for compilation.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_softmax().set_params(softmaxclassifier__max_iter=1).fit(X_train, y_train)
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    def one_blas_thread():
        return threadpool_limits(limits=1, user_api="blas")

    from ._config import resolve_n_threads

    softmax_threads = resolve_n_threads(n_jobs)
    blas_threads = _blas_threads()
    fits = _timed_fits(
        {
            "softmax": (make_softmax, nullcontext),
            "logistic": (make_logistic, nullcontext),
            "logistic_one_thread": (make_logistic, one_blas_thread),
        },
        X_train,
        y_train,
        repeats,
    )
    medians = {key: statistics.median(fit[1]) for key, fit in fits.items()}
    reports, models = {}, {}
    for key, name in (
        ("softmax", "SoftmaxClassifier"),
        ("logistic", "LogisticRegression"),
    ):
        model, _, converged = fits[key]
        proba = model.predict_proba(X_test)
        reports[key] = FitReport(
            name=name,
            fit_time=medians[key],
            n_iter=int(np.max(model[-1].n_iter_)),
            converged=converged,
            train_accuracy=accuracy_score(y_train, model.predict(X_train)),
            test_accuracy=accuracy_score(y_test, model.predict(X_test)),
            test_log_loss=log_loss(y_test, proba, labels=model[-1].classes_),
        )
        models[key] = (model[-1], proba)

    (soft, p_soft), (logi, p_logi) = models["softmax"], models["logistic"]
    coef_diff = max(
        float(np.max(np.abs(soft.coef_ - logi.coef_))),
        float(np.max(np.abs(soft.intercept_ - logi.intercept_))),
    )
    return ComparisonResult(
        dataset=dataset,
        n_train=X_train.shape[0],
        n_test=X_test.shape[0],
        n_features=X.shape[1],
        n_classes=classes.shape[0],
        softmax=reports["softmax"],
        logistic=reports["logistic"],
        max_proba_diff=float(np.max(np.abs(p_soft - p_logi))),
        max_coef_diff=coef_diff,
        repeats=repeats,
        softmax_threads=softmax_threads,
        blas_threads=blas_threads,
        logistic_one_thread_time=medians["logistic_one_thread"],
        speed_ratio=medians["logistic"] / medians["softmax"],
        speed_ratio_one_thread=medians["logistic_one_thread"] / medians["softmax"],
        fit_times={key: fit[1] for key, fit in fits.items()},
        softmax_proba=p_soft,
        logistic_proba=p_logi,
        softmax_coef=soft.coef_,
        logistic_coef=logi.coef_,
    )


def _show(label):
    # repr of the Python value: 0 and 'a' rather than np.int64(0), np.str_('a').
    return repr(label.item() if isinstance(label, np.generic) else label)


def main(argv=None):
    """Run the command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    status : int
        0 on success, 2 for a usage error (argparse exits with 2 itself).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Checked first: a bad file name should not cost the fits.
        plot = plot_file(args.plot) if args.plot is not None else None
        X, y, name = load_data(args)
        result = run_comparison(
            X,
            y,
            dataset=name,
            C=args.C,
            solver=args.solver,
            n_jobs=args.n_jobs,
            tol=args.tol,
            max_iter=args.max_iter,
            test_size=args.test_size,
            random_state=args.random_state,
            repeats=args.repeats,
        )
        print(format_table(result), flush=True)
        if plot is not None:
            save_plot(result, plot)
            print(f"figure saved to {plot}")
    except (UsageError, PlotError, OSError, ValueError) as exc:
        # UsageError and PlotError name the problem; OSError and ValueError
        # (UnicodeError among them) are the last resort for bad input that no
        # check above anticipated, such as a disk that fills up or data that
        # makes a scikit-learn function refuse it. Programming errors
        # (TypeError, AttributeError, ...) still end in a traceback.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    return 0
