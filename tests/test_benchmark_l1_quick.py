"""The L1 benchmark's quick mode runs and ours reaches saga's objective.

The script runs as the lead runs it, in a subprocess; no timing is asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench_l1.py"

HEADERS = (
    "saga s",
    "ours s",
    "xsaga",
    "obj saga",
    "obj ours",
    "rel diff",
    "ep saga",
    "it us",
    "nnz saga",
    "nnz ours",
    "max dP",
)


def test_quick_l1_benchmark(tmp_path):
    out = tmp_path / "l1.json"
    # One numba thread: tests may share the machine with other processes.
    cmd = [sys.executable, str(BENCH), "--quick", "--repeats", "1", "--n-jobs", "1"]
    result = subprocess.run(
        [*cmd, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    assert "# machine" in table and "versions:" in table
    header = next(line for line in table.splitlines() if "obj saga" in line)
    for name in HEADERS:
        assert name in header, name
    rows = json.loads(out.read_text())["rows"]
    assert {(r["shape"], r["l1_ratio"]) for r in rows} == {
        (s, r) for s in ("dense", "csr") for r in (0.5, 1.0)
    }
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                assert np.isfinite(value), (key, row)
        assert row["saga_s"] > 0 and row["ours_s"] > 0 and row["ratio"] > 0
        # The ladder reached saga's objective: the times compare equal fits.
        assert row["matched"], row
        assert row["objective_rel_diff"] <= 1e-9, row
        assert 1 <= row["iter_to_match"] <= row["iter_ours"], row
        # Sparse but not trivial, and the same model as saga's.
        assert 0 < row["nnz_ours"] < row["n_coef"], row
        assert row["proba_max_diff"] < 0.1, row
        assert row["shape"] in table
