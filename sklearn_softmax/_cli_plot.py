"""The ``--plot`` figure of the comparison command.

matplotlib is imported only here and only when ``--plot`` is given, so that
the table needs neither matplotlib nor its import time.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["PlotError", "plot_file", "save_plot"]


class PlotError(ValueError):
    """The figure cannot be written; the message names the problem."""


def _import_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise PlotError(
            "--plot needs matplotlib; install it with `pip install matplotlib`"
        ) from None
    return matplotlib


def plot_file(path):
    """Check the ``--plot`` file before the fits and return the file to write.

    Parameters
    ----------
    path : str
        The ``--plot`` argument. Without an extension ``.png`` is appended,
        as matplotlib would do, so that the command reports the real name.

    Returns
    -------
    path : str

    Raises
    ------
    PlotError
        If matplotlib is missing, ``path`` is empty or a directory, its format
        is not one matplotlib writes, or its directory does not exist or is
        not writable.
    """
    _import_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    if not path:
        raise PlotError("--plot needs a file name such as comparison.png")
    if os.path.isdir(path):
        raise PlotError(
            f"--plot {path} is a directory; give a file name such as "
            f"{os.path.join(path, 'comparison.png')}"
        )
    extension = os.path.splitext(path)[1][1:].lower()
    if not extension:
        path, extension = path + ".png", "png"
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension not in formats:
        raise PlotError(
            f"--plot {path}: matplotlib cannot write {extension!r} files; "
            f"use one of {', '.join(sorted(formats))}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        problem = "is not a directory" if os.path.exists(folder) else "does not exist"
        raise PlotError(f"cannot write the figure to {path}: {folder} {problem}")
    if not os.access(folder, os.W_OK):
        raise PlotError(
            f"cannot write the figure to {path}: the directory {folder} is not writable"
        )
    return path


def save_plot(result, path):
    """Save a three-panel comparison figure to ``path``."""
    matplotlib = _import_matplotlib()
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
    n = result.blas_threads
    names = [
        result.softmax.name,
        f"{result.logistic.name}\n{n} BLAS thread{'s' if n != 1 else ''} (default)",
        f"{result.logistic.name}\n1 BLAS thread",
    ]
    times = [
        result.softmax.fit_time,
        result.logistic.fit_time,
        result.logistic_one_thread_time,
    ]
    axes[0].bar(names, times, color=["tab:blue", "tab:orange", "tab:red"])
    axes[0].tick_params(axis="x", labelsize=7)
    axes[0].set_ylabel(f"median fit time of {result.repeats} (s)")
    axes[0].set_title(
        f"speed ratio {result.speed_ratio:.1f}x (default BLAS threads), "
        f"{result.speed_ratio_one_thread:.1f}x (1 BLAS thread)",
        fontsize=9,
    )
    axes[1].scatter(result.logistic_proba.ravel(), result.softmax_proba.ravel(), s=4)
    axes[1].plot([0, 1], [0, 1], color="gray", lw=0.8)
    axes[1].set_xlabel("LogisticRegression predict_proba")
    axes[1].set_ylabel("SoftmaxClassifier predict_proba")
    axes[1].set_title(f"max |diff| {result.max_proba_diff:.1e}")
    axes[2].scatter(result.logistic_coef.ravel(), result.softmax_coef.ravel(), s=4)
    lim = float(np.max(np.abs(result.logistic_coef))) or 1.0
    axes[2].plot([-lim, lim], [-lim, lim], color="gray", lw=0.8)
    axes[2].set_xlabel("LogisticRegression coef_")
    axes[2].set_ylabel("SoftmaxClassifier coef_")
    axes[2].set_title(f"max |diff| {result.max_coef_diff:.1e}")
    fig.suptitle(f"SoftmaxClassifier vs LogisticRegression on {result.dataset}")
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise PlotError(
            f"cannot write the figure to {path}: {exc.strerror or exc}"
        ) from None
    finally:
        plt.close(fig)
