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
from sklearn_softmax import _cli as cli
from sklearn_softmax._cli import build_parser, main
from sklearn_softmax._cli_csv import CSVError, read_csv
from sklearn_softmax._cli_plot import plot_file


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
    status, out, err = _run(capsys, "--repeats", "1")
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
    times = _value(out, "median fit time (s)")
    one_thread = _value(out, "LogisticRegression with 1 BLAS thread, median fit time")
    ratio = _value(out, "speed ratio, default BLAS threads:")[0]
    ratio_one = _value(out, "speed ratio, 1 BLAS thread:")[0]
    assert "fit times: medians of 1 interleaved fits of each program" in out
    # Both ratios are labelled with what they divide.
    assert "x (LogisticRegression with its default " in out
    assert "x (LogisticRegression with 1 BLAS thread / SoftmaxClassifier)" in out
    assert len(times) == 2 and len(one_thread) == 1
    assert all(np.isfinite(t) and t > 0 for t in [*times, *one_thread])
    assert np.isfinite(ratio) and np.isfinite(ratio_one)
    assert ratio == pytest.approx(times[1] / times[0], rel=0.05, abs=0.02)
    assert ratio_one == pytest.approx(one_thread[0] / times[0], rel=0.05, abs=0.02)
    assert "converged" in out and " no" not in _line(out, "converged")


def test_repeats_interleaved_medians():
    """Every program is fitted ``repeats`` times; the report shows medians."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    result = cli.run_comparison(X, y, dataset="iris", n_jobs=1, repeats=3)
    assert set(result.fit_times) == {"softmax", "logistic", "logistic_one_thread"}
    for times in result.fit_times.values():
        assert len(times) == 3
        assert all(np.isfinite(t) and t > 0 for t in times)
    medians = {k: float(np.median(v)) for k, v in result.fit_times.items()}
    assert result.repeats == 3
    assert result.blas_threads >= 1
    assert result.softmax.fit_time == medians["softmax"]
    assert result.logistic.fit_time == medians["logistic"]
    assert result.logistic_one_thread_time == medians["logistic_one_thread"]
    assert result.speed_ratio == pytest.approx(medians["logistic"] / medians["softmax"])
    assert result.speed_ratio_one_thread == pytest.approx(
        medians["logistic_one_thread"] / medians["softmax"]
    )
    text = cli.format_table(result)
    assert "fit times: medians of 3 interleaved fits of each program; " in text
    assert "SoftmaxClassifier with 1 numba thread" in text
    assert result.softmax_threads == 1
    assert f"its default {result.blas_threads} BLAS thread" in text


def test_one_blas_thread_fit(monkeypatch):
    """The one-thread fits of LogisticRegression run under threadpool_limits."""
    from threadpoolctl import threadpool_info

    seen = []
    real = cli._timed_fits

    def spy(programs, X, y, repeats):
        wrapped = {}
        for key, (make, context) in programs.items():

            def make_spy(make=make, key=key):
                model = make()
                fit = model.fit

                def fit_spy(*args, **kwargs):
                    blas = [
                        i["num_threads"]
                        for i in threadpool_info()
                        if i["user_api"] == "blas"
                    ]
                    seen.append((key, max(blas, default=1)))
                    return fit(*args, **kwargs)

                model.fit = fit_spy
                return model

            wrapped[key] = (make_spy, context)
        return real(wrapped, X, y, repeats)

    monkeypatch.setattr(cli, "_timed_fits", spy)
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    result = cli.run_comparison(X, y, n_jobs=1, repeats=2)
    # Interleaved: one fit of each program per round.
    keys = [key for key, _ in seen]
    assert keys == ["softmax", "logistic", "logistic_one_thread"] * 2
    assert {n for key, n in seen if key == "logistic_one_thread"} == {1}
    assert {n for key, n in seen if key == "logistic"} == {result.blas_threads}


def test_repeat_is_an_alias_of_repeats():
    assert build_parser().parse_args(["--repeat", "2"]).repeats == 2
    assert build_parser().parse_args(["--repeats", "4"]).repeats == 4
    assert build_parser().parse_args([]).repeats == 3


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


_GOOD = "a,b,y\n" + "".join(f"{i},{i % 5},{i % 2}\n" for i in range(12))

# Each case: files to create in tmp_path (name -> bytes), the arguments and the
# message the error line must contain; "{tmp}" stands for tmp_path in both.
_BAD_INPUTS = {
    "file not found": (
        {},
        ["--csv", "{tmp}/missing.csv", "--target", "y"],
        "CSV file not found: {tmp}/missing.csv",
    ),
    "directory instead of file": (
        {},
        ["--csv", "{tmp}", "--target", "y"],
        "{tmp} is a directory, not a CSV file",
    ),
    "empty file": (
        {"d.csv": b""},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "CSV file {tmp}/d.csv is empty",
    ),
    "header only": (
        {"d.csv": b"a,b,y\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "CSV file {tmp}/d.csv has a header but no data rows",
    ),
    "one data row": (
        {"d.csv": b"a,b,y\n1,2,0\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "the labels contain only one class: 0",
    ),
    "two data rows": (
        {"d.csv": b"a,b,y\n1,2,0\n3,4,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "class 1 has no row in the training split (1 row of 2 in all); "
        "give every class at least 2 rows",
    ),
    "single class": (
        {"d.csv": b"a,y\n1,0\n2,0\n3,0\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "the labels contain only one class: 0",
    ),
    "single string class": (
        {"d.csv": b"a,y\n1,cat\n2,cat\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "the labels contain only one class: 'cat'",
    ),
    "continuous labels": (
        {"d.csv": b"a,y\n1,0.5\n2,1.5\n3,0.5\n4,1.5\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "the labels are of type 'continuous'",
    ),
    "target column missing": (
        {"d.csv": _GOOD.encode()},
        ["--csv", "{tmp}/d.csv", "--target", "label"],
        "target column 'label' not found in {tmp}/d.csv; columns are: a, b, y",
    ),
    "target column twice": (
        {"d.csv": b"y,a,y\n1,1,a\n2,2,b\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv has 2 columns named 'y'; the target column must be unique",
    ),
    "empty label": (
        {"d.csv": b"a,y\n1,p\n2,\n3,q\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 3: the target column 'y' is empty",
    ),
    "non-numeric feature": (
        {"d.csv": b"a,b,y\n1,2,0\n\n3,red,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 4: feature column 'b' has the non-numeric value 'red'",
    ),
    "missing feature value": (
        {"d.csv": b"a,b,y\n1,2,0\n3,,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "line 3: feature column 'b' has the non-numeric value ''",
    ),
    "ragged row": (
        {"d.csv": b"a,b,y\n1,2,0\n3,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 3: 2 fields, the header has 3",
    ),
    "nan feature": (
        {"d.csv": b"a,b,y\n1,2,0\n3,nan,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv: feature column 'b' contains NaN or infinite values",
    ),
    "latin-1 file": (
        {"d.csv": "a,b,y\n1,2,caf\u00e9\n3,4,th\u00e9\n".encode("latin-1")},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 2: byte 0xe9 is not UTF-8; save the file as UTF-8",
    ),
    "binary garbage": (
        {"d.csv": bytes(range(128, 256)) * 8},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 1: byte 0x80 is not UTF-8",
    ),
    "NUL bytes": (
        {"d.csv": b"a,b,y\n1,2,0\n3,4\x00,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 3: NUL byte; this looks like a binary file",
    ),
    "UTF-16 file": (
        {"d.csv": _GOOD.encode("utf-16")},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv is UTF-16 text; save it as UTF-8",
    ),
    "field too large": (
        {"d.csv": b"a,b,y\n" + b"1" * 200_000 + b",2,0\n3,4,1\n"},
        ["--csv", "{tmp}/d.csv", "--target", "y"],
        "{tmp}/d.csv, line 2: field larger than field limit",
    ),
    "csv without target": (
        {"d.csv": _GOOD.encode()},
        ["--csv", "{tmp}/d.csv"],
        "--csv needs --target COLUMN",
    ),
    "target without csv": ({}, ["--target", "y"], "--target is only used with --csv"),
    "too small test size": (
        {},
        ["--dataset", "iris", "--test-size", "0.01"],
        "cannot split the data: The test_size = 2 should be greater or equal to "
        "the number of classes = 3",
    ),
    "sep empty": (
        {},
        ["--sep", ""],
        "argument --sep: the separator must be one character, got ''",
    ),
    "sep two characters": (
        {},
        ["--sep", ";;"],
        "argument --sep: the separator must be one character, got ';;'",
    ),
    "sep quote": ({}, ["--sep", '"'], "argument --sep: the separator cannot be '\"'"),
    "sep newline": (
        {},
        ["--sep", "\n"],
        r"argument --sep: the separator cannot be '\n'",
    ),
    "tol inf": (
        {},
        ["--tol", "inf"],
        "argument --tol: must be a positive finite number, got inf",
    ),
    "tol nan": (
        {},
        ["--tol", "nan"],
        "argument --tol: must be a positive finite number, got nan",
    ),
    "tol negative": (
        {},
        ["--tol", "-1"],
        "argument --tol: must be a positive finite number, got -1",
    ),
    "tol zero": ({}, ["--tol", "0"], "argument --tol: must be a positive finite"),
    "C zero": ({}, ["--C", "0"], "argument --C: must be positive, got 0"),
    "C nan": ({}, ["--C", "nan"], "argument --C: must be positive, got nan"),
    "C negative": ({}, ["--C", "-1"], "argument --C: must be positive, got -1"),
    "C text": ({}, ["--C", "abc"], "argument --C: 'abc' is not a number"),
    "n-jobs zero": (
        {},
        ["--n-jobs", "0"],
        "argument --n-jobs: must be a non-zero number of threads, got 0",
    ),
    "max-iter negative": (
        {},
        ["--max-iter", "-1"],
        "argument --max-iter: must be at least 1, got -1",
    ),
    "max-iter zero": ({}, ["--max-iter", "0"], "argument --max-iter: must be at least"),
    "repeat fraction": ({}, ["--repeat", "2.5"], "'2.5' is not an integer"),
    "repeats zero": ({}, ["--repeats", "0"], "argument --repeats/--repeat: must be"),
    "test-size above 1": (
        {},
        ["--test-size", "1.5"],
        "argument --test-size: must be a fraction in (0, 1), got 1.5",
    ),
    "random-state negative": (
        {},
        ["--random-state", "-1"],
        "argument --random-state: must be in [0, 2**32 - 1], got -1",
    ),
    "random-state too large": (
        {},
        ["--random-state", str(2**32)],
        "argument --random-state: must be in [0, 2**32 - 1], got 4294967296",
    ),
    "unknown dataset": (
        {},
        ["--dataset", "mnist"],
        "argument --dataset: invalid choice: 'mnist'",
    ),
    "unknown solver": ({}, ["--solver", "newton"], "argument --solver: invalid choice"),
    "dataset and csv": (
        {},
        ["--dataset", "iris", "--csv", "x.csv"],
        "argument --csv: not allowed with argument --dataset",
    ),
    "plot into missing directory": (
        {},
        ["--dataset", "iris", "--plot", "{tmp}/no/cmp.png"],
        "cannot write the figure to {tmp}/no/cmp.png: {tmp}/no does not exist",
    ),
    "plot under a file": (
        {"f.txt": b""},
        ["--dataset", "iris", "--plot", "{tmp}/f.txt/cmp.png"],
        "cannot write the figure to {tmp}/f.txt/cmp.png: {tmp}/f.txt is not a "
        "directory",
    ),
    "plot to a directory": (
        {},
        ["--dataset", "iris", "--plot", "{tmp}"],
        "--plot {tmp} is a directory; give a file name such as {tmp}/comparison.png",
    ),
    "plot format": (
        {},
        ["--dataset", "iris", "--plot", "{tmp}/cmp.xyz"],
        "--plot {tmp}/cmp.xyz: matplotlib cannot write 'xyz' files; use one of ",
    ),
    "plot empty name": (
        {},
        ["--dataset", "iris", "--plot", ""],
        "--plot needs a file name such as comparison.png",
    ),
}

_PLOT_CASES = {name for name in _BAD_INPUTS if name.startswith("plot")}


def _bad_input(tmp_path, name):
    """Create the case's files; return its arguments and expected message."""
    files, argv, message = _BAD_INPUTS[name]
    if name in _PLOT_CASES and not _has_matplotlib():
        pytest.skip("the --plot checks need matplotlib")
    for file, content in files.items():
        (tmp_path / file).write_bytes(content)
    tmp = str(tmp_path)
    return [a.replace("{tmp}", tmp) for a in argv], message.replace("{tmp}", tmp)


def _check_error(status, out, err, message):
    """Exit status 2, nothing on stdout, one error line naming the problem."""
    assert status == 2, err
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    errors = [line for line in lines if "error:" in line]
    # argparse prints its usage lines first; the error is the last line.
    assert errors == [lines[-1]], err
    assert lines[-1].startswith("sklearn-softmax: error: ")
    assert message in lines[-1]


def test_bad_inputs_are_more_than_18():
    assert len(_BAD_INPUTS) >= 18


@pytest.mark.parametrize("name", _BAD_INPUTS)
def test_bad_input(tmp_path, capsys, name):
    argv, message = _bad_input(tmp_path, name)
    try:
        status = main(argv)
        parsed = True
    except SystemExit as exc:  # argparse's own errors
        status, parsed = exc.code, False
    out, err = capsys.readouterr()
    _check_error(status, out, err, message)
    if parsed:
        # Errors found after parsing come without the usage text.
        assert err.count("\n") == 1, err


# The inputs that once ended in a traceback, run as the installed command
# would be: a fresh interpreter, so no exception can be caught by the test.
_SUBPROCESS_CASES = [
    "latin-1 file",
    "binary garbage",
    "NUL bytes",
    "two data rows",
    "field too large",
    "sep empty",
    "tol inf",
    "plot format",
]


@pytest.mark.parametrize("name", _SUBPROCESS_CASES)
def test_bad_input_in_subprocess(tmp_path, name):
    argv, message = _bad_input(tmp_path, name)
    proc = subprocess.run(
        [sys.executable, "-m", "sklearn_softmax", *argv],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    _check_error(proc.returncode, proc.stdout, proc.stderr, message)


def _fail_with(exc):
    def run_comparison(*args, **kwargs):
        raise exc

    return run_comparison


@pytest.mark.parametrize(
    "exc, line",
    [
        (ValueError("Input X\n  has a bad   value"), "Input X has a bad value"),
        (UnicodeError("cannot encode"), "cannot encode"),
        (OSError(28, "No space left on device"), "[Errno 28] No space left on device"),
        (ValueError(), "ValueError"),
    ],
)
def test_last_resort_errors(monkeypatch, capsys, exc, line):
    """Unforeseen ValueError and OSError become one error line."""
    monkeypatch.setattr(cli, "run_comparison", _fail_with(exc))
    status, out, err = _run(capsys, "--dataset", "iris")
    assert status == 2
    assert out == ""
    assert err == f"sklearn-softmax: error: {line}\n"


@pytest.mark.parametrize("exc", [AttributeError("x"), TypeError("y"), KeyError("z")])
def test_programming_errors_propagate(monkeypatch, exc):
    """A bug is not disguised as a usage error: the exception escapes main."""
    monkeypatch.setattr(cli, "run_comparison", _fail_with(exc))
    with pytest.raises(type(exc)):
        main(["--dataset", "iris"])


def test_csv_byte_order_mark(tmp_path):
    """A UTF-8 byte order mark does not stick to the first column's name."""
    plain, marked = tmp_path / "plain.csv", tmp_path / "bom.csv"
    text = "y,a,b\n0,1.5,2\n1,3,4.5\n0,5,6\n"
    plain.write_text(text, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    X, y = read_csv(str(marked), "y")
    X_plain, y_plain = read_csv(str(plain), "y")
    np.testing.assert_array_equal(X, X_plain)
    np.testing.assert_array_equal(y, y_plain)
    assert y.tolist() == [0, 1, 0]
    with pytest.raises(CSVError, match="columns are: y, a, b$") as info:
        read_csv(str(marked), "label")
    assert "\ufeff" not in str(info.value)


def test_csv_byte_order_mark_then_bad_byte(tmp_path):
    """Line numbers of a decoding error do not count the byte order mark."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfa,y\n1,0\n2,\xe9\n")
    with pytest.raises(CSVError, match=r"line 3: byte 0xe9 is not UTF-8"):
        read_csv(str(path), "y")


def test_tab_separator(tmp_path):
    r"""``--sep '\t'`` as a shell passes it (backslash, t) means a tab."""
    assert build_parser().parse_args(["--sep", "\\t"]).sep == "\t"
    assert build_parser().parse_args(["--sep", ";"]).sep == ";"
    path = tmp_path / "tab.tsv"
    path.write_text("a\ty\n1\tp\n2\tq\n")
    X, y = read_csv(str(path), "y", "\\t")
    assert X.tolist() == [[1.0], [2.0]]
    assert y.tolist() == ["p", "q"]


def test_separator_checked_by_reader(tmp_path):
    """read_csv itself refuses a separator the csv module cannot use."""
    path = tmp_path / "d.csv"
    path.write_text(_GOOD)
    for sep in ["", ";;", '"', "\r"]:
        with pytest.raises(CSVError, match="the separator"):
            read_csv(str(path), "y", sep)


def test_plot_file_without_extension(tmp_path):
    """Without an extension the figure is a .png, and the command says so."""
    pytest.importorskip("matplotlib")
    assert plot_file(str(tmp_path / "cmp")) == str(tmp_path / "cmp") + ".png"
    assert plot_file(str(tmp_path / "cmp.SVG")) == str(tmp_path / "cmp.SVG")


def _env():
    env = dict(os.environ)
    root = str(Path(sklearn_softmax.__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_module_entry_point(tmp_path):
    """``python -m sklearn_softmax`` runs in a fresh process and exits 0."""
    env = _env()
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


@pytest.mark.parametrize(
    "name", ["_cli.py", "_cli_csv.py", "_cli_plot.py", "__main__.py"]
)
def test_cli_imports(name):
    """The CLI never imports numba itself, nor pandas; sklearn lazily."""
    path = Path(sklearn_softmax.__file__).with_name(name)
    tree = ast.parse(path.read_text())
    assert not {"numba", "pandas"} & _imports(ast.walk(tree))
    assert not {"sklearn", "matplotlib"} & _imports(tree.body)


_LAZY_PLOT = """
import sys
from sklearn_softmax._cli import main

argv = ["--dataset", "iris", "--repeat", "1", "--n-jobs", "1"]
assert main(argv) == 0
print("matplotlib after the table:", "matplotlib" in sys.modules)
if len(sys.argv) > 1:
    assert main(argv + ["--plot", sys.argv[1]]) == 0
    print("matplotlib after --plot:", "matplotlib" in sys.modules)
"""


def test_plot_imports_matplotlib_lazily(tmp_path):
    """Only ``--plot`` imports matplotlib; the table alone never does.

    In a fresh interpreter, because this test process may have imported
    matplotlib already.
    """
    plot = tmp_path / "cmp"
    argv = [str(plot)] if _has_matplotlib() else []
    proc = subprocess.run(
        [sys.executable, "-c", _LAZY_PLOT, *argv],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "matplotlib after the table: False" in proc.stdout
    if argv:
        assert "matplotlib after --plot: True" in proc.stdout
        assert f"figure saved to {plot}.png" in proc.stdout
        assert (tmp_path / "cmp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
