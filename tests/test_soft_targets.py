"""Probability (soft) targets: ``fit(X, Y)`` with one distribution per row."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _reference import data_term
from sklearn.exceptions import DataConversionWarning

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._targets import encode_targets, is_probability_targets

TIGHT = dict(tol=1e-10, max_iter=2000)


def _problem(n=120, d=4, k=3, seed=0, sparsity=0.3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(k, d))
    Y = rng.dirichlet(np.full(k, 0.7), size=n)
    # Mix in the model's own distribution so the problem has signal, and put
    # exact zeros in some rows (crowd labels rarely use every class).
    Z = X @ W.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    Y = 0.5 * Y + 0.5 * P
    Y[rng.random(size=Y.shape) < sparsity] = 0.0
    Y[Y.sum(axis=1) == 0, 0] = 1.0
    Y /= Y.sum(axis=1, keepdims=True)
    sw = rng.uniform(0.2, 3.0, size=n)
    return X, Y, sw


def _expand(X, Y, sw, classes=None):
    """Each row repeated once per class k with weight s_i * Y[i, k]."""
    n, k = Y.shape
    labels = np.arange(k) if classes is None else np.asarray(classes)
    X_exp = np.repeat(X, k, axis=0)
    y_exp = np.tile(labels, n)
    w_exp = (sw[:, None] * Y).ravel()
    return X_exp, y_exp, w_exp


def _assert_same_model(a, b, atol):
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=0, atol=atol)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("class_weight", [None, "balanced", "dict"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
def test_soft_fit_equals_expanded_dataset(
    n_classes, weighted, class_weight, label_smoothing
):
    X, Y, sw = _problem(k=n_classes, seed=n_classes)
    sw = sw if weighted else np.ones(X.shape[0])
    if class_weight == "dict":
        class_weight = {k: 0.5 + k for k in range(n_classes)}
    params = dict(class_weight=class_weight, label_smoothing=label_smoothing, **TIGHT)
    soft = SoftmaxClassifier(**params).fit(X, Y, sample_weight=sw if weighted else None)
    X_exp, y_exp, w_exp = _expand(X, Y, sw)
    hard = SoftmaxClassifier(**params).fit(X_exp, y_exp, sample_weight=w_exp)
    _assert_same_model(soft, hard, atol=1e-6)
    assert soft.coef_.shape == ((1, 4) if n_classes == 2 else (n_classes, 4))


def test_soft_fit_equals_expanded_dataset_float32_csr():
    X, Y, sw = _problem(seed=7)
    X[np.abs(X) < 0.6] = 0.0
    X32 = sp.csr_matrix(X.astype(np.float32))
    soft = SoftmaxClassifier(**TIGHT).fit(X32, Y, sample_weight=sw)
    assert soft.coef_.dtype == np.float32
    X_exp, y_exp, w_exp = _expand(X.astype(np.float32), Y, sw)
    hard = SoftmaxClassifier(**TIGHT).fit(
        sp.csr_matrix(X_exp), y_exp, sample_weight=w_exp
    )
    _assert_same_model(soft, hard, atol=1e-4)
    dense64 = SoftmaxClassifier(**TIGHT).fit(X, Y, sample_weight=sw)
    _assert_same_model(soft, dense64, atol=1e-4)


def test_sparse_targets_equal_dense_targets():
    X, Y, sw = _problem(seed=3, sparsity=0.5)
    dense = SoftmaxClassifier(**TIGHT).fit(X, Y, sample_weight=sw)
    sparse = SoftmaxClassifier(**TIGHT).fit(X, sp.csr_matrix(Y), sample_weight=sw)
    _assert_same_model(dense, sparse, atol=1e-9)
    coo = SoftmaxClassifier(**TIGHT).fit(X, sp.coo_matrix(Y), sample_weight=sw)
    _assert_same_model(dense, coo, atol=1e-9)


def test_one_hot_targets_equal_labels():
    X, _, sw = _problem(seed=4)
    y = np.random.default_rng(4).integers(0, 3, X.shape[0])
    hard = SoftmaxClassifier().fit(X, y, sample_weight=sw)
    soft = SoftmaxClassifier().fit(X, np.eye(3)[y], sample_weight=sw)
    _assert_same_model(hard, soft, atol=1e-12)


def test_classes_name_the_columns_and_come_out_sorted():
    X, Y, sw = _problem(seed=5)
    names = np.array(["zebra", "ant", "moose"])
    clf = SoftmaxClassifier(classes=names, **TIGHT).fit(X, Y, sample_weight=sw)
    np.testing.assert_array_equal(clf.classes_, ["ant", "moose", "zebra"])
    X_exp, y_exp, w_exp = _expand(X, Y, sw, classes=names)
    hard = SoftmaxClassifier(**TIGHT).fit(X_exp, y_exp, sample_weight=w_exp)
    _assert_same_model(clf, hard, atol=1e-6)
    # predict_proba follows classes_, i.e. column order [1, 2, 0] of Y.
    default = SoftmaxClassifier(**TIGHT).fit(X, Y, sample_weight=sw)
    np.testing.assert_array_equal(default.classes_, [0, 1, 2])
    np.testing.assert_allclose(
        clf.predict_proba(X), default.predict_proba(X)[:, [1, 2, 0]], atol=1e-6
    )
    np.testing.assert_array_equal(clf.predict(X), names[default.predict(X)])


def test_binary_soft_targets_keep_one_row_and_logistic_penalty():
    X, Y, sw = _problem(k=2, seed=6)
    clf = SoftmaxClassifier(C=0.3, **TIGHT).fit(X, Y)
    assert clf.coef_.shape == (1, X.shape[1])
    assert clf.intercept_.shape == (1,)
    # Logistic loss on soft labels plus ||w||^2 / (2 C n), minimised directly.
    from scipy.optimize import minimize

    def f(theta):
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        lp1, lp0 = -np.logaddexp(0, -z), -np.logaddexp(0, z)
        ce = -(Y[:, 1] * lp1 + Y[:, 0] * lp0)
        return ce.mean() + w @ w / (2 * 0.3 * X.shape[0])

    ref = minimize(f, np.zeros(X.shape[1] + 1), method="BFGS", options={"gtol": 1e-10})
    np.testing.assert_allclose(clf.coef_[0], ref.x[:-1], atol=1e-5)
    np.testing.assert_allclose(clf.intercept_[0], ref.x[-1], atol=1e-5)


def test_one_column_2d_y_is_raveled_with_warning():
    X, _, _ = _problem(seed=8)
    y = np.random.default_rng(8).integers(0, 3, X.shape[0])
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        col = SoftmaxClassifier().fit(X, y[:, None])
    ref = SoftmaxClassifier().fit(X, y)
    np.testing.assert_array_equal(col.coef_, ref.coef_)


def test_multilabel_indicator_is_rejected_with_row_sum_message():
    X, _, _ = _problem(seed=9)
    rng = np.random.default_rng(9)
    Y = (rng.random(size=(X.shape[0], 3)) < 0.5).astype(int)
    Y[:, 0] = 1
    with pytest.raises(ValueError, match="must sum to 1.*multilabel indicator"):
        SoftmaxClassifier().fit(X, Y)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda Y: Y * 1.01, "must sum to 1"),
        (lambda Y: Y - 0.5 * (np.arange(Y.shape[1]) == 0), "non-negative"),
        (lambda Y: np.where(Y == Y.max(), np.nan, Y), "NaN"),
        (lambda Y: np.where(Y > 0, "a", "b"), "must be numeric"),
    ],
    ids=["row-sum", "negative", "nan", "strings"],
)
def test_invalid_probability_rows_raise(mutate, match):
    X, Y, _ = _problem(seed=10, sparsity=0.0)
    Y = Y.copy()
    Y[:, 1] += Y[:, 0]
    Y[:, 0] = 0.0
    Y[0] = [0.5, 0.25, 0.25]  # a row with mass in column 0 for "negative"
    with pytest.raises(ValueError, match=match):
        SoftmaxClassifier().fit(X, mutate(Y))


def test_row_sum_tolerance_is_1e_6():
    X, Y, _ = _problem(seed=11)
    ok = Y.copy()
    ok[0] *= 1 + 5e-7
    SoftmaxClassifier().fit(X, ok)
    bad = Y.copy()
    bad[0] *= 1 + 5e-6
    with pytest.raises(ValueError, match="row 0 sums to"):
        SoftmaxClassifier().fit(X, bad)


def test_invalid_classes_raise():
    X, Y, _ = _problem(seed=12)
    with pytest.raises(ValueError, match="2 labels but the probability targets"):
        SoftmaxClassifier(classes=["a", "b"]).fit(X, Y)
    with pytest.raises(ValueError, match="distinct"):
        SoftmaxClassifier(classes=["a", "b", "a"]).fit(X, Y)


def test_single_class_with_mass_raises():
    X, _, _ = _problem(seed=13)
    Y = np.zeros((X.shape[0], 3))
    Y[:, 2] = 1.0
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxClassifier().fit(X, Y)


def test_balanced_class_weight_needs_mass_in_every_class():
    X, Y, _ = _problem(seed=14)
    Y[:, 1] += Y[:, 2]
    Y[:, 2] = 0.0
    clf = SoftmaxClassifier().fit(X, Y)  # a class without mass is allowed
    assert clf.predict_proba(X)[:, 2].max() < 0.05
    with pytest.raises(ValueError, match="classes \\[2\\] have none"):
        SoftmaxClassifier(class_weight="balanced").fit(X, Y)


def test_labels_with_declared_classes():
    X, _, _ = _problem(seed=15)
    y = np.where(np.random.default_rng(15).random(X.shape[0]) < 0.5, "a", "c")
    clf = SoftmaxClassifier(classes=["c", "b", "a"], **TIGHT).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    assert set(clf.predict(X)) <= {"a", "c"}
    # The same objective written as probability targets with an empty column
    # for "b" (another encoding path): the same fit.
    Y = np.zeros((X.shape[0], 3))
    Y[y == "a", 0] = Y[y == "c", 2] = 1.0
    soft = SoftmaxClassifier(classes=["a", "b", "c"], **TIGHT).fit(X, Y)
    np.testing.assert_allclose(soft.coef_, clf.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(soft.intercept_, clf.intercept_, rtol=1e-10)
    # Stationary for the NumPy reference objective with K = 3 and penalty
    # ||W||^2 / (2 C S): fails if the empty class were dropped or given
    # another class's rows, or if the penalty scale of two classes (2 / C,
    # two classes have samples) were used.
    _, grad = data_term(X, Y, np.ones(X.shape[0]), clf.coef_, clf.intercept_, 0.0)
    grad[:, :-1] += clf.coef_
    assert np.abs(grad / X.shape[0]).max() < 1e-6
    # "b" has no mass, so its intercept runs off and its probability vanishes;
    # what remains is the binary problem of "a" against "c" whose penalty
    # ||W_a||^2 + ||W_c||^2 = ||W_c - W_a||^2 / 2 is that of C = 2.
    proba = clf.predict_proba(X)
    assert proba[:, 1].max() < 1e-10 and proba[:, [0, 2]].min() > 1e-3
    binary = SoftmaxClassifier(C=2.0, **TIGHT).fit(X, y)
    Z = clf.decision_function(X)
    np.testing.assert_allclose(
        Z[:, 2] - Z[:, 0], binary.decision_function(X), rtol=0, atol=1e-6
    )
    with pytest.raises(ValueError, match="not in classes: \\['d'\\]"):
        SoftmaxClassifier(classes=["a", "b", "c"]).fit(X, np.where(y == "a", "d", y))


def test_caller_arrays_are_not_modified():
    X, Y, sw = _problem(seed=16)
    copies = X.copy(), Y.copy(), sw.copy()
    SoftmaxClassifier(class_weight="balanced", label_smoothing=0.1).fit(
        X, Y, sample_weight=sw
    )
    for a, b in zip((X, Y, sw), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_detection_of_probability_targets():
    assert is_probability_targets(np.zeros((3, 2)))
    assert is_probability_targets(sp.csr_matrix(np.eye(3)))
    assert not is_probability_targets(np.zeros((3, 1)))
    assert not is_probability_targets([0, 1, 2])
    assert not is_probability_targets(["a", "b"])


def test_encode_targets_is_reusable_for_later_batches():
    # partial_fit encodes later batches against the classes of the first.
    enc = encode_targets(np.array([2, 0, 2]), classes=np.array([0, 1, 2]))
    np.testing.assert_array_equal(enc.targets.cls, [2, 0, 2])
    assert enc.targets.n_classes == 3 and not enc.soft
    Y = np.array([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5]])
    enc = encode_targets(Y, classes=np.array([5, 3, 4]))
    np.testing.assert_array_equal(enc.classes, [3, 4, 5])
    dense = np.zeros((2, 3))
    for i in range(2):
        sl = slice(enc.targets.ptr[i], enc.targets.ptr[i + 1])
        dense[i, enc.targets.cls[sl]] += enc.targets.prob[sl]
    np.testing.assert_array_equal(dense, Y[:, [1, 2, 0]])


@pytest.mark.parametrize("sparse_X", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_gradient_matches_finite_differences_soft_smoothed(sparse_X, n_classes):
    X, Y, sw = _problem(n=40, k=n_classes, seed=17)
    if sparse_X:
        X[np.abs(X) < 0.5] = 0.0
        X = sp.csr_matrix(X)
    enc = encode_targets(Y, sw, class_weight={0: 2.0})
    obj = SoftmaxObjective(
        X,
        enc.targets,
        enc.sample_weight,
        C=0.7,
        fit_intercept=True,
        label_smoothing=0.2,
    )
    rng = np.random.default_rng(17)
    theta = rng.normal(size=obj.n_params)
    _, grad = obj.loss_gradient(theta)
    h = 1e-6
    fd = np.empty_like(theta)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        fd[j] = (obj.loss(theta + e) - obj.loss(theta - e)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_warm_start_with_soft_targets_reaches_the_same_model():
    X, Y, sw = _problem(seed=18)
    ref = SoftmaxClassifier(**TIGHT).fit(X, Y, sample_weight=sw)
    clf = SoftmaxClassifier(warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y, sample_weight=sw)
    clf.set_params(**TIGHT).fit(X, Y, sample_weight=sw)
    _assert_same_model(clf, ref, atol=1e-6)
