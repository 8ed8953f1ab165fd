"""Imports flow one way: config, kernels, data term, objective, solvers, estimator."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_softmax"

# Layer of each internal module (by its path relative to the package); a module
# may import only modules of a strictly lower layer, or of its own package.
LAYERS = {
    "_config": 0,
    "_compat": 0,
    # The machine's cache sizes, which the CSR layout is sized from.
    "_cpu_caches": 0,
    "_kernels": 1,
    # The data term's helper: how CSR data is split for the kernel.
    "_csr_layout": 2,
    # Work arrays the data term and its Hessian keep between evaluations.
    "_workspace": 2,
    "_checks": 2,
    "_arrays": 3,
    "_penalty": 3,
    # The data term's Hessian-vector products (kept probabilities).
    "_hessian": 3,
    "_vector_ops": 3,
    "_datafit": 4,
    "_objective": 5,
    # dask: a block resident on a worker; the driver's data term of all
    # blocks; lazy predictions (and recognising dask input without dask);
    # the validation and preparation of the blocks.
    "_dask_block": 5,
    "_dask_data": 6,
    "_dask_predict": 7,
    "_dask_validate": 8,
    "_predict": 6,
    "_targets": 6,
    "_solvers": 6,
    "_online": 7,
    "_array_api": 7,
    "_fit_callbacks": 8,
    "_linear": 8,
    "_scoring": 8,
    "_training": 9,
    "_classifier": 10,
    # SoftmaxClassifierCV: the fold paths, then the estimator.
    "_cv_path": 11,
    "_cv": 12,
    "onnx": 11,
    "_onnx": 11,
    "_cli_csv": 11,
    "_cli_plot": 11,
    "_cli_report": 11,
    "_cli": 12,
    "__main__": 13,
    "__init__": 13,
}
NUMBA_ALLOWED = {"_config", "_kernels"}
THIRD_PARTY_IN_KERNELS = {"numpy", "numba"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        top = rel.parts[0].removesuffix(".py")
        yield path, rel, top


def _imports(path, rel):
    tree = ast.parse(path.read_text())
    pkg_parts = ["sklearn_softmax", *rel.parts[:-1]]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:
                    for alias in node.names:
                        yield f"{name}.{alias.name}", node.lineno
                    continue
            else:
                name = node.module
            yield name, node.lineno
            for alias in node.names:
                if alias.name.startswith("_") and not name.startswith(
                    "sklearn_softmax"
                ):
                    yield f"{name}.{alias.name}", node.lineno


def _internal_top(name):
    parts = name.split(".")
    if parts[0] != "sklearn_softmax" or len(parts) < 2:
        return None
    return parts[1]


@pytest.mark.parametrize("path,rel,top", list(_modules()), ids=lambda v: str(v))
def test_imports_point_downwards(path, rel, top):
    assert top in LAYERS, f"{rel}: add the module to LAYERS in this test"
    for name, line in _imports(path, rel):
        target = _internal_top(name)
        root = name.split(".")[0]
        where = f"{rel}:{line} imports {name}"
        if target is not None and target != top:
            assert LAYERS[target] < LAYERS[top], f"{where}: import goes upwards"
        if root == "numba":
            assert top in NUMBA_ALLOWED, f"{where}: only _config and _kernels use numba"
        if top == "_kernels" and target is None:
            assert root in THIRD_PARTY_IN_KERNELS, (
                f"{where}: kernels use numpy/numba only"
            )
        if target is None and root == "sklearn":
            private = any(p.startswith("_") for p in name.split(".")[1:])
            if private:
                assert top == "_compat", (
                    f"{where}: private sklearn names go through _compat"
                )


@pytest.mark.parametrize("module", ["_classifier.py", "_linear.py", "_online.py"])
def test_estimator_does_not_reach_kernels(module):
    path = PACKAGE / module
    names = [name for name, _ in _imports(path, path.relative_to(PACKAGE))]
    assert not [n for n in names if n.split(".")[0] == "numba" or "_kernels" in n]


def test_no_fastmath_true_and_small_files():
    for path, rel, _ in _modules():
        text = path.read_text()
        assert "fastmath=True" not in text.replace(" ", ""), rel
        assert len(text.splitlines()) <= 500, f"{rel} is over 500 lines: split it"


def test_solvers_do_not_reach_kernels_or_the_objective_module():
    # Solvers see the objective only through the contract of
    # sklearn_softmax._solvers.Objective.
    for path in sorted((PACKAGE / "_solvers").glob("*.py")):
        rel = path.relative_to(PACKAGE)
        for name, line in _imports(path, rel):
            top = _internal_top(name)
            assert top not in {"_kernels", "_objective", "_datafit"}, (
                f"{rel}:{line} imports {name}"
            )
