"""
L1 regularisation path on digits
================================

With ``l1_ratio=1`` the penalty is :math:`\\lVert W \\rVert_1 / (C S)` and the
solution is sparse: many coefficients are exactly zero (``"lbfgs"`` runs
OWL-QN, which sets them to zero, see :doc:`/user_guide/penalties`). This
example follows the solution on standardised digits from the strongest
penalty, where every coefficient is zero, to a weak one, with
``warm_start=True`` so that every fit starts from the previous solution.

Each of the 64 features is a pixel of an 8 x 8 image, and each has one
coefficient per class (640 in all). We plot, against ``C``, the size of every
feature's coefficients, how many coefficients and features are in use, and
the accuracy on held-out images next to the L2 penalty with the same ``C``.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
n_classes, n_features = 10, X.shape[1]

# %%
# Where the path starts
# ---------------------
#
# All coefficients are zero as long as the penalty outweighs the gradient of
# the data term at zero. With zero coefficients the fitted intercepts predict
# the class frequencies :math:`\bar t` for every row, the gradient is
# :math:`\frac{1}{S} \sum_i (\bar t - t_i) x_i^\top`, and the L1 term wins
# while :math:`1 / (C S)` is at least its largest entry: below
# :math:`C_{\min} = 1 / \max \lvert \sum_i (\bar t - t_i) x_i^\top \rvert`
# the model is the intercept alone.
T = np.eye(n_classes)[y_train]
C_min = 1.0 / np.abs(X_train.T @ (T.mean(axis=0) - T)).max()
print(f"C_min = {C_min:.5f}")

# %%
# The path
# --------
#
# Sixteen values of ``C`` from :math:`C_{\min}` to :math:`1000\, C_{\min}`.
# The same estimator is refitted with a larger ``C`` each time; with
# ``warm_start=True`` each fit starts from the previous coefficients, which
# are close to the next solution.
#
# OWL-QN stops when the largest entry of the pseudo-gradient (the
# minimum-norm subgradient) is below ``tol``. Which coefficients are zero is
# only settled once ``tol`` is well below the L1 strength
# :math:`1 / (C S)`, here :math:`2 \cdot 10^{-4}` at the largest ``C``, so
# ``tol`` is lowered from its default ``1e-4`` to ``1e-6``. Digits is small
# enough for one thread to be the fastest (``n_jobs=1``).
Cs = C_min * np.logspace(0, 3, 16)
options = dict(warm_start=True, tol=1e-6, max_iter=1000, n_jobs=1)
l1 = SoftmaxClassifier(l1_ratio=1.0, **options)
l2 = SoftmaxClassifier(l1_ratio=0.0, **options)

norms, n_coef, n_used, acc_l1, acc_l2 = [], [], [], [], []
start = time.perf_counter()
for C in Cs:
    l1.set_params(C=C).fit(X_train, y_train)
    l2.set_params(C=C).fit(X_train, y_train)
    norms.append(np.linalg.norm(l1.coef_, axis=0))
    n_coef.append(np.count_nonzero(l1.coef_))
    n_used.append(np.count_nonzero(norms[-1]))
    acc_l1.append(l1.score(X_test, y_test))
    acc_l2.append(l2.score(X_test, y_test))
norms = np.array(norms)
print(f"{len(Cs)} L1 and {len(Cs)} L2 fits in {time.perf_counter() - start:.1f} s")
print("      C   non-zero  features  accuracy L1  accuracy L2")
for row in zip(Cs, n_coef, n_used, acc_l1, acc_l2, strict=True):
    print("{:7.4f} {:10d} {:9d} {:12.3f} {:12.3f}".format(*row))

# %%
# The L2 coefficients are never exactly zero; the L1 ones are, and the
# number in use grows with ``C``. Accuracy rises quickly: a fraction of the
# 640 coefficients already classifies almost as well as the dense L2 model.
fig, axes = plt.subplots(3, 1, figsize=(6.4, 8), sharex=True, layout="constrained")
ax = axes[0]
ax.semilogx(Cs, norms, color="tab:blue", lw=0.8, alpha=0.6)
ax.set_ylabel("norm of a feature's\ncoefficients")
ax.set_title("L1 path of SoftmaxClassifier on digits (one line per pixel)")

ax = axes[1]
ax.semilogx(Cs, n_coef, "o-", ms=3, color="tab:blue")
ax.set_ylabel(f"non-zero coefficients\n(of {n_classes * n_features})", color="tab:blue")
twin = ax.twinx()
twin.semilogx(Cs, n_used, "s--", ms=3, color="tab:orange")
twin.set_ylabel(f"features in use\n(of {n_features})", color="tab:orange")

ax = axes[2]
ax.semilogx(Cs, acc_l1, "o-", ms=3, label="l1_ratio=1")
ax.semilogx(Cs, acc_l2, "s--", ms=3, label="l1_ratio=0 (L2)")
ax.set_xlabel("C")
ax.set_ylabel("held-out accuracy")
ax.legend(loc="lower right")
plt.show()

# %%
# Which pixels come first
# -----------------------
#
# The norm of each pixel's coefficients, drawn as an image, at three points
# of the path. Ten pixels of the left and right borders, blank in at least
# 97 % of the images, stay at zero along the whole path; the pixels that
# enter first are the ones that tell digits apart, and with a weak penalty
# the weight spreads over their neighbours.
picks = [3, 7, 15]
fig, axes = plt.subplots(1, len(picks), figsize=(9, 3.2), layout="constrained")
for ax, i in zip(axes, picks, strict=True):
    image = ax.imshow(norms[i].reshape(8, 8), cmap="Blues", vmin=0)
    ax.set_title(f"C = {Cs[i]:.3g}\n{n_used[i]} pixels, {n_coef[i]} coef.", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(image, ax=ax, shrink=0.8)
plt.show()
