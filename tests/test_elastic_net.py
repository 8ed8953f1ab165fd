"""L1 and elastic-net penalties: parity with saga, optimality, exact zeros."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

DATA = Path(__file__).parent / "data"
TIGHT = dict(tol=1e-10, max_iter=20000)


def _effective_weights(y, classes, sample_weight, class_weight):
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    if class_weight == "balanced":
        mass = np.array([sw[y == c].sum() for c in classes])
        class_weight = dict(zip(classes, sw.sum() / (len(classes) * mass), strict=True))
    if class_weight is not None:
        sw = sw * np.array([class_weight[c] for c in y])
    return sw


def _model_on_data(X, y, coef, intercept, sample_weight, class_weight):
    """Dense float64 X, the model, class indices, weights, their sum and logits."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    coef, intercept = np.asarray(coef, float), np.asarray(intercept, float)
    classes = np.unique(y)
    sw = _effective_weights(y, classes, sample_weight, class_weight)
    return (
        X,
        coef,
        classes,
        np.searchsorted(classes, y),
        sw,
        sw.sum(),
        X @ coef.T + intercept,
    )


def lr_objective(X, y, coef, intercept, C, r, sample_weight=None, class_weight=None):
    """Objective of LogisticRegression at ``(coef_, intercept_)``, by definition."""
    X, coef, classes, yi, sw, S, Z = _model_on_data(
        X, y, coef, intercept, sample_weight, class_weight
    )
    if coef.shape[0] == 1:
        z = Z[:, 0]
        loss = np.logaddexp(0, z) - (yi == 1) * z
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), yi]
    pen = r * np.abs(coef).sum() + 0.5 * (1 - r) * np.sum(coef**2)
    return float(sw @ loss / S + pen / (C * S))


def kkt_violation(
    X,
    y,
    coef,
    intercept,
    C,
    r,
    sample_weight=None,
    class_weight=None,
    eps=0.0,
    fit_intercept=True,
):
    """Largest violation of the optimality conditions of the objective at a model.

    ``eps`` is the label smoothing (multiclass only here).
    """
    X, coef, classes, yi, sw, S, Z = _model_on_data(
        X, y, coef, intercept, sample_weight, class_weight
    )
    if coef.shape[0] == 1:
        R = (expit(Z[:, 0]) - (yi == 1))[:, None]
    else:
        P = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
        K = len(classes)
        R = P - ((1 - eps) * np.eye(K)[yi] + eps / K)
    R *= sw[:, None] / S
    G = R.T @ X + (1 - r) * coef / (C * S)
    lam = r / (C * S)
    nz = coef != 0
    viol = np.where(nz, np.abs(G + lam * np.sign(coef)), np.maximum(np.abs(G) - lam, 0))
    intercept_viol = float(np.abs(R.sum(axis=0)).max()) if fit_intercept else 0.0
    return max(float(viol.max()), intercept_viol)


def _scaled(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _weighted():
    X, y = datasets.make_classification(
        n_samples=400, n_features=12, n_informative=6, n_classes=3, random_state=1
    )
    sw = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    return X, y, dict(sample_weight=sw)


def _class_weighted():
    X, y = datasets.make_classification(
        n_samples=400, n_features=12, n_informative=6, n_classes=3, random_state=2
    )
    # Three classes: with an even number of classes the pure L1 optimum is
    # not unique (any shift of a column between its two middle entries has
    # the same L1 norm), and neither is its set of zeros.
    return X, y, dict(class_weight={0: 0.5, 1: 2.0, 2: 3.0})


def _csr():
    rng = np.random.default_rng(3)
    X = sp.random(500, 60, density=0.15, format="csr", random_state=3) * 3.0
    w = rng.normal(size=(60, 3))
    y = np.argmax(X @ w + rng.gumbel(size=(500, 3)), axis=1)
    return X, y, {}


def _float32():
    X, y = datasets.make_classification(
        n_samples=400, n_features=10, n_informative=6, n_classes=3, random_state=4
    )
    return X.astype(np.float32), y, {}


CASES = {
    "iris": lambda: (*_scaled(datasets.load_iris), {}),
    "wine": lambda: (*_scaled(datasets.load_wine), {}),
    "breast_cancer": lambda: (*_scaled(datasets.load_breast_cancer), {}),
    "sample_weight": _weighted,
    "class_weight": _class_weighted,
    "csr": _csr,
    "float32": _float32,
}


def _fit_pair(X, y, C, r, extra):
    sw = extra.get("sample_weight")
    cw = extra.get("class_weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        saga = LogisticRegression(
            solver="saga",
            l1_ratio=r,
            C=C,
            tol=1e-8,
            max_iter=100000,
            class_weight=cw,
            random_state=0,
        ).fit(X, y, sample_weight=sw)
    ours = SoftmaxClassifier(C=C, l1_ratio=r, class_weight=cw, **TIGHT).fit(
        X, y, sample_weight=sw
    )
    return saga, ours


def _check_against_saga(X, y, C, r, extra, saga_coef, saga_intercept, saga_proba, ours):
    sw, cw = extra.get("sample_weight"), extra.get("class_weight")
    f_saga = lr_objective(X, y, saga_coef, saga_intercept, C, r, sw, cw)
    f_ours = lr_objective(X, y, ours.coef_, ours.intercept_, C, r, sw, cw)
    assert f_ours <= f_saga * (1 + 1e-7), (f_ours, f_saga)
    # float32: both solvers compute in float32 and each lies up to 1e-4 from
    # the float64 optimum (measured 0.6e-4 for saga, 1.0e-4 for ours).
    atol = 2e-4 if X.dtype == np.float32 else 1e-4
    np.testing.assert_array_less(np.abs(ours.predict_proba(X) - saga_proba), atol)
    # Where saga has converged (its objective within 1e-9 of ours) the two
    # solutions must agree on which coefficients are exactly zero.
    if f_saga - f_ours < 1e-9 * abs(f_ours):
        np.testing.assert_array_equal(ours.coef_ == 0, saga_coef == 0)
    assert (ours.coef_ == 0).any(), "an L1 fit of these problems has exact zeros"
    # The fits stop on the relative decrease of the objective (64 ulp), with
    # the minimum-norm subgradient between 1e-9 and 1e-7.
    tol = 1e-4 if X.dtype == np.float32 else 1e-6
    assert kkt_violation(X, y, ours.coef_, ours.intercept_, C, r, sw, cw) < tol


@pytest.mark.parametrize("r", [0.5, 1.0])
@pytest.mark.parametrize("case", list(CASES))
def test_same_model_as_saga(case, r):
    X, y, extra = CASES[case]()
    C = 0.5
    saga, ours = _fit_pair(X, y, C, r, extra)
    _check_against_saga(
        X, y, C, r, extra, saga.coef_, saga.intercept_, saga.predict_proba(X), ours
    )
    assert ours.coef_.dtype == X.dtype


@pytest.mark.parametrize("r", [0.5, 1.0])
def test_same_model_as_saga_on_digits(r):
    # saga needs minutes on digits at tol=1e-8 (10,000 to 26,000 epochs), so
    # its solution is stored (tests/data, made by scikit-learn 1.9.1).
    X, y = _scaled(datasets.load_digits)
    ref = np.load(DATA / "saga_digits_C0.5.npz")
    coef, intercept = ref[f"coef_{r}"], ref[f"intercept_{r}"]
    Z = X @ coef.T + intercept
    proba = np.exp(Z - logsumexp(Z, axis=1, keepdims=True))
    ours = SoftmaxClassifier(C=0.5, l1_ratio=r, **TIGHT).fit(X, y)
    _check_against_saga(X, y, 0.5, r, {}, coef, intercept, proba, ours)


@pytest.mark.parametrize("r", [0.3, 1.0])
@pytest.mark.parametrize(
    "params",
    [
        dict(label_smoothing=0.1),
        dict(fit_intercept=False),
        dict(class_weight="balanced"),
    ],
    ids=["label_smoothing", "no_intercept", "balanced"],
)
def test_composes_and_is_optimal(params, r):
    # No saga reference for these options: the optimality conditions of the
    # objective, computed from the model and the data alone, decide.
    X, y = _scaled(datasets.load_wine)
    keep = np.r_[0:40, 59:150, 130:178]  # unequal class sizes for "balanced"
    X, y = X[keep], y[keep]
    ours = SoftmaxClassifier(C=0.3, l1_ratio=r, **TIGHT, **params).fit(X, y)
    assert (ours.coef_ == 0).any()
    if not params.get("fit_intercept", True):
        assert np.all(ours.intercept_ == 0)
    viol = kkt_violation(
        X,
        y,
        ours.coef_,
        ours.intercept_,
        0.3,
        r,
        class_weight=params.get("class_weight"),
        eps=params.get("label_smoothing", 0.0),
        fit_intercept=params.get("fit_intercept", True),
    )
    assert viol < 1e-6


def test_l1_ratio_zero_is_the_l2_fit_bitwise():
    X, y = _scaled(datasets.load_wine)
    a = SoftmaxClassifier(C=0.3).fit(X, y)
    b = SoftmaxClassifier(C=0.3, l1_ratio=0.0).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.n_iter_ == b.n_iter_
    # L2 solutions stay centred over classes, L1 ones are not centred.
    np.testing.assert_allclose(a.coef_.sum(axis=0), 0, atol=1e-12)
    c = SoftmaxClassifier(C=0.3, l1_ratio=1.0).fit(X, y)
    assert np.abs(c.coef_.sum(axis=0)).max() > 1e-3


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("r", [0.5, 1.0])
def test_same_bits_for_any_n_jobs(r, sparse):
    # 600 rows x 120 features x 8 classes: several row chunks; the vector
    # passes of OWL-QN are parallel from 50,000 parameters, tested below.
    X, y = datasets.make_classification(
        n_samples=2000, n_features=120, n_informative=20, n_classes=8, random_state=0
    )
    if sparse:
        X[np.abs(X) < 1.0] = 0.0
        X = sp.csr_matrix(X)
    fits = [
        SoftmaxClassifier(C=0.1, l1_ratio=r, n_jobs=j, max_iter=60).fit(X, y)
        for j in (1, 2)
    ]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)


def test_same_bits_for_any_n_jobs_with_parallel_vector_passes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 500))
    y = rng.integers(0, 100, 1500)
    fits = [
        SoftmaxClassifier(C=0.05, l1_ratio=1.0, n_jobs=j, max_iter=15).fit(X, y)
        for j in (1, 2)
    ]
    assert fits[0].coef_.size >= 50_000
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)


def test_stronger_l1_gives_sparser_models():
    X, y = _scaled(datasets.load_wine)
    nnz = [
        np.count_nonzero(SoftmaxClassifier(C=C, l1_ratio=1.0, tol=1e-8).fit(X, y).coef_)
        for C in (0.01, 0.1, 1.0)
    ]
    assert nnz[0] < nnz[1] < nnz[2]
    # Strong enough, every coefficient is zero and only intercepts remain.
    tiny = SoftmaxClassifier(C=1e-4, l1_ratio=1.0, **TIGHT).fit(X, y)
    assert np.all(tiny.coef_ == 0)
    freq = np.bincount(y) / len(y)
    np.testing.assert_allclose(tiny.predict_proba(X[:1])[0], freq, atol=1e-6)


def test_verbose_and_convergence_warning(capsys):
    X, y = _scaled(datasets.load_digits)
    with pytest.warns(ConvergenceWarning, match="PSEUDO-GRADIENT|ITERATIONS"):
        SoftmaxClassifier(C=1.0, l1_ratio=1.0, max_iter=3, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("L-BFGS iter") == 3


@pytest.mark.parametrize("sparse", [False, True])
def test_sgd_with_l1_reaches_exact_zeros_near_the_optimum(sparse):
    X, y = _scaled(datasets.load_wine)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.3, 0.0, X))
    exact = SoftmaxClassifier(C=0.2, l1_ratio=1.0, **TIGHT).fit(X, y)
    sgd = SoftmaxClassifier(
        C=0.2, l1_ratio=1.0, solver="sgd", max_iter=300, random_state=0, tol=1e-7
    ).fit(X, y)
    assert (sgd.coef_ == 0).sum() >= 0.5 * (exact.coef_ == 0).sum() > 0
    f_exact = lr_objective(X, y, exact.coef_, exact.intercept_, 0.2, 1.0)
    f_sgd = lr_objective(X, y, sgd.coef_, sgd.intercept_, 0.2, 1.0)
    assert f_exact <= f_sgd < f_exact + 1e-2


def test_partial_fit_with_l1_gives_exact_zeros():
    X, y = _scaled(datasets.load_wine)
    clf = SoftmaxClassifier(C=0.01, l1_ratio=1.0, solver="sgd", random_state=0)
    passes = 20
    for _ in range(passes):
        for chunk in np.array_split(np.arange(len(y)), 4):
            clf.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    # partial_fit divides the penalty by the weight of all rows passed so far
    # (passes x S): the objective of C * passes on the data once.
    C_eff = 0.01 * passes
    exact = SoftmaxClassifier(C=C_eff, l1_ratio=1.0, **TIGHT).fit(X, y)
    assert (clf.coef_ == 0).sum() >= 0.5 * (exact.coef_ == 0).sum() > 0
    f_exact = lr_objective(X, y, exact.coef_, exact.intercept_, C_eff, 1.0)
    f_pf = lr_objective(X, y, clf.coef_, clf.intercept_, C_eff, 1.0)
    # A constant learning rate leaves minibatch noise: near, not at, the optimum.
    assert f_exact <= f_pf < f_exact + 5e-2


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparsify_and_densify(n_classes):
    X, y = datasets.make_classification(
        n_samples=300,
        n_features=30,
        n_informative=4,
        n_classes=n_classes,
        random_state=0,
    )
    clf = SoftmaxClassifier(C=0.05, l1_ratio=1.0).fit(X, y)
    dense_coef = clf.coef_.copy()
    expected = {
        m: getattr(clf, m)(X)
        for m in ("predict", "predict_proba", "predict_log_proba", "decision_function")
    }
    assert clf.sparsify() is clf
    assert sp.issparse(clf.coef_)
    assert clf.coef_.nnz == np.count_nonzero(dense_coef)
    for m, v in expected.items():
        np.testing.assert_array_equal(getattr(clf, m)(X), v)
        # CSR input sums the products in another order: equal to rounding.
        np.testing.assert_allclose(getattr(clf, m)(sp.csr_matrix(X)), v, rtol=1e-12)
    assert clf.densify() is clf
    assert isinstance(clf.coef_, np.ndarray)
    np.testing.assert_array_equal(clf.coef_, dense_coef)
