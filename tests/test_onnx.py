"""ONNX export through skl2onnx, checked in onnxruntime (the ``onnx`` extra)."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier


def test_package_import_does_not_import_skl2onnx():
    code = (
        "import sys, sklearn_softmax\n"
        "from sklearn_softmax import SoftmaxClassifier\n"
        "bad = [m for m in ('skl2onnx', 'onnx', 'onnxruntime', 'skops') "
        "if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")
softmax_onnx = pytest.importorskip("sklearn_softmax.onnx")

LABELS = {
    "int": np.array([3, 7, -1, 12]),
    "str": np.array(["cat", "dog", "emu", "fox"]),
}


def _data(n_classes, labels, seed=0):
    rng = np.random.default_rng(seed)
    n, d = 400, 6
    centers = rng.normal(scale=2.0, size=(n_classes, d))
    idx = rng.integers(0, n_classes, n)
    X = centers[idx] + rng.normal(size=(n, d)) * 3.0 + 5.0
    return X.astype(np.float32), LABELS[labels][:n_classes][idx]


def _run(onx, X):
    sess = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, {sess.get_inputs()[0].name: X})


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("pipeline", [False, True], ids=["alone", "pipeline"])
def test_onnx_matches_predict_proba(n_classes, labels, pipeline):
    X, y = _data(n_classes, labels)
    clf = SoftmaxClassifier(C=10.0, max_iter=500)
    model = make_pipeline(StandardScaler(), clf) if pipeline else clf
    model.fit(X, y)
    onx = skl2onnx.to_onnx(model, X[:1], options={id(clf): {"zipmap": False}})
    label, proba = _run(onx, X)
    assert proba.dtype == np.float32
    np.testing.assert_array_equal(label, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)
    assert label.dtype == (np.int64 if labels == "int" else object)


def test_onnx_zipmap_default_and_float64_model_data():
    # The model is fitted on float64; the graph is float32 all the same.
    X, y = _data(3, "str", seed=1)
    clf = SoftmaxClassifier().fit(X.astype(np.float64), y)
    onx = softmax_onnx.to_onnx(clf, X[:1])
    label, proba_maps = _run(onx, X)
    proba = np.array([[row[c] for c in clf.classes_] for row in proba_maps])
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-5)


def test_onnx_soft_targets_and_label_smoothing_model():
    X, _ = _data(3, "int", seed=2)
    rng = np.random.default_rng(2)
    Y = rng.dirichlet(np.ones(3), size=X.shape[0])
    clf = SoftmaxClassifier(label_smoothing=0.1, fit_intercept=False).fit(X, Y)
    onx = softmax_onnx.to_onnx(clf, X[:1], options={"zipmap": False})
    label, proba = _run(onx, X)
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-5)


def test_onnx_nocl_option_gives_class_indices():
    X, y = _data(3, "str", seed=3)
    clf = SoftmaxClassifier().fit(X, y)
    onx = softmax_onnx.to_onnx(
        clf, X[:1], options={id(clf): {"zipmap": False, "nocl": True}}
    )
    label, _ = _run(onx, X)
    np.testing.assert_array_equal(clf.classes_[label], clf.predict(X))


def test_register_is_idempotent():
    softmax_onnx.register()
    softmax_onnx.register()
    X, y = _data(2, "int", seed=4)
    clf = SoftmaxClassifier().fit(X, y)
    label, _ = _run(skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    np.testing.assert_array_equal(label, clf.predict(X))


def test_non_integer_float_labels_raise():
    # Only probability targets can name classes by non-integer floats.
    X, y = _data(2, "int", seed=5)
    Y = np.stack([y == 3, y != 3], axis=1).astype(float)
    clf = SoftmaxClassifier(classes=[0.5, 1.5]).fit(X, Y)
    with pytest.raises(ValueError, match="integer and string class labels"):
        softmax_onnx.to_onnx(clf, X[:1], options={"zipmap": False})


@pytest.mark.parametrize("n_classes", [2, 3])
def test_onnx_float64_input_gives_a_double_graph(n_classes):
    X, y = _data(n_classes, "int", seed=6)
    X = X.astype(np.float64)
    clf = SoftmaxClassifier().fit(X, y)
    label, proba = _run(softmax_onnx.to_onnx(clf, X[:1], options={"zipmap": False}), X)
    assert proba.dtype == np.float64
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize(
    "name,value", [("coef_", np.nan), ("coef_", np.inf), ("intercept_", -np.inf)]
)
def test_non_finite_coefficients_refuse_export(n_classes, name, value):
    X, y = _data(n_classes, "int", seed=7)
    clf = SoftmaxClassifier().fit(X, y)
    getattr(clf, name).flat[-1] = value
    with pytest.raises(ValueError, match=rf"{name} holds NaN or infinity"):
        softmax_onnx.to_onnx(clf, X[:1], options={"zipmap": False})


def test_inconsistent_fitted_state_refuses_export():
    X, y = _data(3, "int", seed=8)
    clf = SoftmaxClassifier().fit(X, y)
    clf.intercept_ = clf.intercept_[:2]
    with pytest.raises(ValueError, match="fitted state is inconsistent"):
        softmax_onnx.to_onnx(clf, X[:1], options={"zipmap": False})
