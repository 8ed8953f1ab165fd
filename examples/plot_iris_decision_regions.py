"""
Decision regions on iris
========================

A softmax model on two iris features: the class with the largest logit wins,
so the regions are separated by straight lines, and the probability of the
winning class shows how confident the model is. Smaller ``C`` (stronger
penalty) gives softer probabilities.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.datasets import load_iris

from sklearn_softmax import SoftmaxClassifier

iris = load_iris()
X = iris.data[:, [2, 3]]  # petal length and width
y = iris.target

xx, yy = np.meshgrid(
    np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 300),
    np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 300),
)
grid = np.c_[xx.ravel(), yy.ravel()]
# Light versions of the colours of the points (tab:blue, tab:orange, tab:green).
light = ListedColormap(["#c6dbef", "#fdd0a2", "#c7e9c0"])

fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=True)
for ax, C in zip(axes, [0.01, 10.0], strict=True):
    clf = SoftmaxClassifier(C=C, max_iter=1000).fit(X, y)
    proba = clf.predict_proba(grid)
    labels = proba.argmax(axis=1).reshape(xx.shape)
    confidence = proba.max(axis=1).reshape(xx.shape)
    ax.contourf(xx, yy, labels, levels=[-0.5, 0.5, 1.5, 2.5], cmap=light)
    cs = ax.contour(
        xx, yy, confidence, levels=[0.5, 0.7, 0.9, 0.99], colors="black", linewidths=0.6
    )
    ax.clabel(cs, fontsize=7)
    for k, name in enumerate(iris.target_names):
        ax.scatter(*X[y == k].T, s=15, label=name, edgecolor="black", lw=0.3)
    ax.set_title(f"C = {C}: accuracy {clf.score(X, y):.2f}")
    ax.set_xlabel(iris.feature_names[2])
axes[0].set_ylabel(iris.feature_names[3])
axes[0].legend(loc="upper left")

# %%
# The contours are the probability of the predicted class. With ``C=0.01``
# the penalty keeps the coefficients small and the probabilities moderate;
# with ``C=10`` they approach 0 and 1 away from the boundaries.
plt.show()
