r"""The penalised multinomial cross-entropy and its gradient.

The objective, for coefficients :math:`W \in \mathbb{R}^{K \times d}` and
intercepts :math:`b \in \mathbb{R}^K`, is

.. math::

    f(W, b) = \frac{1}{S} \sum_{i=1}^{n} s_i\,
              \mathrm{CE}\big(t_i, \mathrm{softmax}(W x_i + b)\big)
              + \frac{\lambda}{2 S} \lVert W \rVert_F^2,
    \qquad S = \sum_i s_i,\quad \lambda = \frac{\texttt{penalty\_scale}}{C},

where :math:`s_i` are the sample weights with class weights folded in,
:math:`\mathrm{CE}(t, p) = -\sum_k t_k \log p_k` and :math:`t_i` is the
target distribution of row *i*: the one-hot vector of its label, or a given
probability row, mixed with the uniform distribution by label smoothing
:math:`\varepsilon`: :math:`(1 - \varepsilon) t_i + \varepsilon / K`.
The intercept is not penalised and ``C = inf`` removes the penalty. With
``penalty_scale = 1`` this is exactly scikit-learn's ``LogisticRegression``
objective; for two classes the estimator uses ``penalty_scale = 2``, which
makes the symmetric two-row softmax the logistic model with the same ``C``.

Its gradient is

.. math::

    \nabla_W f = \frac{1}{S} \Big( \sum_i s_i (p_i - t_i) x_i^\top + \lambda W \Big),
    \qquad
    \nabla_b f = \frac{1}{S} \sum_i s_i (p_i - t_i).

The parameter vector ``theta`` packs ``[W | b]`` row by row: it is the C-order
ravel of an array of shape ``(K, d + fit_intercept)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _kernels
from ._config import n_chunks, parallel_allowed
from ._csr_layout import csr_layout

__all__ = ["Targets", "SoftmaxObjective", "data_loss_gradient", "readonly"]


def readonly(a):
    """Return a read-only view of ``a`` (no copy).

    Kernels always receive read-only inputs, so that writable and read-only
    arrays (memory maps, shared buffers) share one compiled signature.
    """
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Targets:
    """Target distributions of the rows in compressed sparse row form.

    Row ``i`` puts probability ``prob[ptr[i]:ptr[i + 1]]`` on the classes
    ``cls[ptr[i]:ptr[i + 1]]``. Hard labels use one entry per row.

    Attributes
    ----------
    ptr : ndarray of int64, shape (n_samples + 1,)
    cls : ndarray of int64
    prob : ndarray of float64
    n_classes : int
    """

    ptr: np.ndarray
    cls: np.ndarray
    prob: np.ndarray
    n_classes: int

    @classmethod
    def from_labels(cls, y, n_classes):
        """Targets for integer labels in ``[0, n_classes)``."""
        y = np.asarray(y, dtype=np.int64)
        n = y.shape[0]
        return cls(
            ptr=readonly(np.arange(n + 1, dtype=np.int64)),
            cls=readonly(y.copy()),
            prob=readonly(np.ones(n, dtype=np.float64)),
            n_classes=int(n_classes),
        )

    @classmethod
    def from_proba(cls, Y):
        """Targets for a dense matrix of row distributions ``(n, K)``."""
        Y = np.asarray(Y, dtype=np.float64)
        n, k = Y.shape
        return cls(
            ptr=readonly(np.arange(0, n * k + 1, k, dtype=np.int64)),
            cls=readonly(np.tile(np.arange(k, dtype=np.int64), n)),
            prob=readonly(np.ascontiguousarray(Y).ravel().copy()),
            n_classes=int(k),
        )

    @property
    def n_samples(self):
        """Number of rows."""
        return self.ptr.shape[0] - 1

    def take(self, rows):
        """Targets of the given rows, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, stops = self.ptr[rows], self.ptr[rows + 1]
        lengths = stops - starts
        ptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        idx = np.repeat(starts - ptr[:-1], lengths) + np.arange(ptr[-1])
        return Targets(
            readonly(ptr),
            readonly(self.cls[idx]),
            readonly(self.prob[idx]),
            self.n_classes,
        )


def _prepare_X(X, sort_indices=False):
    """Kernel arguments for ``X``: a read-only dense array or CSR arrays.

    With ``sort_indices=True``, CSR data whose column indices are not sorted
    within each row (which the fused CSR kernel needs) is replaced by a sorted
    copy; ``X`` itself is never modified.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X) if X.format != "csr" else X
        if sort_indices and not X.has_sorted_indices:
            X = X.sorted_indices()
        return (
            True,
            (readonly(X.data), readonly(X.indices), readonly(X.indptr)),
            X.dtype,
            X.shape,
        )
    return False, (readonly(X),), X.dtype, X.shape


#: Partial gradients at least this large are reused between evaluations.
_REUSE_BYTES = 2**20


def _buffer(workspace, key, shape):
    """Uninitialised float64 work array kept in ``workspace`` under ``key``."""
    if workspace is None:
        return np.empty(shape)
    buf = workspace.get(key)
    if buf is None or buf.shape != shape:
        buf = np.empty(shape)
        workspace[key] = buf
    return buf


def _partials(workspace, shape):
    """Uninitialised float64 array for the partial gradients of a kernel.

    Large ones (wide CSR data: row groups x (d + 1) x K, up to
    :data:`~sklearn_softmax._config.PARTIALS_BUDGET`) are kept in
    ``workspace`` and reused by the next evaluation of the same shape: a fresh
    allocation of tens of MB is mapped by the OS page by page on first touch,
    which cost a quarter of a CSR evaluation. The workspace belongs to one
    :class:`SoftmaxObjective`, so the memory goes with it when the fit ends.
    The dense kernel overwrites every entry and the CSR path zeroes them
    before its kernel adds into them; the returned gradient is a new array,
    so reuse is invisible to callers.
    """
    if workspace is None or 8 * int(np.prod(shape)) < _REUSE_BYTES:
        return np.empty(shape)
    return _buffer(workspace, "partials", shape)


def _csr_data_term(X_args, d, n_classes, t, coef, intercept, parallel, workspace):
    """Run the CSR kernel span by span; return partial gradients and losses."""
    data, indices, indptr = X_args
    n = indptr.shape[0] - 1
    layout = None if workspace is None else workspace.get("csr_layout")
    if layout is None:
        layout = csr_layout(indices, indptr, d, n_classes, parallel)
        if workspace is not None:
            workspace["csr_layout"] = layout
    G_parts = _partials(workspace, (layout.n_groups, d + 1, n_classes))
    # The kernel adds every span's gradient into the partials.
    G_parts.fill(0.0)
    span = min(layout.span, n)
    Z = _buffer(workspace, "csr_logits", (span, n_classes))
    loss_parts = np.zeros(-(-n // _kernels.ROW_CHUNK))
    # float64 coefficients even for float32 data: the kernel's logits are
    # float64 sums, and rounding the coefficients to float32 would make the
    # objective L-BFGS sees a staircase (early line-search stops).
    WT = np.ascontiguousarray(coef.T, dtype=np.float64)
    b = np.ascontiguousarray(intercept, dtype=np.float64)
    kernel = _kernels.fused_csr if parallel else _kernels.fused_csr_serial
    for s0 in range(0, n, span):
        s1 = min(n, s0 + span)
        kernel(data, indices, layout.seg, s0, s1, WT, b, *t, Z, G_parts, loss_parts)
    return G_parts, loss_parts


def data_loss_gradient(
    X_args, sparse, targets, sw, coef, intercept, eps, parallel, workspace=None
):
    """Weighted data term of the objective and its gradient, unnormalised.

    Parameters
    ----------
    X_args : tuple
        ``(X,)`` for dense data or ``(data, indices, indptr)`` for CSR (column
        indices sorted within each row), all read-only (see
        :func:`readonly`).
    sparse : bool
        Whether ``X_args`` describes CSR data.
    targets : Targets
        Targets of the rows.
    sw : ndarray of float64, shape (n_samples,)
        Sample weights (read-only).
    coef : ndarray, shape (K, d)
        Coefficients (float64 or the dtype of ``X``). Dense kernels compute
        in the dtype of ``X`` and cast ``coef`` to it; the CSR kernel
        computes the logits in float64 from float64 coefficients.
    intercept : ndarray, shape (K,)
        Intercepts, cast like ``coef``.
    eps : float
        Label smoothing.
    parallel : bool
        Use the parallel kernel (``True``) or its serial twin.
    workspace : dict, optional
        Buffers kept between calls by the owner (see :func:`_partials`)
        and, for CSR data, its column-block layout
        (:func:`~sklearn_softmax._csr_layout.csr_layout`); ``None`` computes
        both afresh.

    Returns
    -------
    loss : float
        ``sum_i s_i CE_i``.
    grad : ndarray of float64, shape (K, d + 1)
        ``sum_i s_i (p_i - t_i) [x_i, 1]``; the last column is for the
        intercept.
    """
    n_classes, d = coef.shape
    n = targets.n_samples
    t = (targets.ptr, targets.cls, targets.prob, sw, float(eps))
    if sparse:
        # The serial twin walks the same row chunks and tasks, so both give
        # identical bits; one row chunk has nothing to share out.
        parallel = parallel and n > _kernels.ROW_CHUNK and parallel_allowed()
        G_parts, loss_parts = _csr_data_term(
            X_args, d, n_classes, t, coef, intercept, parallel, workspace
        )
    else:
        # A single chunk has nothing to share out: launching threads for it
        # only costs (and waits for a busy core).
        chunks = n_chunks(n, n_classes * (d + 1))
        parallel = parallel and chunks > 1 and parallel_allowed()
        loss_parts = np.zeros(chunks)
        kernel = _kernels.fused_dense if parallel else _kernels.fused_dense_serial
        G_parts = _partials(workspace, (chunks, n_classes, d + 1))
        dtype = X_args[0].dtype
        W = np.ascontiguousarray(coef, dtype=dtype)
        b = np.ascontiguousarray(intercept, dtype=dtype)
        kernel(*X_args, W, b, *t, G_parts, loss_parts)
    # Summing the partials in chunk order keeps the result independent of
    # the thread count.
    grad = np.empty((n_classes, d + 1))
    combine = _kernels.sum_partials if parallel else _kernels.sum_partials_serial
    combine(G_parts, sparse, grad)
    return float(loss_parts.sum()), grad


class SoftmaxObjective:
    """Penalised, weighted multinomial cross-entropy (see the module docstring).

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Training data, float64 or float32; C-contiguous when dense. Sparse
        input is used in CSR form.
    targets : Targets
        Target distributions.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights (class weights already folded in).
    C : float
        Inverse regularisation strength; ``np.inf`` for none.
    fit_intercept : bool
        Whether ``theta`` carries intercepts.
    label_smoothing : float, default=0.0
        Mixing weight of the uniform distribution in every target.
    penalty_scale : float, default=1.0
        Multiplies the penalty (2 for the binary logistic special case).
    parallel : bool, default=True
        Whether to use the parallel kernels.
    """

    def __init__(
        self,
        X,
        targets,
        sample_weight,
        *,
        C,
        fit_intercept,
        label_smoothing=0.0,
        penalty_scale=1.0,
        parallel=True,
    ):
        self.sparse, self.X_args, self.dtype, shape = _prepare_X(X, sort_indices=True)
        self.n_samples, self.n_features = shape
        self.targets = targets
        self.n_classes = targets.n_classes
        self.sample_weight = readonly(np.asarray(sample_weight, dtype=np.float64))
        self.sw_sum = float(self.sample_weight.sum())
        self.fit_intercept = bool(fit_intercept)
        self.label_smoothing = float(label_smoothing)
        self.alpha = 0.0 if np.isinf(C) else float(penalty_scale) / float(C)
        self.parallel = parallel
        # Reused partial-gradient buffers; freed with the objective.
        self._workspace = {}

    @property
    def shape(self):
        """Shape ``(K, d + fit_intercept)`` of the unraveled parameters."""
        return (self.n_classes, self.n_features + int(self.fit_intercept))

    @property
    def n_params(self):
        """Length of ``theta``."""
        return self.shape[0] * self.shape[1]

    def pack(self, coef, intercept=None):
        """Ravel coefficients (and intercepts) into ``theta`` (float64)."""
        theta = np.zeros(self.shape)
        theta[:, : self.n_features] = coef
        if self.fit_intercept and intercept is not None:
            theta[:, -1] = intercept
        return theta.ravel()

    def unpack(self, theta):
        """Split ``theta`` into coefficients ``(K, d)`` and intercepts ``(K,)``."""
        Theta = np.asarray(theta).reshape(self.shape)
        coef = Theta[:, : self.n_features]
        if self.fit_intercept:
            intercept = Theta[:, -1]
        else:
            intercept = np.zeros(self.n_classes, dtype=Theta.dtype)
        return coef, intercept

    def loss_gradient(self, theta):
        """Objective value and gradient at ``theta``.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)

        Returns
        -------
        loss : float
        grad : ndarray of float64, shape (n_params,)
        """
        coef, intercept = self.unpack(theta)
        loss, G = data_loss_gradient(
            self.X_args,
            self.sparse,
            self.targets,
            self.sample_weight,
            coef,
            intercept,
            self.label_smoothing,
            self.parallel,
            self._workspace,
        )
        d = self.n_features
        # G is a fresh (K, d + 1) array: with an intercept it is the gradient.
        grad = G if self.fit_intercept else G[:, :d].copy()
        if self.alpha:
            # einsum reads the strided view of coef in place (np.dot of its
            # ravel copied it twice: 20x slower at 400k parameters).
            sq = float(np.einsum("ij,ij->", coef, coef))
            loss += 0.5 * self.alpha * sq
            grad[:, :d] += self.alpha * coef
        S = self.sw_sum
        grad /= S
        return loss / S, grad.ravel()

    def loss(self, theta):
        """Objective value at ``theta``."""
        return self.loss_gradient(theta)[0]
