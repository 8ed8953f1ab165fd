"""
L-BFGS versus SGD: convergence curves
=====================================

Both solvers minimise the same objective. L-BFGS uses the full gradient and
converges to the optimum in a few dozen iterations; minibatch SGD makes many
cheap steps per epoch and gets close quickly, then approaches the optimum
slowly. This example plots the objective gap :math:`f - f^*` against time
for L-BFGS and for plain SGD (constant step), SGD with the default schedule
(adaptive steps of 0.3 with momentum, the model the average of the iterates),
the former defaults (steps of 0.01, no average) and Adam.

.. note::

   Needs ``solver="sgd"``.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

X, y = make_classification(
    n_samples=20_000,
    n_features=20,
    n_informative=12,
    n_classes=5,
    random_state=0,
)
X = StandardScaler().fit_transform(X)
C = 1.0


def objective(clf):
    """The penalised objective of the fitted model, computed in NumPy."""
    log_p = clf.predict_log_proba(X)
    data = -log_p[np.arange(len(y)), np.searchsorted(clf.classes_, y)].mean()
    return data + (clf.coef_**2).sum() / (2 * C * len(y))


# The optimum, to high precision.
f_star = objective(SoftmaxClassifier(C=C, tol=1e-10, max_iter=10_000).fit(X, y))

# %%
# L-BFGS: refit from scratch with an increasing iteration budget and time
# each fit.
lbfgs_t, lbfgs_f = [], []
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for max_iter in [1, 2, 4, 8, 12, 16, 24, 32, 48]:
        start = time.perf_counter()
        clf = SoftmaxClassifier(C=C, max_iter=max_iter, tol=1e-10).fit(X, y)
        lbfgs_t.append(time.perf_counter() - start)
        lbfgs_f.append(objective(clf))

# %%
# SGD: ``loss_curve_`` holds the objective after every epoch of ``fit``; the
# time of an epoch is the fit time divided by the number of epochs.
curves = {}
settings = {
    # The recipe of deep-learning courses: plain SGD, step 0.01, batch 32.
    "plain SGD, step 0.01": dict(learning_rate="constant", eta0=0.01, momentum=0.0),
    # The defaults: step 0.3 with momentum 0.9, divided by 5 on plateaus;
    # the model is the Polyak-Ruppert average of the iterates.
    "SGD defaults (adaptive, averaged)": dict(),
    # The defaults before #17: step 0.01, no average, patience 5.
    "former defaults": dict(eta0=0.01, n_iter_no_change=5, average=False),
    "Adam, step 0.001": dict(learning_rate="adam", eta0=0.001),
}
for name, params in settings.items():
    clf = SoftmaxClassifier(
        C=C, solver="sgd", batch_size=32, max_iter=15, random_state=0, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
        elapsed = time.perf_counter() - start
    fs = np.asarray(clf.loss_curve_)
    ts = elapsed * np.arange(1, len(fs) + 1) / len(fs)
    curves[name] = (ts, fs)
    print(f"{name}: gap after {clf.n_iter_[0]} epochs {fs[-1] - f_star:.2e}")
print(f"L-BFGS: gap after 48 iterations {lbfgs_f[-1] - f_star:.2e}")

# %%
# The objective gap against time (log scale). Each SGD point is one epoch.
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
gap = np.maximum(np.array(lbfgs_f) - f_star, 1e-16)
ax.semilogy(lbfgs_t, gap, "o-", label="L-BFGS")
for name, (ts, fs) in curves.items():
    ax.semilogy(ts, np.maximum(np.array(fs) - f_star, 1e-16), "s--", label=name)
ax.set_xlabel("time (s)")
ax.set_ylabel("objective - optimum")
ax.legend()
ax.set_title("Convergence on 20000 x 20, 5 classes")
plt.show()

# %%
# On data that fit in memory L-BFGS wins: it reaches the optimum to machine
# precision in the time SGD needs for a few epochs, while SGD levels off
# around ``1e-4`` above it (it stops once ``n_iter_no_change`` epochs improve
# the objective by less than ``tol``). SGD earns its place when the data do
# not fit in memory or arrive as a stream (see
# :ref:`sphx_glr_auto_examples_plot_partial_fit_streaming.py`), or when a
# rough model after one or two epochs is all that is needed.
