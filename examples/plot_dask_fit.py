"""
Fitting on a dask array with a LocalCluster
===========================================

``SoftmaxClassifier.fit`` accepts a dask array (or DataFrame): the blocks of
rows are generated, validated and kept on the workers, each L-BFGS
evaluation runs the loss and gradient kernel on every block where it lives,
and only the parameters and the partial gradients cross the network. The
fitted model is an ordinary estimator; its predictions on a dask array are
lazy dask arrays.

This example starts a small cluster in this process. On a real cluster only
the ``Client`` line changes (``Client("tcp://scheduler:8786")``); see the
user guide's "Scaling out" page.
"""

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

from sklearn_softmax import SoftmaxClassifier

# %%
# A cluster and a dataset generated on it
# ---------------------------------------
# ``processes=False`` keeps the example quick and self-contained; with
# ``processes=True`` (the default) the workers are separate processes and
# the code is the same.
cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
)
client = Client(cluster)

n, d, K = 200_000, 20, 4
W_true = np.random.default_rng(0).standard_normal((K, d))
rng = da.random.default_rng(1)
# 8 blocks of 25,000 rows; chunk along rows only.
X = rng.standard_normal((n, d), chunks=(25_000, d))
# Labels drawn from the softmax model (Gumbel-max trick), also lazily.
y = da.argmax(X @ W_true.T + rng.gumbel(size=(n, K), chunks=(25_000, K)), axis=1)

# %%
# Fit: L-BFGS on this process, kernels on the workers
# ---------------------------------------------------
clf = SoftmaxClassifier(C=10.0).fit(X, y)
print(f"{clf.n_iter_[0]} iterations, classes {clf.classes_}")

# %%
# Lazy predictions
# ----------------
# ``predict`` returns a dask array with the row chunks of ``X``; nothing is
# computed until asked.
pred = clf.predict(X)
print(pred)
accuracy = float((pred == y).mean().compute())
print(f"training accuracy {accuracy:.3f}")

# %%
# The fitted coefficients against the model's
# --------------------------------------------
# ``coef_`` rows are centred over the classes, so compare with the centred
# true coefficients.
truth = W_true - W_true.mean(axis=0)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(truth.ravel(), clf.coef_.ravel(), s=12)
lim = np.abs(truth).max() * 1.1
ax.plot([-lim, lim], [-lim, lim], color="grey", lw=1)
ax.set_xlabel("true coefficient (centred)")
ax.set_ylabel("fitted coefficient")
ax.set_title("SoftmaxClassifier on a dask array")
fig.tight_layout()

client.close()
cluster.close()
