# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

"""
Comparison notebook: SoftmaxClassifier and multinomial LogisticRegression
=========================================================================

This notebook (jupytext percent format: open it in Jupyter with jupytext, or
download it as ``.ipynb`` from the documentation) fits scikit-learn's
multinomial ``LogisticRegression`` and ``SoftmaxClassifier`` with the same
settings on several datasets and compares objectives, probabilities,
coefficients and fit times; then it looks at float32 data, sample weights
and log-probabilities far from the data, and ends with the choice of ``C`` by
cross-validation (``SoftmaxClassifierCV`` and ``LogisticRegressionCV``).
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier, SoftmaxClassifierCV

# %% [markdown]
# The objective
# -------------
# Both estimators minimise the mean cross-entropy plus
# ``||coef_||^2 / (2 C n)`` (for two classes ``coef_`` is the single row of
# the logistic model). We compute it in NumPy from each fitted model to
# compare the optimum each solver reached.


# %%
def objective(clf, X, y, C):
    log_p = np.log(np.clip(clf.predict_proba(X), 1e-300, None))
    data = -log_p[np.arange(len(y)), np.searchsorted(clf.classes_, y)].mean()
    # Binary coef_ is the single row w; the penalty is ||w||^2 / (2 C n) in
    # both cases.
    return data + (clf.coef_**2).sum() / (2 * C * len(y))


def best_time(make, X, y, repeat=2):
    best = np.inf
    for _ in range(repeat):
        est = make()
        start = time.perf_counter()
        est.fit(X, y)
        best = min(best, time.perf_counter() - start)
    return est, best


# %% [markdown]
# Four datasets, same settings
# ----------------------------
# Features are standardised so that L-BFGS converges quickly. The first
# SoftmaxClassifier fit compiles its kernels, so we fit once before timing.

# %%
C, tol, max_iter = 1.0, 1e-6, 2000
rows = []
for name in ["iris", "wine", "digits", "breast_cancer"]:
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        SoftmaxClassifier(max_iter=2).fit(X, y)  # compile / load from cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning would be a bug here
        soft, t_soft = best_time(
            lambda: SoftmaxClassifier(C=C, tol=tol, max_iter=max_iter), X, y
        )
        logi, t_logi = best_time(
            lambda: LogisticRegression(C=C, tol=tol, max_iter=max_iter), X, y
        )
    f_soft, f_logi = objective(soft, X, y, C), objective(logi, X, y, C)
    rows.append(
        {
            "dataset": name,
            "n x d x K": f"{X.shape[0]} x {X.shape[1]} x {len(soft.classes_)}",
            "objective rel. diff": abs(f_soft - f_logi) / f_logi,
            "max |proba diff|": np.abs(
                soft.predict_proba(X) - logi.predict_proba(X)
            ).max(),
            "max |coef diff|": np.abs(soft.coef_ - logi.coef_).max(),
            "iterations": f"{soft.n_iter_[0]} / {logi.n_iter_[0]}",
            "fit time softmax (ms)": 1e3 * t_soft,
            "fit time logistic (ms)": 1e3 * t_logi,
        }
    )
table = pd.DataFrame(rows).set_index("dataset")
table  # noqa: B018 (displayed by Jupyter and sphinx-gallery)

# %% [markdown]
# With ``tol=1e-6`` the objectives agree to about 1e-10 relative and the
# probabilities to better than 1e-5 on every dataset, binary included.

# %%
assert (table["objective rel. diff"] < 1e-8).all(), table
assert (table["max |proba diff|"] < 1e-4).all(), table

# %% [markdown]
# Fit time as the data grow
# -------------------------
# On a synthetic 10-class problem, fit times for an increasing number of
# samples (both estimators converge to the same objective).

# %%
X_all, y_all = datasets.make_classification(
    n_samples=20_000,
    n_features=20,
    n_informative=15,
    n_classes=10,
    random_state=0,
)
X_all = StandardScaler().fit_transform(X_all)
sizes = [1_250, 5_000, 20_000]
t_soft, t_logi = [], []
for n in sizes:
    X, y = X_all[:n], y_all[:n]
    t_soft.append(best_time(lambda: SoftmaxClassifier(max_iter=500), X, y, 1)[1])
    t_logi.append(best_time(lambda: LogisticRegression(max_iter=500), X, y, 1)[1])

fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.loglog(sizes, t_soft, "o-", label="SoftmaxClassifier")
ax.loglog(sizes, t_logi, "s-", label="LogisticRegression")
ax.set_xlabel("n_samples (20 features, 10 classes)")
ax.set_ylabel("fit time (s)")
ax.legend()
pd.DataFrame(
    {
        "n_samples": sizes,
        "softmax (s)": t_soft,
        "logistic (s)": t_logi,
        "ratio": np.array(t_logi) / np.array(t_soft),
    }
)

# %% [markdown]
# float32 and sample weights
# --------------------------
# float32 data stay float32 (LogisticRegression converts them to float64), and
# sample weights enter both objectives the same way.

# %%
X, y = datasets.load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
soft32 = SoftmaxClassifier(max_iter=1000).fit(X.astype(np.float32), y)
soft_w = SoftmaxClassifier(max_iter=1000).fit(X, y, sample_weight=w)
logi_w = LogisticRegression(max_iter=1000).fit(X, y, sample_weight=w)
print("coef_ dtype with float32 input:", soft32.coef_.dtype)
print(
    "max |proba diff| with sample weights:",
    np.abs(soft_w.predict_proba(X) - logi_w.predict_proba(X)).max(),
)

# %% [markdown]
# Log-probabilities far from the data
# -----------------------------------
# Scaling a sample away from the data makes the largest logit dominate; the
# other probabilities underflow to 0 and their logarithms to ``-inf``.
# ``SoftmaxClassifier.predict_log_proba`` is a log-softmax and stays finite.

# %%
far = X[:1] * 300
with np.errstate(divide="ignore"):
    print("LogisticRegression predict_log_proba:", logi_w.predict_log_proba(far).min())
print("SoftmaxClassifier predict_log_proba:  ", soft_w.predict_log_proba(far).min())
assert np.isfinite(soft_w.predict_log_proba(far)).all()

# %% [markdown]
# Choosing C by cross-validation
# ------------------------------
# ``SoftmaxClassifierCV`` searches ``C`` as ``LogisticRegressionCV`` does
# (here with its ``use_legacy_attributes=False`` layout): the same grid, the
# same folds, the log-loss as score. Each fold walks the path from the
# strongest penalty to the weakest, warm-started. We compare the chosen
# ``C``, the best mean validation score and the fit times.

# %%
X, y = datasets.load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
Cs = np.logspace(-3, 2, 6)
cv = StratifiedKFold(n_splits=5)
soft_cv, t_soft_cv = best_time(
    lambda: SoftmaxClassifierCV(Cs=Cs, cv=cv, max_iter=1000), X, y
)
logi_cv, t_logi_cv = best_time(
    lambda: LogisticRegressionCV(
        Cs=Cs,
        cv=cv,
        l1_ratios=(0.0,),
        scoring="neg_log_loss",
        use_legacy_attributes=False,
        max_iter=1000,
    ),
    X,
    y,
)
pd.DataFrame(
    {
        "chosen C": [soft_cv.C_, logi_cv.C_],
        "best mean score": [
            soft_cv.scores_.mean(axis=0).max(),
            logi_cv.scores_.mean(axis=0).max(),
        ],
        "fit (s)": [t_soft_cv, t_logi_cv],
    },
    index=["SoftmaxClassifierCV", "LogisticRegressionCV"],
)

# %%
print("max |scores_ difference|:", np.abs(soft_cv.scores_ - logi_cv.scores_).max())
assert soft_cv.C_ == logi_cv.C_
