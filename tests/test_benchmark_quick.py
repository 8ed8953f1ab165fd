"""The fit benchmark's quick mode: its columns, both modes, a missing peer.

The script is loaded from its file and run in this process on tiny shapes;
no timing is asserted.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets
from sklearn_softmax._objective import SoftmaxObjective

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    # The script imports its helpers (_common, _peers) from its directory.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    path = BENCHMARKS / "bench_lbfgs.py"
    spec = importlib.util.spec_from_file_location("bench_lbfgs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _solvers():
    for constraint in SoftmaxClassifier._parameter_constraints["solver"]:
        if getattr(constraint, "options", None):
            return constraint.options
    return {"lbfgs"}


def test_quick_benchmark_columns(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    result = bench.run(["--quick", "--no-startup", "--repeat", "1", "--json", str(out)])
    rows = result["rows"]
    assert json.loads(out.read_text())["rows"] == json.loads(json.dumps(rows))
    assert {r["shape"] for r in rows} == set(bench.QUICK_SHAPES)
    assert {r["dtype"] for r in rows} == {"float64", "float32"}
    skx_installed = importlib.util.find_spec("sklearnex") is not None
    for row in rows:
        cols = row["columns"]
        assert list(cols) == list(bench.COLUMNS)
        sparse = "nnz" in row["dims"]
        expect_run = {"ours", "LR1", "LR"} | ({"saga"} if sparse else {"nchol"})
        if skx_installed:
            expect_run.add("skx")
        expect_run |= {c for c, s in bench._peers.OURS.items() if s in _solvers()}
        assert {c for c, res in cols.items() if res["skip"] is None} == expect_run
        for name, res in cols.items():
            if res["skip"] is not None:
                assert "objective" not in res and res["times_s"] == [], (name, row)
                continue
            assert np.isfinite(res["objective"]) and res["iter"] > 0, (name, row)
            assert len(res["times_s"]) == 1 and res["median_s"] > 0, (name, row)
            assert res["rel"] >= 0, (name, row)  # against the lowest of the row
        if skx_installed:
            assert cols["skx"]["note"] in ("oneDAL", "sklearn fallback"), row
        ours, lr1 = cols["ours"]["objective"], cols["LR1"]["objective"]
        rel = (ours - lr1) / abs(lr1)
        if row["dtype"] == "float64":
            # Same objective, same solver options: the same minimum.
            assert abs(rel) <= 1e-6, row
        else:
            # LogisticRegression evaluates float32 data in float32 and can stop
            # early; ours accumulates in float64 and must not end higher.
            assert rel <= 1e-6, row
        for mine, against in row["ratios"].items():
            assert cols[mine]["skip"] is None
            assert set(against) == set(bench._peers.PEERS)
            for peer, x in against.items():
                assert (x is None) == (cols[peer]["skip"] is not None), (peer, row)
        assert row["eval_ms"] > 0 and row["bound_ms"] > 0
    table = capsys.readouterr().out
    assert "Model name" in table and "cache" in table and "sklearnex:" in table
    for head in ("column", "F/Fmin-1", "xLR1", "xskx", "xsaga", "xnchol", "eval ms"):
        assert head in table, head
    assert "skipped: dense shape" in table


def test_matched_mode_reaches_the_reference(bench):
    # A loose first tol, so that the ladder has to refit.
    argv = ["--quick", "--matched", "--no-startup", "--repeat", "2", "--tol", "1e-3"]
    argv += ["--shapes", "small", "binary", "--dtypes", "float64"]
    argv += ["--columns", "ours", "LR1", "nchol"]
    rows = bench.run(argv)["rows"]
    assert [r["shape"] for r in rows] == ["small", "binary"]
    refitted = False
    for row in rows:
        f_ref = row["reference_objective"]
        runs = row["reference_runs"]
        assert f_ref == min(run["objective"] for run in runs.values())
        assert row["target_objective"] == f_ref * (1 + bench.MATCH_RTOL)
        for name in ("ours", "LR1", "nchol"):
            res = row["columns"][name]
            assert res["reached"], (name, row)
            assert res["objective"] <= row["target_objective"], (name, row)
            assert res["rel"] <= bench.MATCH_RTOL and res["tol"] <= 1e-3
            # The ladder's matching fit is the first repeat.
            assert len(res["times_s"]) == 2 and res["ladder_s"] >= res["times_s"][0]
            refitted |= res["tol"] < 1e-3
        assert row["ratios"]["ours"]["LR1"] > 0
    assert refitted


def test_missing_sklearnex_is_a_skipped_column(bench, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearnex", None)
    monkeypatch.setitem(sys.modules, "sklearnex.linear_model", None)
    argv = ["--quick", "--no-startup", "--repeat", "1", "--shapes", "binary"]
    argv += ["--dtypes", "float64", "--columns", "ours", "skx"]
    (row,) = bench.run(argv)["rows"]
    assert "sklearnex not importable" in row["columns"]["skx"]["skip"]
    assert row["columns"]["ours"]["skip"] is None
    assert row["ratios"]["ours"]["skx"] is None
    assert "skipped: sklearnex not importable" in capsys.readouterr().out


def test_solver_columns_follow_the_estimator(bench, monkeypatch):
    peers = bench._peers
    names = list(peers.OURS)
    cols = {c.name: c for c in peers.columns(names, 1.0, 5, 3, None, 0)}
    for name, solver in peers.OURS.items():
        assert (cols[name].skip is None) == (solver in _solvers()), name
    monkeypatch.setattr(peers, "solver_options", lambda: {"lbfgs", "newton-cg"})
    cols = {c.name: c for c in peers.columns(names, 1.0, 5, 3, None, 0)}
    assert cols["ours-ncg"].skip is None
    assert cols["ours-ncg"].make(1e-4, 10).get_params()["solver"] == "newton-cg"
    assert "auto" in cols["ours-auto"].skip


def test_newton_cholesky_column_by_hessian_size(bench):
    peers = bench._peers
    need = peers.hessian_bytes(9, 3)
    assert need == (3 * 10) ** 2 * 8 and peers.hessian_bytes(9, 2) == 10**2 * 8
    (fits,) = peers.columns(["nchol"], 1.0, 9, 3, None, need)
    (over,) = peers.columns(["nchol"], 1.0, 9, 3, None, need - 1)
    assert fits.skip is None and "Hessian" in over.skip


@pytest.mark.parametrize("k", [2, 4])
def test_one_objective_is_logistic_regressions(bench, k):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    y = rng.integers(0, k, 300)
    rows = 1 if k == 2 else k
    coef, intercept = rng.standard_normal((rows, 6)), rng.standard_normal(rows)
    C = 0.7
    f = bench._peers.lr_objective(X, y, coef, intercept, C, chunk=64)
    # The estimator's objective at the symmetric two-row form of one logit:
    # the same value (it doubles the quadratic term for two classes).
    if k == 2:
        coef = np.vstack([-0.5 * coef, 0.5 * coef])
        intercept = np.array([-0.5, 0.5]) * intercept
    obj = SoftmaxObjective(
        X, Targets.from_labels(y, k), np.ones(300), C=C, fit_intercept=True
    )
    assert np.isclose(f, obj.loss(obj.pack(coef, intercept)), rtol=1e-12)


def test_machine_header_without_lscpu(bench, monkeypatch):
    common = bench._common

    def no_lscpu(*args, **kwargs):
        raise OSError("no lscpu")

    monkeypatch.setattr(common.subprocess, "run", no_lscpu)
    cpu, caches = common.cpu_info()
    assert cpu["CPU(s)"].isdigit()
    if Path("/sys/devices/system/cpu/cpu0/cache").is_dir():
        assert any(key.startswith("L1") for key in caches), caches
