"""
Cross-validated score along the C path
======================================

``SoftmaxClassifierCV`` chooses ``C`` by cross-validation like scikit-learn's
``LogisticRegressionCV``: on every fold it solves the problem for every value
of ``Cs``, from the strongest penalty to the weakest, each solve starting
from the previous solution, and scores it on the fold's validation rows.
Both estimators below search the same grid with the same folds on the
standardised digits and score with the log-loss; their mean validation
scores over ``C`` are drawn on top of each other, with the chosen ``C``.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifierCV

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
Cs = np.logspace(-3, 2, 8)
cv = StratifiedKFold(n_splits=4)

# The first fit of a process compiles (or loads from the cache) the numba
# kernels: a fit with one strong penalty keeps that out of the timing.
SoftmaxClassifierCV(Cs=[1e-3], cv=cv).fit(X, y)

t0 = time.perf_counter()
ours = SoftmaxClassifierCV(Cs=Cs, cv=cv, max_iter=1000).fit(X, y)
t_ours = time.perf_counter() - t0

t0 = time.perf_counter()
lrcv = LogisticRegressionCV(
    Cs=Cs,
    cv=cv,
    l1_ratios=(0.0,),
    scoring="neg_log_loss",
    use_legacy_attributes=False,
    max_iter=1000,
).fit(X, y)
t_lrcv = time.perf_counter() - t0

print(f"SoftmaxClassifierCV:  C_ = {ours.C_:.4g}, fit {t_ours:.2f} s")
print(f"LogisticRegressionCV: C_ = {lrcv.C_:.4g}, fit {t_lrcv:.2f} s")
print(
    "max |difference of the validation scores|:",
    f"{np.abs(ours.scores_ - lrcv.scores_).max():.1e}",
)

# %%
# Both ``scores_`` have the shape ``(n_folds, n_l1_ratios, n_Cs)``; their
# mean over the folds is the curve the choice is made on. Strong penalties
# underfit, weak ones overfit the 1,350 training rows of each fold. The
# thin lines are the folds of ``SoftmaxClassifierCV``.
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
for fold in ours.scores_[:, 0]:
    ax.semilogx(Cs, -fold, color="tab:blue", lw=0.5, alpha=0.5)
ax.semilogx(
    Cs,
    -ours.scores_.mean(axis=0)[0],
    "o-",
    label=f"SoftmaxClassifierCV ({t_ours:.2f} s)",
)
ax.semilogx(
    Cs,
    -lrcv.scores_.mean(axis=0)[0],
    "x--",
    color="tab:red",
    label=f"LogisticRegressionCV ({t_lrcv:.2f} s)",
)
ax.axvline(ours.C_, color="gray", lw=0.7)
ax.set_xlabel("C")
ax.set_ylabel("cross-validated log-loss")
ax.set_title("Validation log-loss along the C path (digits)")
ax.legend()
plt.show()

# %%
# The solver iterations per fold and ``C`` show the warm starts: after the
# strongly penalised solves, each solve starts near its solution.
print("iterations per C (mean over folds):")
print(np.round(ours.n_iter_.mean(axis=0)[0]).astype(int))
