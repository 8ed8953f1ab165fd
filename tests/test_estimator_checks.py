"""scikit-learn's estimator checks over representative configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_softmax import SoftmaxClassifier, SoftmaxClassifierCV

# LogisticRegression(fit_intercept=False) fails this check as well: without an
# intercept the toy problem's minority class cannot be favoured enough.
_NO_INTERCEPT_XFAIL = {
    "check_class_weight_classifiers": (
        "without an intercept the check's toy data cannot be separated as it "
        "expects; LogisticRegression(fit_intercept=False) fails it too"
    )
}

# Cs=3 is the grid (1e-4, 1, 1e4) and the check's well separated blobs pick
# C=1e4, whose large logits put float32 probabilities within 6e-8 of 1. The
# check compares predict_log_proba with np.log(predict_proba) to atol=1e-9:
# the log-softmax keeps log p = -3e-9 where the float32 p has rounded to 1 and
# its log to 0. SoftmaxClassifier(C=1e4) fails the float32 variant alike; the
# float64 variants pass (and xpass under this mark).
_LARGE_C_FLOAT32_XFAIL = {
    "check_classifiers_train": (
        "with the chosen C=1e4 predict_log_proba is more exact than the log of "
        "float32 probabilities rounded to 1 (differences of 3e-9 > atol=1e-9)"
    )
}

ESTIMATORS = [
    SoftmaxClassifier(),
    SoftmaxClassifier(fit_intercept=False),
    SoftmaxClassifier(C=0.01),
    SoftmaxClassifier(class_weight="balanced"),
    # SGD passes the sample-weight equivalence checks without an expected
    # failure because their data (15 rows, 27 when repeated) fit in one batch
    # of 32: both fits are then full-batch gradient descent on the same
    # objective. With several batches per epoch the trajectories differ.
    SoftmaxClassifier(solver="sgd", random_state=0),
    SoftmaxClassifier(solver="newton-cg"),
    SoftmaxClassifier(solver="newton-cg", fit_intercept=False, C=0.01),
    SoftmaxClassifier(solver="auto"),
    SoftmaxClassifier(l1_ratio=1.0),
    SoftmaxClassifier(l1_ratio=0.5, C=0.5),
    SoftmaxClassifierCV(Cs=3, cv=3),
    SoftmaxClassifierCV(Cs=3, cv=3, solver="auto"),
]


def _expected_failed_checks(estimator):
    if isinstance(estimator, SoftmaxClassifierCV):
        return _LARGE_C_FLOAT32_XFAIL
    if not estimator.fit_intercept:
        return _NO_INTERCEPT_XFAIL
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
