"""The estimator inside scikit-learn's machinery."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.datasets import load_digits, load_iris
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier


def test_pipeline_grid_search_parallel_and_pickle():
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(max_iter=300))
    search = GridSearchCV(
        pipe, {"softmaxclassifier__C": [0.01, 0.1, 1.0]}, cv=3, n_jobs=2
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9
    clone = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(
        clone.predict_proba(X), search.best_estimator_.predict_proba(X)
    )
    # The serial search finds the same scores: workers' thread count is irrelevant.
    serial = GridSearchCV(pipe, {"softmaxclassifier__C": [0.01, 0.1, 1.0]}, cv=3)
    serial.fit(X, y)
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_pickle_round_trip_is_exact():
    X, y = load_iris(return_X_y=True)
    clf = SoftmaxClassifier(max_iter=500).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    for name in ("coef_", "intercept_", "classes_"):
        np.testing.assert_array_equal(getattr(clone, name), getattr(clf, name))
    np.testing.assert_array_equal(clone.predict_log_proba(X), clf.predict_log_proba(X))


def test_pandas_feature_names():
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = SoftmaxClassifier(max_iter=500).fit(X, y)
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns.to_numpy())
    assert clf.n_features_in_ == 4
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X.to_numpy())
    renamed = X.rename(columns={X.columns[0]: "other"})
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(renamed)
    # String labels in a Series whose index is not 0..n-1, and a categorical
    # whose categories are not sorted: both fit bitwise the model of the
    # integer codes of the sorted labels (setosa -> "c" is code 2), and
    # predict those labels. Fails on label-based indexing of the Series, on
    # classes ordered by appearance or by category order, or on probability
    # columns that do not follow classes_.
    names = np.array(["c", "a", "b"])
    codes = np.array([2, 0, 1])[y.to_numpy()]
    index = np.random.default_rng(0).permutation(len(y))
    reference = SoftmaxClassifier(max_iter=500).fit(X, codes)
    for labels in (
        pd.Series(names[y.to_numpy()], index=index),
        pd.Series(pd.Categorical(names[y.to_numpy()], categories=names)),
    ):
        fitted = SoftmaxClassifier(max_iter=500).fit(X, labels)
        np.testing.assert_array_equal(fitted.classes_, ["a", "b", "c"])
        np.testing.assert_array_equal(fitted.coef_, reference.coef_)
        np.testing.assert_array_equal(fitted.intercept_, reference.intercept_)
        np.testing.assert_array_equal(
            fitted.predict(X), fitted.classes_[reference.predict(X)]
        )
        np.testing.assert_array_equal(
            fitted.predict_proba(X), reference.predict_proba(X)
        )
        assert fitted.score(X, labels.to_numpy()) == reference.score(X, codes) > 0.95


def test_metadata_routing_of_sample_weight():
    X, y = load_iris(return_X_y=True)
    sw = np.random.default_rng(0).uniform(0.1, 2.0, y.shape[0])
    with sklearn.config_context(enable_metadata_routing=True):
        est = SoftmaxClassifier(max_iter=500).set_fit_request(sample_weight=True)
        est.set_score_request(sample_weight=True)
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, est)
        routed = cross_validate(pipe, X, y, params={"sample_weight": sw}, cv=3)
        pipe.fit(X, y, sample_weight=sw)
    direct = make_pipeline(StandardScaler(), SoftmaxClassifier(max_iter=500))
    direct.fit(X, y, softmaxclassifier__sample_weight=sw)
    np.testing.assert_array_equal(pipe[-1].coef_, direct[-1].coef_)
    assert np.all(routed["test_score"] > 0.8)
