"""solver="sgd": cost of an epoch and epochs to the L-BFGS optimum.

Run: python benchmarks/bench_sgd.py

1. Per-epoch wall time (best of 5) of a Python loop over minibatches (row gather, batch
   targets, serial ``data_loss_gradient``, NumPy momentum update) against the
   numba epoch kernel the solver uses, and of one full objective + gradient.
2. For each schedule and batch size: relative objective gap to L-BFGS after
   every epoch, the first epoch below 1e-3, and wall seconds.
"""

import time
import warnings

import _common  # before sklearn_softmax: puts this checkout on sys.path
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier
from sklearn_softmax._arrays import Targets, readonly
from sklearn_softmax._datafit import data_loss_gradient
from sklearn_softmax._objective import SoftmaxObjective
from sklearn_softmax._solvers import SGDOptimizer, sgd_pass


def python_epoch(obj, P, V, order, batch_size, eta=0.01, momentum=0.9):
    d = obj.n_features
    (X,) = obj.data.X_args
    sw = obj.data.sample_weight
    mean_w, pen = obj.sw_sum / obj.n_samples, obj.penalty.l2 / obj.sw_sum
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        _, G = data_loss_gradient(
            (readonly(X[idx]),),
            False,
            obj.data.targets.take(idx),
            readonly(sw[idx]),
            P[:, :d],
            P[:, d].copy(),
            0.0,
            False,
        )
        G /= len(idx) * mean_w
        G[:, :d] += pen * P[:, :d]
        V *= momentum
        V -= eta * G
        P += V


def epoch_cost(name, X, y, k):
    obj = SoftmaxObjective(
        X, Targets.from_labels(y, k), np.ones(len(y)), C=1.0, fit_intercept=True
    )
    order = np.random.RandomState(0).permutation(len(y))
    shape = (k, X.shape[1] + 1)

    def kernel_epoch(bs):
        opt = SGDOptimizer(shape, learning_rate="constant", eta0=0.01)
        sgd_pass(
            obj,
            np.zeros(shape),
            opt,
            order,
            batch_size=bs,
            weight_mean=1.0,
            weight_total=float(len(y)),
        )

    python_epoch(obj, np.zeros(shape), np.zeros(shape), order[:64], 32)
    kernel_epoch(32)

    def best_time(f, reps=5):
        return _common.best_time(f, reps)[0]

    for bs in (32, 256):
        tp = best_time(
            lambda bs=bs: python_epoch(obj, np.zeros(shape), np.zeros(shape), order, bs)
        )
        tk = best_time(lambda bs=bs: kernel_epoch(bs))
        print(
            f"{name:9s} batch {bs:4d}: python loop {tp * 1e3:7.1f} ms/epoch, "
            f"epoch kernel {tk * 1e3:6.1f} ms/epoch ({tp / tk:4.1f}x)"
        )
    tf = best_time(lambda: obj.loss_gradient(np.zeros(obj.n_params)))
    print(f"{name:9s} full objective + gradient (parallel kernel) {tf * 1e3:6.1f} ms")


def convergence(name, X, y, C, configs):
    t = time.perf_counter()
    ref = SoftmaxClassifier(C=C, max_iter=2000, tol=1e-10).fit(X, y)
    t_ref = time.perf_counter() - t
    enc = np.searchsorted(ref.classes_, y)
    obj = ref._objective(
        X, Targets.from_labels(enc, len(ref.classes_)), np.ones(len(y))
    )
    coef, intercept = ref._full_coef()
    f_ref = obj.loss(obj.pack(coef, intercept))
    print(
        f"{name}: C={C}, L-BFGS objective {f_ref:.6f} ({ref.n_iter_[0]} iterations, "
        f"tol=1e-10, {t_ref:.2f} s)"
    )
    for params in configs:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = SoftmaxClassifier(C=C, solver="sgd", random_state=0, **params)
            clf.fit(X, y)
        gaps = [(f - f_ref) / f_ref for f in clf.loss_curve_]
        first = next((i + 1 for i, g in enumerate(gaps) if g < 1e-3), None)
        print(
            f"  {params}: {clf.n_iter_[0]} epochs, final gap {gaps[-1]:.1e}, "
            f"first epoch < 1e-3: {first}, {time.perf_counter() - t:.2f} s"
        )


def synthetic(n=50_000, d=50, k=8):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    Z = X @ (0.3 * rng.standard_normal((k, d))).T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (P.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, y


def main():
    X_d, y_d = load_digits(return_X_y=True)
    X_s, y_s = synthetic()
    print("== cost of one epoch (wall time, best of 5)")
    epoch_cost("digits", X_d / 16.0, y_d, 10)
    epoch_cost("50kx50x8", X_s, y_s, 8)
    print("== epochs to the L-BFGS optimum")
    schedules = [
        dict(learning_rate=lr, tol=1e-5, max_iter=100)
        for lr in ("constant", "invscaling", "adaptive", "adam")
    ]
    batches = [dict(batch_size=bs, tol=1e-5, max_iter=100) for bs in (128, 512)]
    X_ds = StandardScaler().fit_transform(X_d)
    convergence("digits (standardised)", X_ds, y_d, 0.01, schedules + batches)
    convergence("digits (standardised)", X_ds, y_d, 1.0, schedules[2:])
    convergence("50kx50x8", X_s, y_s, 1.0, schedules[:1] + schedules[2:] + batches[:1])


if __name__ == "__main__":
    main()
