"""The columns of the fit benchmark (``bench_lbfgs.py``) and its one objective.

A column is an estimator with its thread setting:

* ``ours``: ``SoftmaxClassifier(solver="lbfgs")``; ``ours-ncg`` and
  ``ours-auto`` (solvers ``"newton-cg"`` and ``"auto"``) where the estimator
  accepts them, read from its ``_parameter_constraints`` so that the script
  runs the same before and after a solver is added. Default numba threads,
  one BLAS thread (the estimator limits BLAS itself; the context says so).
* ``LR1``: ``LogisticRegression`` (lbfgs) under one BLAS thread, its best on
  a small shared machine; ``LR``: with its default BLAS threads.
* ``skx``: ``sklearnex.linear_model.LogisticRegression`` (oneDAL, its own
  threads), imported directly rather than by patching scikit-learn, when
  importable; whether a fit ran in oneDAL or fell back to scikit-learn (it
  does on CSR) is read from sklearnex's log of that fit.
* ``saga``: ``LogisticRegression(solver="saga")``, one BLAS thread
  (single-threaded anyway), on CSR shapes, where it is the usual choice.
* ``nchol``: ``LogisticRegression(solver="newton-cholesky")``, default BLAS
  threads, where its Hessian, ``(K (d + 1))^2`` float64 (``d + 1`` for two
  classes), fits in a budget (``bench_lbfgs.py --hessian-budget-gib``; by
  default :data:`HESSIAN_FRACTION` of the physical memory).

A column that cannot run on a shape is kept with the reason (``skip``), so
that a table never silently loses it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
from dataclasses import dataclass

import _common  # before sklearn_softmax: puts this checkout on sys.path
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from sklearn_softmax import SoftmaxClassifier

#: Our columns and the solver each passes.
OURS = {"ours": "lbfgs", "ours-ncg": "newton-cg", "ours-auto": "auto"}
PEERS = ("LR1", "LR", "skx", "saga", "nchol")
#: newton-cholesky runs where its Hessian takes at most this fraction of the
#: physical memory: scikit-learn holds a few more arrays of that size during a
#: step, and the machine is shared. Physical, not available, memory, so that
#: the set of columns does not change with what other processes hold.
HESSIAN_FRACTION = 1 / 8


def solver_options():
    """The solvers ``SoftmaxClassifier`` accepts."""
    for constraint in SoftmaxClassifier._parameter_constraints["solver"]:
        options = getattr(constraint, "options", None)
        if options:
            return set(options)
    return {"lbfgs"}


def sklearnex_estimator():
    """``(sklearnex LogisticRegression or None, why not)``."""
    try:
        from sklearnex.linear_model import LogisticRegression as SkxLR
    except ImportError as exc:  # not installed, or its oneDAL libraries missing
        return None, f"sklearnex not importable: {exc}"
    return SkxLR, None


def sklearnex_version():
    """The installed scikit-learn-intelex version, or why it is not used."""
    skx, why = sklearnex_estimator()
    if skx is None:
        return why
    try:
        return importlib.metadata.version("scikit-learn-intelex")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def physical_memory():
    """Bytes of physical memory (``os.sysconf``), or None where unknown."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def hessian_bytes(d, k):
    """Bytes of newton-cholesky's float64 Hessian for ``d`` features, ``k`` classes."""
    rows = 1 if k == 2 else k
    return (rows * (d + 1)) ** 2 * 8


@dataclass
class Column:
    """One benchmark column; ``make(tol, max_iter)`` builds its estimator."""

    name: str
    make: object = None
    one_blas: bool = False
    skip: str | None = None  # why it does not run on this shape


def columns(names, C, d, k, sparse, hessian_budget):
    """The columns ``names`` for a shape, those that cannot run with ``skip``."""
    options = solver_options()
    skx, skx_why = sklearnex_estimator() if "skx" in names else (None, None)
    out = []
    for name in names:
        col = Column(name)
        if name in OURS:
            solver = OURS[name]
            col.one_blas = True
            if solver in options:
                col.make = _maker(SoftmaxClassifier, C, solver=solver)
            else:
                col.skip = f"SoftmaxClassifier has no solver {solver!r}"
        elif name in ("LR1", "LR"):
            col.make = _maker(LogisticRegression, C)
            col.one_blas = name == "LR1"
        elif name == "skx":
            col.make = skx and _maker(skx, C)
            col.skip = skx_why
        elif name == "saga":
            col.make = _maker(LogisticRegression, C, solver="saga", random_state=0)
            col.one_blas = True
            col.skip = None if sparse else "dense shape (saga: CSR shapes only)"
        elif name == "nchol":
            need = hessian_bytes(d, k)
            col.make = _maker(LogisticRegression, C, solver="newton-cholesky")
            if not hessian_budget or need > hessian_budget:
                col.skip = (
                    f"Hessian {need / 2**30:.2g} GiB over the budget "
                    f"{(hessian_budget or 0) / 2**30:.2g} GiB"
                )
        else:
            raise ValueError(f"unknown column {name!r}")
        out.append(col)
    return out


def _maker(cls, C, **params):
    return lambda tol, max_iter: cls(C=C, tol=tol, max_iter=max_iter, **params)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _sklearnex_log():
    """Collect sklearnex's dispatch messages of a block, printing none."""
    logger = logging.getLogger("sklearnex")
    saved = logger.handlers[:], logger.level, logger.propagate
    handler = _Records()
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    try:
        yield handler.messages
    finally:
        logger.handlers, logger.propagate = saved[0], saved[2]
        logger.setLevel(saved[1])


def backend(messages):
    """``"oneDAL"`` or ``"sklearn fallback"`` from sklearnex's fit messages."""
    if any("fallback to original Scikit-learn" in m for m in messages):
        return "sklearn fallback"
    if any("running accelerated version" in m for m in messages):
        return "oneDAL"
    return "backend unknown"


def fit(col, X, y, tol, max_iter):
    """Fit column ``col``: ``(wall seconds, model, note)``.

    The note says where sklearnex ran. The log is collected outside the
    timed region (:func:`_common.timed_fit` times ``fit`` only).
    """
    model = col.make(tol, max_iter)
    if col.name != "skx":
        t, model = _common.timed_fit(model, X, y, one_blas=col.one_blas)
        return t, model, ""
    with _sklearnex_log() as messages:
        t, model = _common.timed_fit(model, X, y, one_blas=col.one_blas)
    return t, model, backend(messages)


def n_iter(model):
    return int(np.max(model.n_iter_))


def lr_objective(X, y, coef, intercept, C, chunk=20_000):
    """LogisticRegression's objective, float64, for every column alike.

    ``(1/S) sum_i CE_i + ||coef||^2 / (2 C S)`` (unit weights, ``S = n``),
    with ``coef`` and ``intercept`` in scikit-learn's layout and labels
    ``0 .. K - 1``. Two classes have one row ``w``, whose logits are
    ``(0, z)``: a two-row softmax ``(-w/2, w/2)`` has the same
    cross-entropy but ``||W||^2 = ||w||^2 / 2``, so a two-class softmax with
    ``C`` is LogisticRegression with ``2 C``; ``SoftmaxClassifier`` doubles
    its quadratic term for two classes and minimises this very objective.
    Rows go in chunks so that float32 data is never copied whole.
    """
    coef = coef.toarray() if sp.issparse(coef) else coef
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64)
    n = X.shape[0]
    total = 0.0
    for start in range(0, n, chunk):
        Xb = X[start : start + chunk].astype(np.float64)
        Z = np.asarray(Xb @ coef.T) + intercept
        if coef.shape[0] == 1:
            Z = np.hstack([np.zeros((Z.shape[0], 1)), Z])
        top = Z.max(axis=1)
        lse = top + np.log(np.exp(Z - top[:, None]).sum(axis=1))
        yb = y[start : start + chunk]
        total += float(np.sum(lse - Z[np.arange(Z.shape[0]), yb]))
    return total / n + float(np.einsum("ij,ij->", coef, coef)) / (2.0 * C * n)
