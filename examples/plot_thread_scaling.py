"""
Thread scaling and reproducibility
==================================

``n_jobs`` sets the number of numba threads of ``fit`` and of the
predictions. This example times a fit on a synthetic problem for each thread
count this machine allows and checks that the coefficients are bitwise the
same for every count: the parallel reductions use a partition of the rows
that depends only on the data shape, and add the partial results in a fixed
order.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numba
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sklearn_softmax import SoftmaxClassifier

X, y = make_classification(
    n_samples=20_000,
    n_features=50,
    n_informative=30,
    n_classes=8,
    random_state=0,
)
max_threads = min(numba.config.NUMBA_NUM_THREADS, 8)
thread_counts = sorted({1, 2, max_threads} & set(range(1, max_threads + 1)))

# Compile (or load from the cache) before timing.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    SoftmaxClassifier(max_iter=2).fit(X[:500], y[:500])

times, coefs = [], []
for n_jobs in thread_counts:
    best = np.inf
    for _ in range(3):
        clf = SoftmaxClassifier(n_jobs=n_jobs, max_iter=200)
        start = time.perf_counter()
        clf.fit(X, y)
        best = min(best, time.perf_counter() - start)
    times.append(best)
    coefs.append(clf.coef_)
    print(f"n_jobs={n_jobs}: {best:.3f} s, {clf.n_iter_[0]} iterations")

identical = all(np.array_equal(coefs[0], c) for c in coefs[1:])
print("coefficients bitwise identical for all n_jobs:", identical)

# %%
# Speed-up over one thread. On a machine with few cores that other programs
# share, the gain is smaller than the thread count.
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
speedup = times[0] / np.array(times)
ax.plot(thread_counts, speedup, "o-", label="measured")
ax.plot(thread_counts, thread_counts, "--", color="gray", label="ideal")
ax.set_xticks(thread_counts)
ax.set_xlabel("n_jobs (numba threads)")
ax.set_ylabel("speed-up of fit")
ax.set_title(f"20000 x 50, 8 classes; identical coef_: {identical}")
ax.legend()
plt.show()
