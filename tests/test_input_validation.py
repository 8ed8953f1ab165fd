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


def _raises_untouched(
    match, X=X_IRIS, y=Y_IRIS, sample_weight=None, partial=False, **params
):
    """Fit (or partial_fit) must raise ``match`` and leave every input as it was."""
    inputs = [a for a in (X, y, sample_weight) if a is not None]
    before = [np.array(a, copy=True) for a in inputs]
    # repr compares NaN values equal; the dict holds scalars only.
    params_before = repr(params)
    clf = SoftmaxClassifier(**params)
    with pytest.raises(ValueError, match=match):
        if partial:
            clf.partial_fit(X, y, classes=np.unique(y), sample_weight=sample_weight)
        else:
            clf.fit(X, y, sample_weight=sample_weight)
    for old, new in zip(before, inputs, strict=True):
        np.testing.assert_array_equal(old, new)
    assert repr(params) == params_before


@pytest.mark.parametrize("partial", [False, True])
def test_sample_weight_whose_sum_overflows(partial):
    # Every weight is finite, their sum is not: the objective would divide by
    # inf and the solver stop at once with a zero model.
    sw = np.full(X_IRIS.shape[0], 1e307)
    with np.errstate(over="ignore"):
        assert np.isinf(sw.sum())
    _raises_untouched(
        r"The sum of sample_weight overflows float64 \(it is inf; the largest "
        r"weight is 1e\+307\)\. Divide sample_weight .* multiply C by m",
        sample_weight=sw,
        partial=partial,
        solver="sgd" if partial else "lbfgs",
    )


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_sample_weight(bad, match):
    sw = np.ones(X_IRIS.shape[0])
    sw[7] = bad
    _raises_untouched(f"Input sample_weight contains {match}", sample_weight=sw)


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({0: -1.0}, r"class 0 has the weight -1\.0\."),
        # Negative, yet the total stays positive: refused all the same.
        ({0: -0.5, 1: 1.0, 2: 1.0}, r"class 0 has the weight -0\.5\."),
        ({2: np.nan}, r"class 2 has the weight nan\."),
        ({1: np.inf}, r"class 1 has the weight inf\."),
        ({1: -np.inf}, r"class 1 has the weight -inf\."),
    ],
)
def test_class_weight_must_be_finite_and_non_negative(class_weight, match):
    _raises_untouched(
        "class_weight must be finite and non-negative, but " + match,
        class_weight=class_weight,
    )


def test_class_weight_values_must_be_numbers():
    _raises_untouched(
        "The values of class_weight must be real numbers; class 1 has 'heavy'",
        class_weight={0: 1.0, 1: "heavy"},
    )


def test_class_weights_that_zero_the_total():
    _raises_untouched(
        "with class weights folded in sum to 0: every sample with positive "
        "sample_weight has its target on classes whose class_weight is 0",
        class_weight={0: 0.0, 1: 0, 2: 0.0},
    )
    # Zero weights on the classes that carry the sample weight.
    sw = (Y_IRIS == 0).astype(float) + (Y_IRIS == 1)
    _raises_untouched(
        "sum to 0", sample_weight=sw, class_weight={0: 0.0, 1: 0.0, 2: 5.0}
    )


def test_class_weights_whose_products_overflow_or_underflow():
    sw = np.full(X_IRIS.shape[0], 1e300)
    _raises_untouched(
        r"The weight of row 0, sample_weight 1e\+300 times its class weight "
        r"10000000000\.0, overflows float64",
        sample_weight=sw,
        class_weight={0: 1e10},
    )
    # Every product is finite, their sum is not.
    sw = np.full(X_IRIS.shape[0], 1e306)
    _raises_untouched(
        "The sum of the sample weights with class weights folded in overflows float64",
        sample_weight=sw,
        class_weight={0: 100.0},
    )
    sw = np.full(X_IRIS.shape[0], 1e-100)
    _raises_untouched(
        r"row 0, sample_weight 1e-100 times its class weight 1e-300, underflows "
        "to 0 in float64 and the row would be dropped",
        sample_weight=sw,
        class_weight={0: 1e-300, 1: 1.0, 2: 1.0},
    )


def test_balanced_class_weight_out_of_range():
    # Class 2 weighs 5e-318 against a total of 100: 1 / (3 * 5e-320) is inf.
    sw = np.where(Y_IRIS == 2, 1e-319, 1.0)
    _raises_untouched(
        "class_weight='balanced' gives class 2 an infinite weight: its weight "
        "in the data, .* is too small against the total 100\\.",
        sample_weight=sw,
        class_weight="balanced",
    )


def test_probability_target_mass_overflow():
    # Rows may sum to 1 + 1e-6: the class masses overflow although the sum
    # of the weights is finite.
    big = np.finfo(np.float64).max * (1 - 2e-7)
    sw = np.array([big / 2, big / 2])
    assert np.isfinite(sw.sum())
    Y = np.array([[0.5 + 5e-7, 0.5], [0.5, 0.5 + 5e-7]])
    _raises_untouched(
        "The sum of sample_weight times the probability targets y overflows float64",
        X=X_IRIS[:2],
        y=Y,
        sample_weight=sw,
    )


def test_class_weight_keys_that_are_not_classes_follow_logistic_regression():
    # LogisticRegression (scikit-learn 1.9) ignores keys that are not classes
    # when every class has a weight, and refuses them otherwise.
    from sklearn.linear_model import LogisticRegression

    full = {0: 1.0, 1: 2.0, 2: 3.0}
    extra = {**full, 7: 5.0, "x": -1.0}
    np.testing.assert_array_equal(
        _fit(class_weight=extra).coef_, _fit(class_weight=full).coef_
    )
    partial = {0: 2.0, 7: 1.0}
    with pytest.raises(ValueError) as lr_error:
        LogisticRegression(class_weight=partial).fit(X_IRIS, Y_IRIS)
    assert "The classes, [1, 2], are not in class_weight" in str(lr_error.value)
    _raises_untouched(
        "The classes, \\[1, 2\\], are not in class_weight", class_weight=partial
    )
    # A dict naming only some classes and nothing else: the rest weigh 1.
    np.testing.assert_array_equal(
        _fit(class_weight={0: 2.0}).coef_,
        _fit(class_weight={0: 2.0, 1: 1.0, 2: 1.0}).coef_,
    )
