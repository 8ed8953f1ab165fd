"""Run every gallery example and execute the comparison notebook.

The examples run in this process (Agg backend) so the numba kernels compile,
or load from the cache, once for all of them. Any warning an example emits
fails the test: examples are what users copy.
"""

import os
import runpy
import warnings
from pathlib import Path

import pytest

import sklearn_softmax
from sklearn_softmax import SoftmaxClassifier

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))
NOTEBOOK = EXAMPLES_DIR / "compare_logistic_regression.py"

# Examples written against solver="sgd" and partial_fit; docs/conf.py keeps the
# same list to exclude them from sphinx-gallery execution.
NEEDS_MERGE = ["plot_lbfgs_vs_sgd.py", "plot_partial_fit_streaming.py"]
HAS_SGD = "batch_size" in SoftmaxClassifier().get_params()
SGD_REASON = "needs solver='sgd' (merge of the sgd branch)"


def test_examples_found():
    names = {p.name for p in EXAMPLES}
    assert len(names) >= 7
    assert set(NEEDS_MERGE) <= names
    assert NOTEBOOK.exists()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, tmp_path, monkeypatch):
    if path.name in NEEDS_MERGE and not HAS_SGD:
        pytest.skip(SGD_REASON)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            namespace = runpy.run_path(str(path), run_name="__main__")
        n_figures = len(plt.get_fignums())
    finally:
        plt.close("all")
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not messages, f"{path.name} emitted warnings: {messages}"
    assert n_figures >= 1, f"{path.name} drew no figure"
    assert namespace["__doc__"].strip(), "sphinx-gallery needs a docstring"


def test_notebook_executes(tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")

    nb = jupytext.read(NOTEBOOK)
    # The kernel is a new process: make it import this copy of the package.
    package_root = str(Path(sklearn_softmax.__file__).resolve().parents[1])
    pythonpath = os.environ.get("PYTHONPATH")
    monkeypatch.setenv(
        "PYTHONPATH", package_root + (os.pathsep + pythonpath if pythonpath else "")
    )
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The notebook times LogisticRegression; its OpenBLAS threads busy-wait on a
    # loaded machine and can make that part many times slower. The test checks
    # results, not times.
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    # A kernel spec for this interpreter, so that a "python3" kernel installed
    # elsewhere on the machine cannot run the notebook with another Python.
    from ipykernel.kernelspec import install

    install(prefix=str(tmp_path / "jupyter"), kernel_name="sklearn-softmax-test")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="sklearn-softmax-test",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    ]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    text = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "Warning" not in text, text
