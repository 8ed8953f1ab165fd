"""Bad input gets a clear error; good input of every kind works, untouched."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sklearn_softmax import SoftmaxClassifier

X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def _fit(X=X_IRIS, y=Y_IRIS, **params):
    return SoftmaxClassifier(**{"max_iter": 500, **params}).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X_in_fit_and_predict(bad):
    X = X_IRIS.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        SoftmaxClassifier().fit(X, Y_IRIS)
    clf = _fit()
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict_proba(X)


def test_one_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        SoftmaxClassifier().fit(X_IRIS[:10], np.zeros(10))


def test_continuous_targets():
    with pytest.raises(ValueError, match="Unknown label type"):
        SoftmaxClassifier().fit(X_IRIS, np.linspace(0, 1, X_IRIS.shape[0]))


def test_length_mismatch():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SoftmaxClassifier().fit(X_IRIS, Y_IRIS[:-1])


def test_sample_weight_errors():
    sw = np.ones(X_IRIS.shape[0])
    sw[0] = -1
    with pytest.raises(ValueError, match="[Nn]egative"):
        SoftmaxClassifier().fit(X_IRIS, Y_IRIS, sample_weight=sw)
    with pytest.raises(ValueError, match="non-zero"):
        SoftmaxClassifier().fit(X_IRIS, Y_IRIS, sample_weight=np.zeros_like(sw))
    only_one = (Y_IRIS == 0).astype(float)
    with pytest.raises(ValueError, match="at least 2 classes with positive"):
        SoftmaxClassifier().fit(X_IRIS, Y_IRIS, sample_weight=only_one)
    with pytest.raises(ValueError, match="sample_weight.shape"):
        SoftmaxClassifier().fit(X_IRIS, Y_IRIS, sample_weight=sw[:5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"C": 0}, "'C' parameter"),
        ({"C": -1.0}, "'C' parameter"),
        ({"max_iter": -1}, "'max_iter' parameter"),
        ({"tol": -1e-3}, "'tol' parameter"),
        ({"solver": "newton"}, "'solver' parameter"),
        ({"class_weight": "auto"}, "'class_weight' parameter"),
        ({"n_jobs": 1.5}, "'n_jobs' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SoftmaxClassifier(**params).fit(X_IRIS, Y_IRIS)


def test_n_jobs_zero():
    with pytest.raises(ValueError, match="n_jobs == 0"):
        SoftmaxClassifier(n_jobs=0).fit(X_IRIS, Y_IRIS)


def test_wrong_number_of_features_and_empty_input():
    clf = _fit()
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_IRIS[:, :3])
    with pytest.raises(ValueError, match="0 sample"):
        SoftmaxClassifier().fit(np.empty((0, 4)), [])
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict(np.empty((0, 4)))


def test_not_fitted():
    with pytest.raises(NotFittedError):
        SoftmaxClassifier().predict(X_IRIS)


def test_callers_arrays_are_untouched():
    X = np.asfortranarray(X_IRIS.copy())
    y = Y_IRIS.copy()
    sw = np.linspace(0.5, 1.5, X.shape[0])
    copies = X.copy(), y.copy(), sw.copy()
    clf = SoftmaxClassifier(class_weight="balanced", max_iter=500).fit(
        X, y, sample_weight=sw
    )
    clf.predict_proba(X)
    for before, after in zip(copies, (X, y, sw), strict=True):
        np.testing.assert_array_equal(before, after)
    assert X.flags.f_contiguous


def test_layouts_and_read_only_arrays_give_the_same_model():
    ref = _fit()
    X_f = np.asfortranarray(X_IRIS)
    X_ro = X_IRIS.copy()
    X_ro.flags.writeable = False
    X_csc = sp.csc_matrix(X_IRIS)
    X_list = X_IRIS.tolist()
    X_int = (X_IRIS * 10).astype(np.int64)
    for X in (X_f, X_ro, X_list):
        np.testing.assert_array_equal(_fit(X).coef_, ref.coef_)
    # Sparse products round differently: compare at a tight optimum.
    tight = _fit(tol=1e-10, max_iter=5000).coef_
    np.testing.assert_allclose(
        _fit(X_csc, tol=1e-10, max_iter=5000).coef_, tight, atol=1e-5
    )
    assert _fit(X_int).coef_.dtype == np.float64
    np.testing.assert_array_equal(ref.predict_proba(X_ro), ref.predict_proba(X_IRIS))


def test_convergence_warning_and_verbose(capsys):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        SoftmaxClassifier(max_iter=2).fit(X_IRIS, Y_IRIS)
    SoftmaxClassifier(max_iter=3, verbose=1).fit(X_IRIS, Y_IRIS)
    out = capsys.readouterr().out
    assert out.count("objective") == 3 and "|grad|" in out


def test_warm_start_resumes():
    cold = SoftmaxClassifier(tol=1e-8, max_iter=1000).fit(X_IRIS, Y_IRIS)
    warm = SoftmaxClassifier(tol=1e-8, max_iter=1000, warm_start=True)
    warm.fit(X_IRIS, Y_IRIS)
    first = warm.n_iter_
    warm.fit(X_IRIS, Y_IRIS)
    assert warm.n_iter_ < first / 4
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-5)
    yb = (Y_IRIS == 1).astype(int)
    wb = SoftmaxClassifier(warm_start=True, tol=1e-8, max_iter=1000).fit(X_IRIS, yb)
    n0 = wb.n_iter_
    wb.fit(X_IRIS, yb)
    assert wb.n_iter_ < n0 / 4


def test_predictions_are_consistent():
    clf = _fit()
    proba = clf.predict_proba(X_IRIS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_IRIS), clf.classes_[proba.argmax(1)])
    assert clf.score(X_IRIS, Y_IRIS) > 0.95
    np.testing.assert_allclose(clf.coef_.sum(axis=0), 0.0, atol=1e-12)
