"""The comparison report of the command line: its records and its table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ComparisonResult", "FitReport", "format_table"]


@dataclass
class FitReport:
    """What the table shows about one estimator."""

    name: str
    fit_time: float
    n_iter: int
    converged: bool
    train_accuracy: float
    test_accuracy: float
    test_log_loss: float


@dataclass
class ComparisonResult:
    """Outcome of :func:`run_comparison`.

    Attributes
    ----------
    dataset : str
        Name of the data (dataset name or CSV path).
    n_train, n_test, n_features, n_classes : int
        Shape of the problem.
    softmax, logistic : FitReport
        Per-estimator results.
    max_proba_diff : float
        Largest ``|predict_proba|`` difference on the held-out rows.
    max_coef_diff : float
        Largest difference of ``coef_`` and ``intercept_`` (standardised
        feature space).
    repeats : int
        Number of timed fits of each program.
    softmax_threads : int
        numba threads of SoftmaxClassifier's fits (from ``n_jobs``).
    blas_threads : int
        BLAS threads LogisticRegression uses by default (threadpoolctl's
        count; 1 when no BLAS library reports one).
    logistic_one_thread_time : float
        Median fit time of LogisticRegression under one BLAS thread.
    speed_ratio : float
        Median LogisticRegression fit time with the default BLAS threads
        divided by the median SoftmaxClassifier fit time.
    speed_ratio_one_thread : float
        The same ratio with LogisticRegression under one BLAS thread.
    fit_times : dict of str to list of float
        Every timed fit, in order, for ``"softmax"``, ``"logistic"`` and
        ``"logistic_one_thread"``.
    softmax_proba, logistic_proba : ndarray
        Held-out probabilities (for the figure).
    softmax_coef, logistic_coef : ndarray
        Fitted coefficients (for the figure).
    """

    dataset: str
    n_train: int
    n_test: int
    n_features: int
    n_classes: int
    softmax: FitReport
    logistic: FitReport
    max_proba_diff: float
    max_coef_diff: float
    repeats: int
    softmax_threads: int
    blas_threads: int
    logistic_one_thread_time: float
    speed_ratio: float
    speed_ratio_one_thread: float
    fit_times: dict = field(repr=False)
    softmax_proba: np.ndarray = field(repr=False)
    logistic_proba: np.ndarray = field(repr=False)
    softmax_coef: np.ndarray = field(repr=False)
    logistic_coef: np.ndarray = field(repr=False)


def format_table(result):
    """Format the report the command prints.

    Parameters
    ----------
    result : ComparisonResult

    Returns
    -------
    text : str
    """
    s, lg = result.softmax, result.logistic
    threads = f"its default {_threads(result.blas_threads, 'BLAS')}"
    soft_threads = _threads(result.softmax_threads, "numba")
    head = (
        f"dataset {result.dataset}: {result.n_train} train / {result.n_test} "
        f"held-out samples, {result.n_features} features, {result.n_classes} classes"
    )
    rows = [
        ("median fit time (s)", f"{s.fit_time:.4f}", f"{lg.fit_time:.4f}"),
        ("iterations", str(s.n_iter), str(lg.n_iter)),
        ("converged", _yes(s.converged), _yes(lg.converged)),
        ("train accuracy", f"{s.train_accuracy:.4f}", f"{lg.train_accuracy:.4f}"),
        ("held-out accuracy", f"{s.test_accuracy:.4f}", f"{lg.test_accuracy:.4f}"),
        ("held-out log-loss", f"{s.test_log_loss:.6f}", f"{lg.test_log_loss:.6f}"),
    ]
    width = max(len(r[0]) for r in rows)
    col = max(len(s.name), len(lg.name))
    lines = [head, "", f"{'':<{width}}  {s.name:>{col}}  {lg.name:>{col}}"]
    lines.append("-" * (width + 2 * col + 4))
    lines += [f"{a:<{width}}  {b:>{col}}  {c:>{col}}" for a, b, c in rows]
    lines += [
        "",
        f"max |predict_proba diff|: {result.max_proba_diff:.3e}",
        f"max coef diff:            {result.max_coef_diff:.3e}",
        "",
        f"fit times: medians of {result.repeats} interleaved fits of each program; "
        f"SoftmaxClassifier with {soft_threads}",
        "LogisticRegression with 1 BLAS thread, median fit time (s): "
        f"{result.logistic_one_thread_time:.4f}",
        f"speed ratio, default BLAS threads: {result.speed_ratio:.2f}x "
        f"(LogisticRegression with {threads} / SoftmaxClassifier)",
        f"speed ratio, 1 BLAS thread:        {result.speed_ratio_one_thread:.2f}x "
        "(LogisticRegression with 1 BLAS thread / SoftmaxClassifier)",
    ]
    return "\n".join(lines)


def _threads(n, kind):
    return f"{n} {kind} thread{'s' if n != 1 else ''}"


def _yes(flag):
    return "yes" if flag else "no"
