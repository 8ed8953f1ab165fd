"""The comparison command: numbers on digits and on a CSV, and its errors."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sklearn_softmax
from sklearn_softmax._cli import main


def _value(text, label):
    """The numbers on the table line that starts with ``label``."""
    for line in text.splitlines():
        if line.startswith(label):
            return [
                float(v)
                for v in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", line[len(label) :])
            ]
    raise AssertionError(f"no line {label!r} in:\n{text}")


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_digits_default(capsys):
    status, out, err = _run(capsys, "--repeat", "1")
    assert status == 0, err
    assert "dataset digits" in out
    train, test = _value(out, "train accuracy"), _value(out, "held-out accuracy")
    assert min(train) > 0.9 and min(test) > 0.9
    assert _value(out, "max |predict_proba diff|")[0] < 1e-4
    assert _value(out, "max coef diff")[0] < 1e-4
    soft_iter, logi_iter = _value(out, "iterations")
    assert soft_iter == logi_iter
    loss_soft, loss_logi = _value(out, "held-out log-loss")
    assert loss_soft == pytest.approx(loss_logi, rel=1e-6)
    times = _value(out, "fit time (s)")
    ratio = _value(out, "speed ratio")[0]
    assert all(t > 0 for t in times)
    assert ratio == pytest.approx(times[1] / times[0], rel=0.05, abs=0.02)
    assert "converged" in out and " no" not in _line(out, "converged")


def _line(text, label):
    return next(line for line in text.splitlines() if line.startswith(label))


def _write_csv(path, n=240, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 1.0], [0.0, 3.0, -1.0]])
    y = rng.integers(0, 3, size=n)
    X = centers[y] + rng.normal(size=(n, 3))
    names = np.array(["setosa", "versicolor", "virginica"])
    with open(path, "w") as f:
        f.write("a,b,species,c\n")
        for row, label in zip(X, names[y], strict=True):
            f.write(f"{row[0]:.6f},{row[1]:.6f},{label},{row[2]:.6f}\n")


def test_csv(tmp_path, capsys):
    path = tmp_path / "data.csv"
    _write_csv(path)
    plot = tmp_path / "cmp.png"
    argv = [
        "--csv",
        str(path),
        "--target",
        "species",
        "--C",
        "0.5",
        "--n-jobs",
        "1",
        "--repeat",
        "1",
    ]
    if _has_matplotlib():
        argv += ["--plot", str(plot)]
    status, out, err = _run(capsys, *argv)
    assert status == 0, err
    assert "180 train / 60 held-out samples, 3 features, 3 classes" in out
    assert min(_value(out, "held-out accuracy")) > 0.8
    assert _value(out, "max |predict_proba diff|")[0] < 1e-4
    if _has_matplotlib():
        assert plot.stat().st_size > 1000
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    "content, argv, message",
    [
        (None, ["--target", "y"], "CSV file not found"),
        (
            "a,b,y\n1,2,0\n3,4,1\n",
            ["--target", "label"],
            "target column 'label' not found",
        ),
        (
            "a,b,y\n1,2,0\n\n3,red,1\n",
            ["--target", "y"],
            "line 4: feature column 'b' has the non-numeric value 'red'",
        ),
        (
            "a,b,y\n1,2,0\n3,,1\n",
            ["--target", "y"],
            "feature column 'b' has the non-numeric value ''",
        ),
        ("a,b,y\n1,2,0\n3,1\n", ["--target", "y"], "line 3: 2 fields"),
        ("a,b,y\n1,2,0\n3,nan,1\n", ["--target", "y"], "NaN or infinite"),
        ("", ["--target", "y"], "is empty"),
        ("a,b,y\n", ["--target", "y"], "no data rows"),
        ("a,b,y\n1,2,0\n3,4,1\n", [], "--csv needs --target"),
        ("a,y\n1,0\n2,0\n3,0\n", ["--target", "y"], "only one class"),
        (
            "a,y\n1,0.5\n2,1.5\n3,0.5\n4,1.5\n",
            ["--target", "y"],
            "labels are of type 'continuous'",
        ),
    ],
)
def test_csv_errors(tmp_path, capsys, content, argv, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    status, out, err = _run(capsys, "--csv", str(path), *argv)
    assert status == 2
    assert message in err
    assert err.startswith("sklearn-softmax: error: ")
    assert out == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dataset", "mnist"], "invalid choice"),
        (["--target", "y"], "--target is only used with --csv"),
        (["--C", "-1"], "must be positive"),
        (["--test-size", "1.5"], "must be a fraction in (0, 1)"),
        (["--C", "abc"], "'abc' is not a number"),
        (["--repeat", "2.5"], "'2.5' is not an integer"),
        (["--n-jobs", "0"], "must be a non-zero number of threads"),
        (["--max-iter", "0"], "must be at least 1"),
        (["--tol", "-1"], "must be positive"),
        (["--solver", "newton"], "invalid choice"),
        (["--dataset", "iris", "--csv", "x.csv"], "not allowed with"),
    ],
)
def test_argument_errors(capsys, argv, message):
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err


def test_module_entry_point(tmp_path):
    """``python -m sklearn_softmax`` runs in a fresh process and exits 0."""
    env = dict(os.environ)
    root = str(Path(sklearn_softmax.__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklearn_softmax",
            "--dataset",
            "iris",
            "--repeat",
            "1",
            "--n-jobs",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dataset iris" in proc.stdout
    assert _value(proc.stdout, "max |predict_proba diff|")[0] < 1e-4
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "sklearn_softmax",
            "--csv",
            "missing.csv",
            "--target",
            "y",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert missing.returncode == 2
    assert "CSV file not found: missing.csv" in missing.stderr


def _imports(nodes):
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", ["_cli.py", "_cli_csv.py", "__main__.py"])
def test_cli_imports(name):
    """The CLI never imports numba itself, nor pandas; sklearn lazily."""
    path = Path(sklearn_softmax.__file__).with_name(name)
    tree = ast.parse(path.read_text())
    assert not {"numba", "pandas"} & _imports(ast.walk(tree))
    assert not {"sklearn", "matplotlib"} & _imports(tree.body)


def test_plot_imports_matplotlib_lazily():
    tree = ast.parse(Path(sklearn_softmax.__file__).with_name("_cli.py").read_text())
    assert "matplotlib" in _imports(ast.walk(tree))
