"""
Comparison with LogisticRegression
==================================

``SoftmaxClassifier`` minimises the objective of scikit-learn's
``LogisticRegression`` (multinomial, L2 penalty), so with the same ``C``,
``tol`` and ``max_iter`` both fit the same model. This example fits both on
the digits dataset and compares probabilities, coefficients and fit time.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

params = dict(C=1.0, tol=1e-4, max_iter=1000)
# The first fit compiles the numba kernels (or loads them from the cache):
# do it once before timing.
SoftmaxClassifier(**params).fit(X_train, y_train)


def best_fit_time(make, repeat=3):
    times = []
    for _ in range(repeat):
        est = make()
        start = time.perf_counter()
        est.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
    return est, min(times)


soft, t_soft = best_fit_time(lambda: SoftmaxClassifier(**params))
logi, t_logi = best_fit_time(lambda: LogisticRegression(**params))

# %%
# Same model
# ----------
# Both follow the same L-BFGS iterates, so the probabilities and the
# coefficients agree to rounding error.
p_soft, p_logi = soft.predict_proba(X_test), logi.predict_proba(X_test)
print(f"iterations: {soft.n_iter_[0]} vs {logi.n_iter_[0]}")
print(
    f"held-out accuracy: {soft.score(X_test, y_test):.4f} vs "
    f"{logi.score(X_test, y_test):.4f}"
)
print(f"max |predict_proba difference|: {np.abs(p_soft - p_logi).max():.2e}")
print(f"max |coef_ difference|: {np.abs(soft.coef_ - logi.coef_).max():.2e}")
print(f"fit time: {t_soft:.4f} s vs {t_logi:.4f} s (ratio {t_logi / t_soft:.1f}x)")

# %%
# Probabilities, coefficients and fit time
# ----------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
axes[0].scatter(p_logi.ravel(), p_soft.ravel(), s=3)
axes[0].plot([0, 1], [0, 1], color="gray", lw=0.7)
axes[0].set_xlabel("LogisticRegression")
axes[0].set_ylabel("SoftmaxClassifier")
axes[0].set_title("predict_proba on held-out digits")
lim = np.abs(logi.coef_).max()
axes[1].scatter(logi.coef_.ravel(), soft.coef_.ravel(), s=3, color="tab:green")
axes[1].plot([-lim, lim], [-lim, lim], color="gray", lw=0.7)
axes[1].set_xlabel("LogisticRegression")
axes[1].set_title("coef_")
axes[2].bar(
    ["SoftmaxClassifier", "LogisticRegression"],
    [t_soft, t_logi],
    color=["tab:blue", "tab:orange"],
)
axes[2].set_ylabel("fit time (s)")
axes[2].set_title("best of 3 fits")

# %%
# The coefficients of a class, drawn as an 8x8 image, show which pixels
# vote for that digit; the two estimators give the same pictures.
fig, axes = plt.subplots(2, 10, figsize=(12, 2.8), layout="constrained")
for k in range(10):
    for row, est in enumerate([soft, logi]):
        axes[row, k].imshow(
            est.coef_[k].reshape(8, 8), cmap="RdBu_r", vmin=-lim, vmax=lim
        )
        axes[row, k].set_xticks([])
        axes[row, k].set_yticks([])
    axes[0, k].set_title(str(k))
axes[0, 0].set_ylabel("Softmax")
axes[1, 0].set_ylabel("Logistic")
plt.show()
