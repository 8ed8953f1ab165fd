"""Array API inputs: converted to NumPy, outputs in the namespace of the input."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_iris

from sklearn_softmax import SoftmaxClassifier

xp = pytest.importorskip("array_api_strict")


def _data():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_array_api_strict_inputs_give_the_numpy_model(solver, dispatch=False):
    X, y = _data()
    ref = SoftmaxClassifier(solver=solver, random_state=0).fit(X, y)
    Xa, ya = xp.asarray(X), xp.asarray(y)
    swa = xp.asarray(np.ones(len(y)))
    with sklearn.config_context(array_api_dispatch=dispatch):
        clf = SoftmaxClassifier(solver=solver, random_state=0).fit(Xa, ya, swa)
        outputs = {
            m: getattr(clf, m)(Xa)
            for m in (
                "predict",
                "predict_proba",
                "predict_log_proba",
                "decision_function",
            )
        }
        if solver == "sgd":
            clf.partial_fit(Xa, ya)
    np.testing.assert_array_equal(
        clf.coef_ if solver == "lbfgs" else ref.coef_, ref.coef_
    )
    for m, out in outputs.items():
        assert isinstance(out, type(Xa)), m
        np.testing.assert_array_equal(np.asarray(out), getattr(ref, m)(X))


def test_outputs_keep_the_device():
    X, y = _data()
    device = xp.Device("device1")
    Xa = xp.asarray(X, device=device)
    clf = SoftmaxClassifier().fit(Xa, xp.asarray(y, device=device))
    assert clf.predict_proba(Xa).device == device


def test_string_labels_come_back_as_numpy():
    X, y = _data()
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = SoftmaxClassifier().fit(xp.asarray(X), labels)
    pred = clf.predict(xp.asarray(X))
    assert isinstance(pred, np.ndarray) and pred.dtype.kind == "U"


def test_with_array_api_dispatch_in_a_fresh_process():
    # array_api_dispatch=True needs SCIPY_ARRAY_API=1 before scipy is imported.
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "tests")])
    code = (
        "import test_array_api as t\n"
        "for solver in ('lbfgs', 'sgd'):\n"
        "    t.test_array_api_strict_inputs_give_the_numpy_model(solver, True)\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")
