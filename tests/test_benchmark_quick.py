"""The benchmark's quick mode runs and both estimators reach the same objective."""

import importlib.util
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lbfgs.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_lbfgs", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_objectives_match(tmp_path, capsys):
    bench = _load_bench()
    out = tmp_path / "bench.json"
    result = bench.run(["--quick", "--no-startup", "--repeat", "1", "--json", str(out)])
    rows = result["rows"]
    assert {r["shape"] for r in rows} == set(bench.QUICK_SHAPES)
    assert {r["dtype"] for r in rows} == {"float64", "float32"}
    for row in rows:
        assert np.isfinite(row["objective_ours"]), row
        rel = row["objective_rel_diff"]
        if row["dtype"] == "float64":
            # Same objective, same solver options: the same minimum.
            assert abs(rel) <= 1e-6, row
        else:
            # LogisticRegression evaluates float32 data in float32 and can stop
            # early; ours accumulates in float64 and must not end higher.
            assert rel <= 1e-6, row
        assert row["fit_ours_s"] > 0 and row["eval_ms"] > 0
    assert out.exists()
    table = capsys.readouterr().out
    assert "obj ours" in table
