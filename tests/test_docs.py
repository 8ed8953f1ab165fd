"""Build the documentation with warnings as errors (when the docs extra is installed).

The gallery is rendered with ``plot_gallery=0``: tests/test_examples.py runs
the examples already.
"""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_softmax

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

for _module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
    pytest.importorskip(_module)


def _conf_list(name):
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"docs/conf.py defines no {name}")


def test_needs_merge_lists_agree():
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import test_examples
    finally:
        sys.path.pop(0)
    assert _conf_list("NEEDS_MERGE") == test_examples.NEEDS_MERGE


def test_docs_build(tmp_path):
    # Build a copy so the generated gallery and stubs stay out of the tree.
    src = tmp_path / "src"
    shutil.copytree(
        DOCS,
        src / "docs",
        ignore=shutil.ignore_patterns("_build", "auto_examples", "generated"),
    )
    shutil.copytree(ROOT / "examples", src / "examples")
    env = dict(os.environ)
    package_root = str(Path(sklearn_softmax.__file__).resolve().parents[1])
    env["PYTHONPATH"] = package_root + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SKLEARN_SOFTMAX_INTERSPHINX", None)
    out = tmp_path / "html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            "-d",
            str(tmp_path / "doctrees"),
            str(src / "docs"),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pages = [
        "index",
        "install",
        "quickstart",
        "api",
        "cli",
        "comparison",
        "performance",
        "changelog",
        "user_guide/model",
        "user_guide/penalties",
        "user_guide/cross_validation",
        "user_guide/solvers",
        "user_guide/online",
        "user_guide/weights",
        "user_guide/threads",
        "user_guide/targets",
        "user_guide/monitoring",
        "generated/sklearn_softmax.SoftmaxClassifier",
        "auto_examples/index",
        "auto_examples/compare_logistic_regression",
    ]
    for page in pages:
        assert (out / f"{page}.html").exists(), page
    for example in (ROOT / "examples").glob("plot_*.py"):
        assert (out / "auto_examples" / f"{example.stem}.html").exists()
    api = (out / "generated/sklearn_softmax.SoftmaxClassifier.html").read_text()
    for method in ("fit", "predict_proba", "predict_log_proba", "sparsify", "densify"):
        assert f"SoftmaxClassifier.{method}" in api
    cli = (out / "cli.html").read_text()
    assert "--target" in cli and "--plot" in cli  # the generated --help text
