"""partial_fit: multinomial online learning, its state and its input checks."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sklearn_softmax import SoftmaxClassifier


def _data(n=400, d=6, k=3, seed=0):
    return make_classification(
        n, d, n_informative=4, n_redundant=0, n_classes=k, random_state=seed
    )


def _sgd(**params):
    return SoftmaxClassifier(solver="sgd", random_state=0, **params)


def test_only_available_with_sgd():
    assert not hasattr(SoftmaxClassifier(), "partial_fit")
    assert hasattr(_sgd(), "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as excinfo:
        _ = SoftmaxClassifier().partial_fit
    # The message itself says why and what to change (not only its cause).
    assert "only available with solver='sgd'" in str(excinfo.value)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("k", [2, 4])
def test_first_call_is_one_epoch_of_fit(shuffle, k):
    X, y = _data(k=k)
    sw = np.linspace(0.5, 1.5, len(y))
    online = _sgd(shuffle=shuffle).partial_fit(
        X, y, classes=np.unique(y), sample_weight=sw
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = _sgd(shuffle=shuffle, max_iter=1).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(online.coef_, batch.coef_)
    np.testing.assert_array_equal(online.intercept_, batch.intercept_)
    assert online.coef_.shape == ((1, 6) if k == 2 else (k, 6))
    assert online.n_iter_ == 1 and online.t_ == batch.t_ == -(-len(y) // 32)


def test_state_persists_across_calls_and_fit_resets_it():
    X, y = _data()
    clf = _sgd(learning_rate="adam")
    clf.partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    m_after_first = clf._sgd_state["optimizer"]["buf1"].copy()
    clf.partial_fit(X[200:], y[200:])
    assert clf.n_iter_ == 2 and clf.t_ == 14 and len(clf.loss_curve_) == 2
    assert not np.array_equal(clf._sgd_state["optimizer"]["buf1"], m_after_first)
    # A fresh estimator fed the second batch alone takes different steps:
    # the moments (and the step counter in Adam's bias correction) carried over.
    fresh = _sgd(learning_rate="adam").partial_fit(X[200:], y[200:], classes=[0, 1, 2])
    assert not np.allclose(fresh.coef_, clf.coef_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(max_iter=1).fit(X, y)
    assert clf.t_ == 13 and clf.n_iter_ == 1
    clf.partial_fit(X, y)  # continues the fit, no classes needed
    assert clf.t_ == 26 and clf.n_iter_ == 2


def test_classes_required_on_first_call():
    X, y = _data()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        _sgd().partial_fit(X, y)


def test_classes_must_not_change():
    X, y = _data()
    clf = _sgd().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not the same as on the previous call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same set is fine


@pytest.mark.parametrize("classes", [[0], [1, 1, 0]])
def test_bad_classes(classes):
    X, y = _data(k=2)
    with pytest.raises(ValueError, match="classes="):
        _sgd().partial_fit(X, y, classes=classes)


def test_unknown_label_is_named():
    X, y = _data()
    clf = _sgd().partial_fit(X, y, classes=[0, 1, 2])
    y_bad = y.copy()
    y_bad[:3] = [7, 9, 7]
    with pytest.raises(ValueError, match=r"not in classes: \[7, 9\]"):
        clf.partial_fit(X, y_bad)


def test_n_features_must_not_change():
    X, y = _data()
    clf = _sgd().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.partial_fit(X[:, :5], y)


def _reference_stream(batches, n_classes, *, C=1.0, eta0=0.3, momentum=0.9, seed=0):
    """NumPy reference of ``partial_fit`` calls with the default ``"adaptive"`` rule.

    ``batches`` holds ``(X, y, sample_weight)`` with integer ``y``. One
    shuffled pass of 32-row minibatches per batch; the mean weight and the
    ``S`` of the penalty count every row passed so far, and the velocity
    carries over (the rule of ``_solvers/_sgd.py``): a momentum step on the
    data gradient, then the proximal step of the L2 penalty at the step the
    gradient gets, ``W <- W / (1 + eta0 / (1 - momentum) * alpha / S)``. The
    model is the mean of all iterates (the default ``average``). Returns
    ``coef_, intercept_`` in scikit-learn's convention.
    """
    d = batches[0][0].shape[1]
    alpha = (2.0 if n_classes == 2 else 1.0) / C
    rng = np.random.RandomState(seed)
    P = np.zeros((n_classes, d + 1))
    v = np.zeros_like(P)
    n_seen, S = 0, 0.0
    A, n_avg = np.zeros_like(P), 0
    for X, y, sw in batches:
        n = len(y)
        n_seen, S = n_seen + n, S + sw.sum()
        order = rng.permutation(n)
        for start in range(0, n, min(32, n)):
            rows = order[start : start + 32]
            Xb = np.hstack([X[rows], np.ones((len(rows), 1))])
            Z = Xb @ P.T
            p = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
            R = sw[rows, None] * (p - np.eye(n_classes)[y[rows]])
            G = R.T @ Xb / (len(rows) * S / n_seen)
            v = momentum * v - eta0 * G
            P = P + v
            P[:, :-1] /= 1.0 + eta0 / (1.0 - momentum) * alpha / S
            n_avg += 1
            A += (P - A) / n_avg
    W, b = A[:, :-1], A[:, -1]
    if n_classes == 2:
        return (W[1] - W[0])[None, :], np.array([b[1] - b[0]])
    return W - W.mean(axis=0), b - b.mean()


def test_batches_missing_classes_and_string_labels():
    X, y = _data(k=3)
    labels = np.array(["cat", "dog", "emu"])[y]
    sw = np.linspace(0.2, 2.0, len(y))
    parts = (labels == "cat", labels == "dog", labels != "cat")
    clf = _sgd()
    for p in parts:
        clf.partial_fit(
            X[p], labels[p], classes=["emu", "cat", "dog"], sample_weight=sw[p]
        )
    assert clf.classes_.tolist() == ["cat", "dog", "emu"]
    # The same stream as integer codes with sorted classes: bitwise the same
    # model (fails if labels were encoded by their position in the unsorted
    # ``classes`` argument, or against the classes a batch happens to hold).
    codes = _sgd()
    for p in parts:
        codes.partial_fit(X[p], y[p], classes=[0, 1, 2], sample_weight=sw[p])
    np.testing.assert_array_equal(clf.coef_, codes.coef_)
    np.testing.assert_array_equal(clf.intercept_, codes.intercept_)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[codes.predict(X)])
    # And the NumPy reference of the update rule: fails if a batch missing
    # classes dropped their rows of parameters, if the penalty's S or the
    # mean weight were those of the batch instead of the stream, or if the
    # momentum were reset between calls.
    W, b = _reference_stream([(X[p], y[p], sw[p]) for p in parts], 3)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(
        clf.predict(X), np.array(["cat", "dog", "emu"])[np.argmax(X @ W.T + b, axis=1)]
    )


def test_single_row_and_single_class_batches():
    X, y = _data(k=2)
    clf = _sgd()
    clf.partial_fit(X[:1], y[:1], classes=[0, 1])
    # One update from zero on one row: the softmax gradient is (p - t) [x, 1]
    # with p = (1/2, 1/2) and no penalty at W = 0, so the logit difference
    # moves by eta0 * (+-1) [x, 1] towards the row's label (sign errors or
    # the binary row taken as one softmax row instead of their difference
    # fail here); then the proximal step of the binary penalty, 2 / C over
    # S = 1 row, at the momentum's step eta0 / (1 - 0.9), divides W by 1 + 6.
    sign = 1.0 if y[0] == 1 else -1.0
    np.testing.assert_allclose(clf.coef_, sign * 0.3 / 7 * X[:1], rtol=1e-12)
    np.testing.assert_allclose(clf.intercept_, [sign * 0.3], rtol=1e-12)
    ones = X[y == 1][:10]
    clf.partial_fit(ones, np.ones(10, dtype=int))
    assert clf.coef_.shape == (1, 6) and clf.t_ == 2
    # The batch of class 1 only: exactly the reference's step, with the
    # penalty of the binary case (2 / C) over S = 11 rows, the mean weight
    # over both calls and the momentum of the first step carried over.
    W, b = _reference_stream(
        [(X[:1], y[:1], np.ones(1)), (ones, np.ones(10, dtype=int), np.ones(10))], 2
    )
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-14)


def test_float32_and_sparse():
    X, y = _data()
    X[np.abs(X) < 0.5] = 0.0
    dense = _sgd(shuffle=False).partial_fit(X, y, classes=[0, 1, 2])
    csr = _sgd(shuffle=False).partial_fit(sp.csr_matrix(X), y, classes=[0, 1, 2])
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    single = _sgd(shuffle=False).partial_fit(X.astype(np.float32), y, classes=[0, 1, 2])
    assert single.coef_.dtype == np.float32 and single.intercept_.dtype == np.float32
    assert single.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(single.coef_, dense.coef_, rtol=1e-4, atol=1e-5)
    sparse32 = _sgd().partial_fit(
        sp.csr_matrix(X, dtype=np.float32), y, classes=[0, 1, 2]
    )
    assert sparse32.coef_.dtype == np.float32


def test_class_weight():
    X, y = _data()
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        _sgd(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    weighted = _sgd(class_weight={0: 3.0}).partial_fit(X, y, classes=[0, 1, 2])
    sw = np.where(y == 0, 3.0, 1.0)
    explicit = _sgd().partial_fit(X, y, classes=[0, 1, 2], sample_weight=sw)
    np.testing.assert_array_equal(weighted.coef_, explicit.coef_)


def test_lbfgs_model_can_be_continued():
    X, y = _data()
    clf = SoftmaxClassifier(max_iter=500).fit(X, y)
    coef = clf.coef_.copy()
    clf.set_params(solver="sgd", eta0=1e-4).partial_fit(X, y)
    assert clf.n_iter_ == 1
    np.testing.assert_allclose(clf.coef_, coef, atol=1e-2)


def test_out_of_core_stream_matches_full_fit(tmp_path):
    # 40 000 x 20, 5 classes, written to .npy and read back memory-mapped in
    # chunks of 2 000 rows; three passes over the stream.
    rng = np.random.default_rng(0)
    n, d, k = 40_000, 20, 5
    X = rng.standard_normal((n, d))
    Z = X @ rng.standard_normal((k, d)).T
    y = np.argmax(Z + rng.gumbel(size=Z.shape), axis=1)
    np.save(tmp_path / "X.npy", X[:30_000])
    np.save(tmp_path / "y.npy", y[:30_000])
    X_test, y_test = X[30_000:], y[30_000:]
    del X
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    y_map = np.load(tmp_path / "y.npy", mmap_mode="r")
    clf = _sgd()
    for _ in range(3):
        for start in range(0, X_map.shape[0], 2_000):
            clf.partial_fit(
                X_map[start : start + 2_000],
                y_map[start : start + 2_000],
                classes=np.arange(k),
            )
    full = SoftmaxClassifier(max_iter=1000).fit(np.asarray(X_map), np.asarray(y_map))
    acc_stream, acc_full = clf.score(X_test, y_test), full.score(X_test, y_test)
    assert acc_full > 0.6
    assert abs(acc_stream - acc_full) < 0.01
    assert clf.n_iter_ == 45


def test_dask_ml_incremental():
    dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
    da = pytest.importorskip("dask.array")
    X, y = _data(n=2000, d=8, k=3)
    dX = da.from_array(X, chunks=(500, 8))
    dy = da.from_array(y, chunks=500)
    inc = dask_ml_wrappers.Incremental(_sgd(), scoring="accuracy", shuffle_blocks=False)
    inc.fit(dX, dy, classes=[0, 1, 2])
    assert inc.estimator_.n_iter_ == 4
    assert inc.score(dX, dy) > 0.7
    proba = inc.predict_proba(dX).compute()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_classes_parameter_replaces_the_argument():
    X, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    first, rest = y == 0, y != 0
    clf = _sgd(classes=["c", "a", "b"]).partial_fit(X[first], labels[first])
    assert clf.classes_.tolist() == ["a", "b", "c"]
    # The parameter acts exactly as the argument would, on the first call and
    # on the calls that continue it.
    arg = _sgd().partial_fit(X[first], labels[first], classes=["b", "c", "a"])
    np.testing.assert_array_equal(clf.coef_, arg.coef_)
    np.testing.assert_array_equal(clf.intercept_, arg.intercept_)
    # The batch holds class "a" only: "b" and "c" receive identical updates, so
    # their rows stay equal (fails if the batch's labels were encoded against
    # the unsorted parameter, putting the mass on another row).
    np.testing.assert_array_equal(clf.coef_[1], clf.coef_[2])
    assert np.all(clf.coef_[0] != clf.coef_[1])
    W, b = _reference_stream([(X[first], y[first], np.ones(first.sum()))], 3)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-14)
    clf.partial_fit(X[rest], labels[rest])
    arg.partial_fit(X[rest], labels[rest])
    np.testing.assert_array_equal(clf.coef_, arg.coef_)
    W, b = _reference_stream([(X[m], y[m], np.ones(m.sum())) for m in (first, rest)], 3)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-13)


def test_pickled_state_continues_identically():
    import pickle

    X, y = _data()
    clf = _sgd(learning_rate="adam").partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    copy = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[200:], y[200:])
    copy.partial_fit(X[200:], y[200:])
    np.testing.assert_array_equal(clf.coef_, copy.coef_)
    assert clf.t_ == copy.t_


def test_verbose_prints_one_line_per_call(capsys):
    X, y = _data()
    clf = _sgd(verbose=1)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[-1].startswith("SGD partial_fit call    3")


def test_zero_weight_first_batch_changes_nothing():
    X, y = _data()
    with pytest.raises(ValueError, match="at least one non-zero"):
        _sgd().partial_fit(X, y, classes=[0, 1, 2], sample_weight=np.zeros(len(y)))
    # Class weights can still zero a whole batch: it makes no update.
    clf = _sgd(class_weight={0: 0.0})
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    assert clf.t_ == 0 and np.isnan(clf.loss_curve_[0])
    np.testing.assert_array_equal(clf.coef_, 0.0)
    clf.partial_fit(X, y)
    assert clf.t_ == 13 and np.all(np.isfinite(clf.coef_))


def test_partial_fit_with_probability_targets_matches_expanded_labels():
    # One full-batch pass on probability targets equals one full-batch pass on
    # the dataset expanded to one weighted row per (row, class).
    rng = np.random.default_rng(7)
    X = rng.standard_normal((24, 3))
    Y = rng.dirichlet(np.ones(3), size=24)
    params = dict(solver="sgd", batch_size=24 * 3, shuffle=False, random_state=0)
    soft = SoftmaxClassifier(**params)
    soft.partial_fit(X, Y)
    X_rep = np.repeat(X, 3, axis=0)
    y_rep = np.tile(np.arange(3), 24)
    hard = SoftmaxClassifier(**params)
    hard.partial_fit(X_rep, y_rep, classes=[0, 1, 2], sample_weight=Y.ravel())
    np.testing.assert_array_equal(soft.classes_, [0, 1, 2])
    np.testing.assert_allclose(soft.coef_, hard.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(soft.intercept_, hard.intercept_, atol=1e-12)


def test_partial_fit_probability_targets_follow_given_class_order():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((40, 3))
    Y = rng.dirichlet(np.ones(2), size=40)
    a = SoftmaxClassifier(solver="sgd", shuffle=False).partial_fit(
        X, Y, classes=["yes", "no"]
    )
    b = SoftmaxClassifier(solver="sgd", shuffle=False).partial_fit(
        X, Y[:, ::-1], classes=["no", "yes"]
    )
    np.testing.assert_array_equal(a.classes_, ["no", "yes"])
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-12)
    # Later calls without classes read the columns in classes_ order.
    a.partial_fit(X, Y[:, ::-1])
    b.partial_fit(X, Y[:, ::-1])
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-12)
    with pytest.raises(ValueError, match="sum to 1"):
        a.partial_fit(X, np.ones((40, 2)))


def test_defaults_stream_digits_within_a_point_of_the_full_fit():
    # digits / 16, C=1, fixed split (test_size=0.25, random_state=0): 30
    # passes of 20 chunks with the defaults (eta0=0.3, averaged) reach a
    # held-out accuracy of 0.962..0.969 (seeds 0-4) against 0.962 for the
    # full L-BFGS fit; the former defaults (eta0=0.01, no average) reached
    # 0.949..0.958.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=0
    )
    full = SoftmaxClassifier(max_iter=1000).fit(X_train, y_train)
    acc_full = full.score(X_test, y_test)
    chunks = np.array_split(np.arange(len(y_train)), 20)
    for seed in (0, 1):
        clf = SoftmaxClassifier(solver="sgd", random_state=seed)
        for _ in range(30):
            for rows in chunks:
                clf.partial_fit(X_train[rows], y_train[rows], classes=np.arange(10))
        acc = clf.score(X_test, y_test)
        assert acc >= 0.96 and acc >= acc_full - 0.01, (seed, acc, acc_full)
    # The average is carried by the state: the model is not the iterate.
    P = clf._sgd_state["params"]
    A = clf._sgd_state["optimizer"]["average_params"]
    assert not np.allclose(P, A)
