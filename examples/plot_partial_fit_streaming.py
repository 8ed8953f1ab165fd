"""
Streaming data with partial_fit
===============================

``partial_fit`` trains the multinomial model one chunk at a time, so the data
never need to be in memory together. Here a dataset is written to a ``.npy``
file, memory-mapped, and streamed in chunks of 2000 rows for a few epochs;
the held-out accuracy after every chunk approaches that of a full L-BFGS fit.

.. note::

   Needs ``solver="sgd"`` and ``partial_fit``.

Every ``partial_fit`` call is one pass of minibatch SGD over the chunk; the
step counter, the momentum, the learning rate and the average of the
iterates (the model, by default) carry over between calls.
"""

# %%
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

X, y = make_classification(
    n_samples=30_000,
    n_features=30,
    n_informative=15,
    n_classes=6,
    class_sep=2.0,
    random_state=0,
)
X_stream, X_test, y_stream, y_test = train_test_split(X, y, random_state=0)
classes = np.unique(y)

tmp = Path(tempfile.mkdtemp())
np.save(tmp / "X.npy", X_stream)
np.save(tmp / "y.npy", y_stream)
X_disk = np.load(tmp / "X.npy", mmap_mode="r")
y_disk = np.load(tmp / "y.npy")

# %%
# A first pass fits the scaler chunk by chunk too.
chunk = 2000
scaler = StandardScaler()
for start in range(0, X_disk.shape[0], chunk):
    scaler.partial_fit(X_disk[start : start + chunk])
X_test_s = scaler.transform(X_test)

# %%
# Stream the chunks, in a new random order every epoch.
clf = SoftmaxClassifier(solver="sgd", random_state=0)
rng = np.random.default_rng(0)
starts = np.arange(0, X_disk.shape[0], chunk)
seen, accuracy = [], []
n_seen = 0
for _epoch in range(3):
    for start in rng.permutation(starts):
        Xc = scaler.transform(X_disk[start : start + chunk])
        yc = y_disk[start : start + chunk]
        clf.partial_fit(Xc, yc, classes=classes)
        n_seen += len(yc)
        seen.append(n_seen)
        accuracy.append(clf.score(X_test_s, y_test))

full = SoftmaxClassifier(max_iter=1000).fit(scaler.transform(X_stream), y_stream)
full_accuracy = full.score(X_test_s, y_test)
print(f"streamed: {accuracy[-1]:.4f}, full L-BFGS fit: {full_accuracy:.4f}")

# %%
# ``predict_proba`` is a proper softmax after any number of calls.
proba = clf.predict_proba(X_test_s[:5])
print(proba.round(3), proba.sum(axis=1))

fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
ax.plot(seen, accuracy, ".-", label="partial_fit, chunks of 2000")
ax.axhline(full_accuracy, color="black", ls="--", label="full L-BFGS fit")
for epoch in range(1, 3):
    ax.axvline(epoch * X_disk.shape[0], color="gray", lw=0.5)
ax.set_xlabel("rows seen")
ax.set_ylabel("held-out accuracy")
ax.legend(loc="lower right")
ax.set_title("Streaming a memory-mapped dataset")
plt.show()

del X_disk  # release the memory map before removing the file
shutil.rmtree(tmp)
