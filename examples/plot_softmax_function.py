"""
The softmax function
====================

The softmax turns a vector of logits into a probability distribution. This
example shows logits next to their probabilities, how a temperature sharpens
or flattens the distribution, and why the kernels subtract the largest logit
before exponentiating (the max-shift trick).
"""

# %%
# Logits and probabilities
# ------------------------
# :math:`\mathrm{softmax}(z)_k = e^{z_k} / \sum_l e^{z_l}`: positive, summing
# to one, and ordered like the logits.
import matplotlib.pyplot as plt
import numpy as np


def softmax(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()


logits = np.array([2.0, 1.0, 0.1, -1.0, 3.0])
classes = [f"class {k}" for k in range(len(logits))]
proba = softmax(logits)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
axes[0].bar(classes, logits, color="tab:gray")
axes[0].set_title("logits z")
axes[0].axhline(0, color="black", lw=0.5)
axes[1].bar(classes, proba, color="tab:blue")
axes[1].set_title(f"softmax(z), sum = {proba.sum():.3f}")
for ax in axes:
    ax.tick_params(axis="x", rotation=30)

# %%
# Temperature
# -----------
# Dividing the logits by a temperature :math:`T` before the softmax keeps
# their order but changes the confidence: :math:`T \to 0` approaches the
# one-hot arg-max, :math:`T \to \infty` the uniform distribution.
temperatures = [0.25, 1.0, 4.0]
width = 0.25
x = np.arange(len(logits))
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
for i, T in enumerate(temperatures):
    ax.bar(x + (i - 1) * width, softmax(logits / T), width, label=f"T = {T}")
ax.set_xticks(x, classes)
ax.set_ylabel("probability")
ax.legend()
ax.set_title("softmax(z / T)")

# %%
# The max-shift trick
# -------------------
# The softmax does not change when the same constant is added to every
# logit. Computed naively, large logits overflow ``exp`` and give ``nan``;
# subtracting the maximum first makes every exponent at most zero.
big = np.array([1000.0, 999.0, 990.0])
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(big) / np.exp(big).sum()
print("naive  :", naive)
print("shifted:", softmax(big))

# %%
# The same trick gives a log-softmax that stays finite where the probability
# underflows to zero: ``np.log(softmax(z))`` returns ``-inf`` while
# ``z - max(z) - log(sum(exp(z - max(z))))`` is exact.
# ``SoftmaxClassifier.predict_log_proba`` uses this formula.
z = np.array([0.0, -800.0])
m = z.max()
log_softmax = z - m - np.log(np.exp(z - m).sum())
with np.errstate(divide="ignore"):
    print("log(softmax):", np.log(softmax(z)))
print("log_softmax :", log_softmax)

# %%
# The estimator agrees: far from the training data its probabilities
# underflow, its log-probabilities do not.
from sklearn.datasets import load_iris

from sklearn_softmax import SoftmaxClassifier

X, y = load_iris(return_X_y=True)
clf = SoftmaxClassifier(max_iter=1000).fit(X, y)
far = X[:1] * 200
with np.errstate(divide="ignore"):
    print("log(predict_proba):", np.log(clf.predict_proba(far)))
print("predict_log_proba :", clf.predict_log_proba(far))

plt.show()
