"""The CV benchmark's quick mode runs and the searches agree.

The script runs as the lead runs it, in a subprocess; no timing is asserted.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_cv.py"

HEADERS = (
    "solver",
    "ours s",
    "lrcv s",
    "lrcv1 s",
    "grid s",
    "grid same s",
    "xlrcv",
    "xgrid",
    "xgrid same",
    "C ours",
    "C lrcv",
    "C grid",
    "best score",
    "it ours",
    "it lrcv",
    "max dS lrcv",
    "max dS grid",
    "dS@C lrcv",
    "dS@C grid",
)


def test_quick_cv_benchmark(tmp_path):
    out = tmp_path / "cv.json"
    # One thread each: tests may share the machine with other processes.
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, str(BENCH), "--quick", "--repeats", "1", "--n-jobs", "1"]
    result = subprocess.run(
        [*cmd, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    assert "# machine" in table and "versions:" in table
    assert "Model name" in table and "cache" in table
    header = next(line for line in table.splitlines() if "max dS lrcv" in line)
    for name in HEADERS:
        assert name in header, name
    data = json.loads(out.read_text())
    assert data["machine"]["repeats"] == 1
    rows = data["rows"]
    assert [(r["shape"], r["solver"]) for r in rows] == [
        ("dense", "lbfgs"),
        ("dense", "auto"),
        ("csr", "lbfgs"),
        ("csr", "auto"),
    ]
    Cs = np.logspace(-4, 4, 5)
    for row in rows:
        assert row["shape"] in table and row["dims"] in table
        for key, value in row.items():
            if isinstance(value, float):
                assert np.isfinite(value), (key, row)
        for which in ("ours", "lrcv", "lrcv1", "grid", "grid_same"):
            assert row[f"{which}_s"] > 0, row
            assert len(row[f"{which}_times_s"]) == 1, row
        for which in ("ours", "lrcv", "grid"):
            assert np.isclose(Cs, row[f"C_{which}"]).any(), row
        assert row["x_lrcv"] > 0 and row["x_grid"] > 0, row
        assert row["x_lrcv"] == min(row["lrcv_s"], row["lrcv1_s"]) / row["ours_s"]
        if row["solver"] == "lbfgs":
            assert row["grid_same_s"] == row["grid_s"], row
        assert row["best_score_ours"] < 0, row  # minus a log-loss
        assert row["iter_ours"] > 0 and row["iter_lrcv"] > 0, row
        # The same model on the same folds: the differences are those of
        # the solvers' stopping points (large only where weak penalties stop
        # at max_iter), not of the search.
        assert row["C_ours"] == row["C_lrcv"] == row["C_grid"], row
        for other in ("lrcv", "grid"):
            at_C = row[f"scores_diff_at_C_{other}"]
            assert 0 <= at_C <= row[f"scores_max_diff_{other}"], row
            assert at_C < 1e-3, row
