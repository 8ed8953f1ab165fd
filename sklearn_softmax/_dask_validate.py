"""Training data on a dask cluster: blocks validated and prepared where they live.

:func:`dask_training_data` is the dask branch of the estimator's training
validation. Nothing of ``X`` is computed on the driver: what needs no data
(number of features, feature names, dtype) comes from the collection's
metadata, and every block goes through three tasks on the workers, whose
futures keep their lineage (never ``scatter``: a block lost with its worker
is recomputed from the user's graph):

1. *scan*: ``X``, ``y`` and the weights checked by scikit-learn's own
   ``check_X_y`` (the errors of data in memory), and the labels present;
2. *encode*: targets and sample weights encoded against the classes of all
   blocks, and each class's weight in the block;
3. *prepare*: class weights (``"balanced"`` from the class masses of all
   blocks) folded in, and the resident
   :class:`~sklearn_softmax._dask_block.BlockTerm`.

Between the steps the driver gathers a few numbers per block. An error in a
block is raised as the block raised it, with a note naming the block, and
every future of the fit is cancelled first.
"""

from __future__ import annotations

import uuid
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_X_y
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._checks import reject_datetime_features
from ._config import n_chunks
from ._dask_block import BlockTerm, piece_bounds
from ._dask_data import DaskDataTerm
from ._dask_predict import is_dask_collection, is_dask_dataframe
from ._targets import (
    EncodedTargets,
    _class_mass,
    _class_weight_vector,
    _fold_class_weight,
    encode_targets,
    is_probability_targets,
)

__all__ = ["DaskTrainingData", "dask_training_data", "get_client"]

NO_CLIENT = (
    "Fitting on a dask collection runs on a dask.distributed cluster, but "
    "there is no client. Create one first, for example "
    "`from distributed import Client, LocalCluster; client = Client(LocalCluster())` "
    "on this machine, or `client = Client('tcp://scheduler-address:8786')` for a "
    "running cluster; fit uses the current client."
)

SGD_ON_DASK = (
    "solver='sgd' and partial_fit do not take dask collections: stochastic "
    "passes visit one block at a time. Wrap the estimator in "
    "dask_ml.wrappers.Incremental(SoftmaxClassifier(solver='sgd')), whose "
    "fit calls partial_fit on every block, or use solver='lbfgs', which fits "
    "dask collections on the cluster."
)


NEWTON_ON_DASK = (
    "solver='newton-cg' does not take dask collections yet: its Hessian-vector "
    "products need the probabilities of every block kept on the workers between "
    "tasks. Use solver='lbfgs', which fits dask collections on the cluster."
)


def get_client():
    """Return the current ``distributed`` client, or raise a helpful error."""
    try:
        from distributed import default_client
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "Fitting on dask collections needs dask.distributed: "
            "pip install 'sklearn-softmax[dask]'."
        ) from exc
    try:
        return default_client()
    except ValueError:
        raise RuntimeError(NO_CLIENT) from None


class DaskTrainingData:
    """What ``fit`` sees of dask training data: shape, dtype and data term."""

    ndim = 2

    def __init__(self, data_term):
        self.data_term = data_term
        self.shape = (data_term.n_samples, data_term.n_features)
        self.dtype = data_term.dtype


class _Stage:
    """One step's result for a block, with the few numbers the driver needs."""

    def __init__(self, summary, **arrays):
        self.summary = summary
        self.__dict__.update(arrays)


def _noted(exc, index, rows):
    exc.add_note(f"In block {index} of the dask collection ({rows} rows).")
    return exc


def _scan(x, y, sw, index, *, n_features, dtype, soft, name):
    try:
        reject_datetime_features(x)
        x, y = check_X_y(
            x,
            y,
            accept_sparse="csr",
            dtype=dtype,
            order="C",
            multi_output=soft,
            ensure_min_samples=0,
            estimator=name,
        )
        if x.shape[1] != n_features:
            raise ValueError(
                f"X has {x.shape[1]} features, but {name} is expecting "
                f"{n_features} features as input."
            )
        labels = None
        if not soft:
            if y.shape[0]:
                check_classification_targets(y)
            labels = np.unique(y)
    except Exception as exc:
        raise _noted(exc, index, getattr(x, "shape", ("?",))[0]) from None
    return _Stage({"n_rows": x.shape[0], "labels": labels}, x=x, y=y, sw=sw)


def _encode(scanned, index, *, classes):
    try:
        enc = encode_targets(scanned.y, scanned.sw, classes=classes, whole_data=False)
    except Exception as exc:
        raise _noted(exc, index, scanned.summary["n_rows"]) from None
    mass = _class_mass(enc.targets, enc.sample_weight)
    sw = enc.sample_weight
    summary = {
        "mass": mass,
        "sw_max": float(sw.max(initial=0.0)),
        "classes": enc.classes,
    }
    return _Stage(summary, x=scanned.x, targets=enc.targets, sw=sw)


def _prepare(encoded, index, *, class_weight, bounds, label_smoothing):
    targets, sw = encoded.targets, encoded.sw
    try:
        if class_weight is not None:
            targets, sw = _fold_class_weight(targets, sw, class_weight)
        block = BlockTerm(encoded.x, targets, sw, label_smoothing, bounds)
    except Exception as exc:
        raise _noted(exc, index, encoded.summary.get("n_rows", sw.shape[0])) from None
    block.summary = {
        "weight_parts": block.weight_parts,
        "sw_max": float(sw.max(initial=0.0)),
    }
    return block


def _summary(stage):
    return stage.summary


def _gather_summaries(client, futures):
    small = client.map(_summary, futures, pure=False)
    try:
        return client.gather(small)
    finally:
        client.cancel(small)


def _parts(v, name, n_parts, row_chunks):
    """Per-block pieces of ``y`` or ``sample_weight``, aligned with ``X``."""
    import dask.array as da

    if is_dask_dataframe(v):
        if v.npartitions != n_parts:
            raise ValueError(
                f"{name} has {v.npartitions} partitions but X has {n_parts}; "
                "partition both alike."
            )
        return list(v.to_delayed())
    if isinstance(v, da.Array):
        if v.ndim == 2 and v.numblocks[1] > 1:
            v = v.rechunk({1: -1})
        if v.chunks[0] != row_chunks:
            if row_chunks is None or np.isnan(v.shape[0]):
                raise ValueError(
                    f"{name} must have the row chunks of X ({n_parts} blocks)."
                )
            v = v.rechunk({0: row_chunks})
        return list(v.to_delayed().reshape(-1))
    if row_chunks is None or any(np.isnan(c) for c in row_chunks):
        raise ValueError(
            f"With a dask DataFrame X (or unknown chunk sizes), pass {name} as a "
            "dask collection partitioned like X."
        )
    v = v if sp.issparse(v) else np.asarray(v)
    if v.shape[0] != sum(row_chunks):
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{sum(row_chunks)}, {v.shape[0]}]"
        )
    # Small (one value per row): sent with the graph, so kept for lineage.
    stops = np.cumsum(row_chunks)
    return [v[s - c : s] for s, c in zip(stops, row_chunks, strict=True)]


def _collection_parts(X, y, sample_weight):
    import dask.array as da

    if is_dask_dataframe(X):
        meta, x_parts, row_chunks = X._meta, list(X.to_delayed()), None
        n_features = meta.shape[1]
        try:
            dtype = np.result_type(*meta.dtypes)
        except TypeError:
            dtype = np.dtype(object)
    elif isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2-D dask array X, got {X.ndim} dimension(s); "
                "reshape it to (n_samples, n_features)."
            )
        if np.isnan(X.shape[1]):
            raise ValueError(
                "The number of columns of X is unknown; give the dask array its "
                "shape (for example X.compute_chunk_sizes())."
            )
        if X.numblocks[1] > 1:
            # Chunk rows only: a block needs whole rows.
            X = X.rechunk({1: -1})
        meta, dtype, n_features = X, X.dtype, X.shape[1]
        x_parts, row_chunks = list(X.to_delayed()[:, 0]), X.chunks[0]
    else:
        raise TypeError(
            "Expected X as a dask Array or DataFrame when y or sample_weight "
            f"is one; got {type(X).__name__}."
        )
    if any(np.isnan(c) for c in row_chunks or ()):
        row_chunks = None
    if getattr(y, "ndim", 1) == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples, ), for example using ravel().",
            DataConversionWarning,
            stacklevel=5,
        )
        y = y[:, 0] if not is_dask_dataframe(y) else y.iloc[:, 0]
    y_parts = _parts(y, "y", len(x_parts), row_chunks)
    if sample_weight is None:
        sw_parts = [None] * len(x_parts)
    else:
        sw_parts = _parts(sample_weight, "sample_weight", len(x_parts), row_chunks)
    dtype = np.dtype(np.float32 if dtype == np.float32 else np.float64)
    return meta, x_parts, y_parts, sw_parts, int(n_features), dtype


def _classes_of(summaries, classes, soft):
    """Classes to encode every block against (the union of the labels)."""
    if soft or classes is not None:
        return classes
    union = np.unique(np.concatenate([s["labels"] for s in summaries]))
    if union.shape[0] < 2:
        found = f": {union[0]!r}." if union.shape[0] else "."
        raise ValueError(
            "SoftmaxClassifier needs samples of at least 2 classes in the "
            f"data, but the data contains only one class{found}"
        )
    return union


def _check_masses(summaries, classes, class_weight):
    """Global class masses, the two-class check and the class weights."""
    mass = None
    for s in summaries:
        # In block order, so the masses are the same on any cluster.
        mass = s["mass"].copy() if mass is None else mass + s["mass"]
    n_weighted = int(np.count_nonzero(mass > 0))
    if n_weighted < 2:
        raise ValueError(
            "SoftmaxClassifier needs samples of at least 2 classes with positive "
            f"sample weight, but only {n_weighted} class has any."
        )
    if class_weight is None:
        return None
    return _class_weight_vector(class_weight, classes, mass)


def _check_total(total, sw_max, class_weight):
    if not np.isfinite(total):
        what = (
            "The sum of sample_weight"
            if class_weight is None
            else "The sum of the sample weights with class weights folded in"
        )
        raise ValueError(
            f"{what} overflows float64 (it is {total!r}; the largest weight "
            f"is {sw_max!r}). Divide sample_weight (or class_weight) by a "
            "common factor m, and multiply C by m to keep the same model."
        )
    if class_weight is not None and not total > 0:
        raise ValueError(
            "The sample weights with class weights folded in sum to 0: every "
            "sample with positive sample_weight has its target on classes "
            "whose class_weight is 0. Give at least two classes of the data "
            "a positive class weight."
        )


def dask_training_data(estimator, X, y, sample_weight, *, first, classes, whole_data):
    """Validate dask training data and prepare its blocks on the cluster.

    Parameters
    ----------
    estimator : SoftmaxClassifier
        Gets ``n_features_in_`` (and ``feature_names_in_``) from the
        metadata, as ``validate_data`` sets them.
    X : dask Array or DataFrame
    y, sample_weight : dask collection, array-like or None
        With the row chunks (partitions) of ``X``; arrays in memory are cut
        along the chunks of a dask array ``X``.
    first : bool
        Whether the feature attributes are reset.
    classes : array-like or None
        The estimator's ``classes``.
    whole_data : bool
        False for ``partial_fit``, which is refused.

    Returns
    -------
    X : DaskTrainingData
    encoded : EncodedTargets
        ``classes`` and ``soft``; targets and weights stay on the workers.
    """
    if getattr(estimator, "solver", "lbfgs") == "sgd" or not whole_data:
        raise ValueError(SGD_ON_DASK)
    if getattr(estimator, "solver", "lbfgs") == "newton-cg":
        raise ValueError(NEWTON_ON_DASK)
    client = get_client()
    name = type(estimator).__name__
    if not is_dask_collection(X):
        raise TypeError(
            f"X is a {type(X).__name__} while y or sample_weight is a dask "
            "collection: pass X as a dask Array or DataFrame too."
        )
    soft = is_probability_targets(y)
    meta, x_parts, y_parts, sw_parts, d, dtype = _collection_parts(X, y, sample_weight)
    if is_dask_dataframe(X):
        reject_datetime_features(meta)
    validate_data(estimator, meta, reset=first, skip_check_array=True)
    from dask import delayed

    token = uuid.uuid4().hex[:12]
    keys = [
        f"sklearn-softmax-{s}-{token}-{i}"
        for s in ("scan", "encode", "prepare")
        for i in range(len(x_parts))
    ]
    B = len(x_parts)
    held = []
    try:
        scan = delayed(_scan, pure=True)
        scanned = client.compute(
            [
                scan(
                    x,
                    yb,
                    swb,
                    i,
                    n_features=d,
                    dtype=dtype,
                    soft=soft,
                    name=name,
                    dask_key_name=keys[i],
                )
                for i, (x, yb, swb) in enumerate(
                    zip(x_parts, y_parts, sw_parts, strict=True)
                )
            ]
        )
        held += scanned
        summaries = _gather_summaries(client, scanned)
        rows = [int(s["n_rows"]) for s in summaries]
        n = sum(rows)
        if n == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape=(0, {d})) while a minimum "
                f"of 1 is required by {name}."
            )
        classes = _classes_of(summaries, classes, soft)
        encoded = client.map(
            _encode, scanned, range(B), classes=classes, key=keys[B : 2 * B]
        )
        held += encoded
        enc_summaries = _gather_summaries(client, encoded)
        # Every block sorts the classes alike; the first says what they are.
        classes = enc_summaries[0]["classes"]
        K = classes.shape[0]
        cw = _check_masses(enc_summaries, classes, estimator.class_weight)
        chunks = n_chunks(n, K * (d + 1))
        chunk_bounds = [(c * n) // chunks for c in range(chunks + 1)]
        offsets = np.concatenate([[0], np.cumsum(rows)[:-1]])
        blocks = [
            client.submit(
                _prepare,
                encoded[i],
                i,
                class_weight=cw,
                bounds=piece_bounds(int(offsets[i]), rows[i], chunk_bounds),
                label_smoothing=estimator.label_smoothing,
                key=keys[2 * B + i],
            )
            for i in range(B)
        ]
        held += blocks
        block_summaries = _gather_summaries(client, blocks)
        parts = np.concatenate([s["weight_parts"] for s in block_summaries])
        total = float(parts.sum())
        _check_total(
            total, max(s["sw_max"] for s in block_summaries), estimator.class_weight
        )
    except BaseException:
        client.cancel(held)
        raise
    # The scan and encode results go; the scheduler keeps their tasks as
    # the lineage of the blocks.
    del scanned, encoded, held
    data = DaskDataTerm(
        client,
        blocks,
        [s["weight_parts"].shape[0] for s in block_summaries],
        n_samples=n,
        n_features=d,
        n_classes=K,
        sw_sum=total,
        dtype=dtype,
        sparse=sp.issparse(getattr(meta, "_meta", meta)),
    )
    return DaskTrainingData(data), EncodedTargets(classes, None, None, soft)
