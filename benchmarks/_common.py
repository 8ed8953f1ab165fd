"""Helpers shared by the benchmark scripts.

``benchmarks/`` is a directory of scripts, not a package: a script imports
this module from its own directory (``python benchmarks/bench_x.py`` puts
that directory first on ``sys.path``), and importing it puts the checkout
the script is in on ``sys.path`` too, so that the scripts benchmark the code
beside them even without ``PYTHONPATH`` or an install.

What lives here is what every script needs the same way: the synthetic data,
the machine header (CPU model, cache sizes, BLAS), timed fits with one BLAS
thread, the order in which repeated runs take turns, the refit ladder that
finds the tolerance at which a solver reaches a given objective, and the
plain-text table.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_data(n, d, k, nnz, dtype, seed=0):
    """Synthetic, not separable data with realistic conditioning.

    Dense: ``make_classification`` (informative clusters plus redundant,
    correlated features, 5% flipped labels), which takes L-BFGS tens to
    hundreds of iterations like real data. CSR: ``nnz`` entries per row in
    columns drawn with a skewed popularity (like words in text) and labels
    drawn from a softmax model. Labels are ``0 .. k - 1``.
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


def _cpu_from_system():
    """CPU model, count and caches from /proc and /sys (no lscpu)."""
    cpu, caches = {}, {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu["Model name"] = value.strip()
                break
    cpu["CPU(s)"] = str(os.cpu_count())
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")):
        with contextlib.suppress(OSError):
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
            shared = (index / "shared_cpu_list").read_text().strip()
            suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
            caches[f"L{level}{suffix} cache"] = f"{size} (shared by CPUs {shared})"
    return cpu, caches


def cpu_info():
    """``(cpu, caches)``: lscpu's model name and CPU count, and its cache lines.

    Falls back to /proc/cpuinfo and /sys where lscpu is missing or says
    nothing, so that the header always tells the machine apart: cache sizes
    decide the speed of the sparse kernels.
    """
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    cpu, caches = {}, {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("Model name", "CPU(s)"):
            cpu[key] = value.strip()
        elif key.endswith("cache"):
            caches[key] = value.strip()
    if not cpu or not caches:
        sys_cpu, sys_caches = _cpu_from_system()
        cpu = cpu or sys_cpu
        caches = caches or sys_caches
    return cpu, caches


def machine():
    """The header every benchmark prints: CPU, caches, versions and BLAS."""
    import numba
    import scipy
    import sklearn

    cpu, caches = cpu_info()
    info = {"python": platform.python_version(), **cpu}
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
    # OpenBLAS picks its kernels by these (numpy's speed changes with them).
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    info.update(caches)
    return info


def one_blas_thread():
    """Context: BLAS (numpy's and scipy's) limited to one thread."""
    return threadpool_limits(1, "blas")


def timed_fit(model, X, y, one_blas=False):
    """Fit ``model`` with ConvergenceWarning silenced; ``(wall seconds, model)``.

    Every estimator gets the same ``max_iter`` budget; one that reaches it
    is reported by its iteration count, not by a warning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with one_blas_thread() if one_blas else contextlib.nullcontext():
            t0 = time.perf_counter()
            model.fit(X, y)
            return time.perf_counter() - t0, model


def best_time(func, repeat):
    """Smallest wall time of ``repeat`` calls and the last result.

    The minimum is robust to other processes and, unlike CPU time, not
    charged with OpenMP workers spinning after a parallel call.
    """
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def round_robin(names, repeats):
    """Yield ``(repeat, name)``: every repeat runs every name once.

    The order rotates by one from a repeat to the next, so that a slow spell
    of a shared machine does not fall on one of them only and no name always
    runs first (with caches warmed, or cooled, by the one before).
    """
    names = tuple(names)
    for rep in range(repeats if names else 0):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            yield rep, name


def median(values):
    """Median of a list of times, as a float (``nan`` for none)."""
    return float(np.median(values)) if len(values) else float("nan")


@dataclass
class Refit:
    """Outcome of :func:`refit_until`."""

    seconds: float  # the matching fit (else the last one tried)
    model: object
    objective: float  # of that fit
    tol: float
    reached: bool
    ladder_s: float  # every fit of the ladder
    best_objective: float  # lowest objective of any fit tried
    tries: int


def refit_until(fit, objective, target, tols, stop=None):
    """Fit with tighter and tighter ``tol`` until ``objective(model) <= target``.

    ``fit(tol)`` returns ``(seconds, model)``. The time at matched objective
    is that of the first fit that reaches ``target``: the tolerances are
    tried loosest first, so it overshoots by at most one step of ``tols``.
    ``stop(model, f, f_previous)`` ends the ladder early when a tighter
    ``tol`` cannot help (``max_iter`` reached, no progress). If no fit
    reaches ``target``, the last one tried is returned with ``reached``
    False.
    """
    total, best, f_prev, tries = 0.0, np.inf, np.inf, 0
    for tol in tols:
        tries += 1
        t, model = fit(tol)
        total += t
        f = objective(model)
        best = min(best, f)
        if f <= target or (stop is not None and stop(model, f, f_prev)):
            break
        f_prev = f
    return Refit(t, model, f, tol, bool(f <= target), total, best, tries)


def print_header(info):
    print("# machine")
    for key, value in info.items():
        print(f"#   {key}: {value}")


def format_cell(fmt, value):
    """``fmt.format(value)``; ``None`` (no value: skipped) prints as ``-``."""
    if value is None:
        width = re.search(r":\D*(\d*)", fmt).group(1)
        return "-".rjust(int(width or 1))
    return fmt.format(value)


def print_columns(rows, columns):
    """One line a row; ``columns``: ``(header, format, key)``, widths of row 0."""
    width = [
        max(len(head), len(format_cell(fmt, rows[0][key])) if rows else 8)
        for head, fmt, key in columns
    ]
    # Cells of left-aligned formats (names, notes) stay left-aligned; so does
    # the header of a free-text column (no width in its format).
    align = ["<" if ":<" in fmt else ">" for _, fmt, _ in columns]
    heads = [
        f"{h:{'<' if fmt == '{:<}' else '>'}{w}}"
        for (h, fmt, _), w in zip(columns, width, strict=True)
    ]
    print(" ".join(heads).rstrip())
    for row in rows:
        cells = (format_cell(fmt, row[key]) for _, fmt, key in columns)
        print(
            " ".join(
                f"{c:{a}{w}}" for c, a, w in zip(cells, align, width, strict=True)
            ).rstrip()
        )


def print_table(rows, info, columns, note):
    """Header, table, the dimensions of each shape, and ``note``."""
    print_header(info)
    print_columns(rows, columns)
    for name, dims in {row["shape"]: row["dims"] for row in rows}.items():
        print(f"#   {name}: {dims}")
    print(note)


def save_json(path, payload):
    """Write the results (``--json``); nothing when ``path`` is None."""
    if path:
        with open(path, "w") as fh:
            json.dump(payload, fh, indent=1)
