"""ONNX export of :class:`~sklearn_softmax.SoftmaxClassifier` through skl2onnx.

Needs the ``onnx`` extra (``pip install "sklearn-softmax[onnx]"``: skl2onnx,
onnx and onnxruntime). Importing this module registers the converter with
skl2onnx, after which :func:`skl2onnx.to_onnx` converts a fitted
``SoftmaxClassifier`` on its own or inside a pipeline::

    import sklearn_softmax.onnx  # registers the converter
    from skl2onnx import to_onnx

    onx = to_onnx(model, X[:1].astype("float32"))

:func:`register` does the same explicitly and may be called any number of
times. Importing :mod:`sklearn_softmax` itself never imports skl2onnx.

The graph computes the logits ``X @ coef_.T + intercept_`` and their softmax
(for two classes the logistic function of the single logit), in the dtype of
the input (float32 for a ``FloatTensorType`` input). Its outputs are those of
every scikit-learn classifier converted by skl2onnx: the labels (int64 or
string tensor) and the probabilities, by default through a ``ZipMap``; pass
``options={id(model): {"zipmap": False}}`` for a plain probability tensor.
The options ``nocl`` and ``output_class_labels`` work as for
``LogisticRegression``.
"""

from __future__ import annotations

import numpy as np

try:
    from onnx import TensorProto
    from skl2onnx import to_onnx as _skl2onnx_to_onnx
    from skl2onnx import update_registered_converter
    from skl2onnx.algebra.onnx_ops import (
        OnnxAdd,
        OnnxArgMax,
        OnnxCast,
        OnnxConcat,
        OnnxGather,
        OnnxGreater,
        OnnxMatMul,
        OnnxNeg,
        OnnxReshape,
        OnnxSigmoid,
        OnnxSoftmax,
    )
    from skl2onnx.common.data_types import guess_numpy_type
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "sklearn_softmax.onnx needs skl2onnx and onnx; install them with "
        "pip install 'sklearn-softmax[onnx]'."
    ) from exc

from ._classifier import SoftmaxClassifier

__all__ = ["ALIAS", "register", "to_onnx"]

#: Name of the converter in skl2onnx's registry.
ALIAS = "SklearnSoftmaxSoftmaxClassifier"

_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}


def _label_constant(scope, op):
    """Return the class labels as an int64 or string array for the graph."""
    classes = np.asarray(get_label_classes(scope, op))
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if np.all(np.isfinite(classes)) and np.array_equal(classes, np.round(classes)):
            return classes.astype(np.int64)
        raise ValueError(
            "ONNX export supports integer and string class labels; classes_ "
            f"holds non-integer floats: {classes.tolist()!r}."
        )
    return np.array([str(c) for c in classes], dtype=object)


def _check_exportable(op):
    """Raise if the fitted state of ``op`` cannot make a meaningful graph."""
    op._check_fitted_state()
    for name in ("coef_", "intercept_"):
        values = np.asarray(getattr(op, name))
        if not np.isfinite(values).all():
            bad = np.argwhere(~np.isfinite(values))[0]
            where = ", ".join(str(int(i)) for i in bad)
            raise ValueError(
                f"Cannot export a SoftmaxClassifier whose {name} holds NaN or "
                f"infinity ({name}[{where}] = {values[tuple(bad)]}): the graph "
                "would compute NaN probabilities. Refit the model (a smaller C "
                "or scaled features keep the coefficients finite)."
            )


def _convert(scope, operator, container):
    """Emit the ONNX nodes of a fitted ``SoftmaxClassifier``."""
    op = operator.raw_operator
    _check_exportable(op)
    opv = container.target_opset
    label_out, proba_out = operator.outputs[:2]
    X = operator.inputs[0]
    dtype = guess_numpy_type(X.type)
    if dtype not in (np.float32, np.float64):
        dtype = np.float32
        X = OnnxCast(X, to=TensorProto.FLOAT, op_version=opv)
    coef = np.ascontiguousarray(op.coef_.T, dtype=dtype)
    intercept = np.asarray(op.intercept_, dtype=dtype)
    logits = OnnxAdd(OnnxMatMul(X, coef, op_version=opv), intercept, op_version=opv)
    labels = _label_constant(scope, op)
    if coef.shape[1] == 1:
        # Binary: logits (0, z); sigmoid(-z) for the first class is accurate
        # where 1 - sigmoid(z) would cancel.
        proba = OnnxConcat(
            OnnxSigmoid(OnnxNeg(logits, op_version=opv), op_version=opv),
            OnnxSigmoid(logits, op_version=opv),
            axis=1,
            op_version=opv,
            output_names=[proba_out],
        )
        # predict() picks the second class only for a positive logit.
        index = OnnxReshape(
            OnnxCast(
                OnnxGreater(logits, np.array([0], dtype=dtype), op_version=opv),
                to=TensorProto.INT64,
                op_version=opv,
            ),
            np.array([-1], dtype=np.int64),
            op_version=opv,
        )
    else:
        proba = OnnxSoftmax(logits, axis=1, op_version=opv, output_names=[proba_out])
        index = OnnxArgMax(logits, axis=1, keepdims=0, op_version=opv)
    label = OnnxGather(labels, index, axis=0, op_version=opv, output_names=[label_out])
    proba.add_to(scope, container)
    label.add_to(scope, container)


def register():
    """Register the ``SoftmaxClassifier`` converter with skl2onnx.

    Idempotent; importing :mod:`sklearn_softmax.onnx` already calls it.
    """
    update_registered_converter(
        SoftmaxClassifier,
        ALIAS,
        calculate_linear_classifier_output_shapes,
        _convert,
        options=_OPTIONS,
    )


def to_onnx(model, X=None, **kwargs):
    """Convert ``model`` with :func:`skl2onnx.to_onnx` after :func:`register`.

    Parameters
    ----------
    model : estimator
        A fitted ``SoftmaxClassifier`` or a pipeline ending in one.
    X : array-like, default=None
        Sample input that fixes the input type (use float32 data for a
        float32 graph).
    **kwargs
        Passed to :func:`skl2onnx.to_onnx` (``options``, ``target_opset``...).

    Returns
    -------
    onx : onnx.ModelProto
    """
    register()
    return _skl2onnx_to_onnx(model, X, **kwargs)


register()
