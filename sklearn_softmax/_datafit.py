"""The smooth data term: weighted cross-entropy of a block of rows and its gradient.

:class:`SoftmaxDataTerm` drives the fused kernels over one block of rows (the
whole training set in memory, or one block of a distributed array). It knows
nothing of penalties or solvers: it returns unnormalised sums, and the
objective adds the penalty and divides by the total weight.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _kernels
from ._arrays import prepare_X, readonly
from ._config import n_chunks, parallel_allowed
from ._csr_layout import csr_layout
from ._hessian import DataHessian
from ._workspace import buffer as _buffer
from ._workspace import partials as _partials

__all__ = ["DataHessian", "SoftmaxDataTerm", "data_loss_gradient", "weight_total"]


def weight_total(sample_weight, n_classes, n_features):
    """Total weight ``S``, summed chunk by chunk in the reduction's row chunks.

    The chunks are those of the dense kernel
    (:func:`~sklearn_softmax._config.n_chunks`); their sums are added as
    the chunk losses are. A distributed data term whose blocks fall on these
    chunk boundaries adds the same chunk sums in the same order, so both get
    the same bits (a plain ``sum`` of all weights would differ by an ulp).
    """
    n = sample_weight.shape[0]
    chunks = n_chunks(n, n_classes * (n_features + 1))
    bounds = [(c * n) // chunks for c in range(chunks + 1)]
    parts = [
        sample_weight[a:b].sum() for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    return float(np.array(parts).sum())


def _csr_data_term(
    X_args, d, n_classes, t, coef, intercept, parallel, workspace, P=None
):
    """Run the CSR kernel span by span; return partial gradients and losses.

    With ``P`` (``n x K`` float64) the probabilities of every span are kept
    there from the residuals the kernel leaves in its work array.
    """
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
    keep = (
        _kernels.keep_probabilities if parallel else _kernels.keep_probabilities_serial
    )
    for s0 in range(0, n, span):
        s1 = min(n, s0 + span)
        kernel(data, indices, layout.seg, s0, s1, WT, b, *t, Z, G_parts, loss_parts)
        if P is not None:
            keep(Z, s0, s1, *t, P)
    return G_parts, loss_parts


def data_loss_gradient(
    X_args, sparse, targets, sw, coef, intercept, eps, parallel, workspace=None, P=None
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
    P : ndarray, optional
        When given, the probabilities of every row are written into it, for
        Hessian-vector products (:class:`DataHessian`): shape ``(n, K)``
        float64 for CSR data; for dense data in the dtype of ``X``, shape
        ``(n, 1)`` (``p_1``) for two classes and ``(n, K)`` otherwise.

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
            X_args, d, n_classes, t, coef, intercept, parallel, workspace, P
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
        if P is None:
            kernel(*X_args, W, b, *t, G_parts, loss_parts)
        else:
            keep = (
                _kernels.fused_dense_keep
                if parallel
                else _kernels.fused_dense_keep_serial
            )
            keep(*X_args, W, b, *t, G_parts, loss_parts, P)
    # Summing the partials in chunk order keeps the result independent of
    # the thread count.
    grad = np.empty((n_classes, d + 1))
    combine = _kernels.sum_partials if parallel else _kernels.sum_partials_serial
    combine(G_parts, sparse, grad)
    return float(loss_parts.sum()), grad


class SoftmaxDataTerm:
    """Weighted multinomial cross-entropy of a block of rows.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        float64 or float32; C-contiguous when dense. Sparse input is used in
        CSR form with sorted indices (a sorted copy when they are not).
    targets : Targets
        Target distributions of the rows.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights (class weights already folded in).
    label_smoothing : float, default=0.0
        Mixing weight of the uniform distribution in every target.
    parallel : bool, default=True
        Whether to use the parallel kernels.
    """

    def __init__(
        self, X, targets, sample_weight, *, label_smoothing=0.0, parallel=True
    ):
        self.sparse, self.X_args, self.dtype, shape = prepare_X(X, sort_indices=True)
        self.n_samples, self.n_features = shape
        self.targets = targets
        self.n_classes = targets.n_classes
        self.sample_weight = readonly(np.asarray(sample_weight, dtype=np.float64))
        self.sw_sum = weight_total(self.sample_weight, self.n_classes, self.n_features)
        self.label_smoothing = float(label_smoothing)
        self.parallel = parallel
        # Reused buffers and the CSR layout; freed with the data term.
        self._workspace = {}

    def loss_gradient(self, coef, intercept):
        """Return ``sum_i s_i CE_i`` and its gradient (:func:`data_loss_gradient`)."""
        return data_loss_gradient(
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

    def loss_gradient_hessp(self, coef, intercept):
        """:meth:`loss_gradient`, keeping what Hessian-vector products need.

        Returns
        -------
        loss : float
        grad : ndarray of float64, shape (K, d + 1)
        hessp : DataHessian
            ``hessp(V, vb)`` is the data term's Hessian at ``(coef,
            intercept)`` applied to ``[V | vb]``; each product is one pass
            over ``X``.
        """
        n, K = self.n_samples, self.n_classes
        if self.sparse:
            P = np.empty((n, K))
        else:
            # The dtype of X: the kernels' products and residuals are in it.
            P = np.empty((n, 1 if K == 2 else K), dtype=self.dtype)
        loss, grad = data_loss_gradient(
            self.X_args,
            self.sparse,
            self.targets,
            self.sample_weight,
            coef,
            intercept,
            self.label_smoothing,
            self.parallel,
            self._workspace,
            P=P,
        )
        return loss, grad, DataHessian(self, P)

    def subset(self, rows):
        """Return a data term of the rows ``rows`` only, copied (own buffers).

        For a subsampled Hessian: its kernels, CSR layout and work buffers
        are those of an ordinary data term of ``X[rows]``, so they run
        unchanged on the copy.

        Parameters
        ----------
        rows : ndarray of int
            Rows of this data term, in the order of the subset.

        Returns
        -------
        SoftmaxDataTerm
        """
        rows = np.asarray(rows, dtype=np.int64)
        if self.sparse:
            data, indices, indptr = self.X_args
            shape = (self.n_samples, self.n_features)
            # Row slicing keeps each row's sorted column indices.
            X = sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)[rows]
        else:
            X = np.ascontiguousarray(self.X_args[0][rows])
        return SoftmaxDataTerm(
            X,
            self.targets.take(rows),
            self.sample_weight[rows],
            label_smoothing=self.label_smoothing,
            parallel=self.parallel,
        )

    def loss_gradient_rows(self, coef, intercept, rows):
        """:meth:`loss_gradient` of the rows ``rows`` only, without copying them all.

        The loss is bitwise the one a data term of ``X[rows]`` gives: the
        rows are copied one reduction chunk at a time (dense: one chunk of
        :func:`~sklearn_softmax._config.n_chunks`; CSR: whole row chunks of
        :data:`~sklearn_softmax._kernels.ROW_CHUNK`) and the chunk losses are
        summed as :func:`data_loss_gradient` sums them, so the extra memory is
        about a 64th of those rows. The dense gradient is bitwise that of
        ``X[rows]`` too; the CSR gradient adds the rows in order (one row
        group), which is bitwise that of ``X[rows]`` when its layout has one
        row group and equal up to rounding otherwise.

        Parameters
        ----------
        coef : ndarray, shape (K, d)
        intercept : ndarray, shape (K,)
        rows : ndarray of int
            Rows of the data term, in the order of the subset.

        Returns
        -------
        loss : float
        grad : ndarray of float64, shape (K, d + 1)
        """
        rows = np.asarray(rows, dtype=np.int64)
        n, K, d = rows.shape[0], self.n_classes, self.n_features
        eps = self.label_smoothing

        def kernel_targets(r):
            t = self.targets.take(r)
            return t.ptr, t.cls, t.prob, readonly(self.sample_weight[r]), eps

        grad = np.empty((K, d + 1))
        if not self.sparse:
            X = self.X_args[0]
            chunks = n_chunks(n, K * (d + 1))
            loss_parts = np.zeros(chunks)
            G_parts = np.empty((chunks, K, d + 1))
            W = np.ascontiguousarray(coef, dtype=X.dtype)
            b = np.ascontiguousarray(intercept, dtype=X.dtype)
            for c in range(chunks):
                r = rows[(c * n) // chunks : ((c + 1) * n) // chunks]
                # One chunk per call: the kernel's own chunk of X[rows].
                _kernels.fused_dense_serial(
                    readonly(X[r]),
                    W,
                    b,
                    *kernel_targets(r),
                    G_parts[c : c + 1],
                    loss_parts[c : c + 1],
                )
            _kernels.sum_partials_serial(G_parts, False, grad)
            return float(loss_parts.sum()), grad
        data, indices, indptr = self.X_args
        step = _kernels.ROW_CHUNK * max(1, -(-n // (64 * _kernels.ROW_CHUNK)))
        loss_parts = np.zeros(-(-n // _kernels.ROW_CHUNK))
        # The kernel adds every piece's rows, in order, into one partial.
        G_parts = np.zeros((1, d + 1, K))
        WT = np.ascontiguousarray(coef.T, dtype=np.float64)
        b = np.ascontiguousarray(intercept, dtype=np.float64)
        parallel = self.parallel and parallel_allowed()
        kernel = _kernels.fused_csr if parallel else _kernels.fused_csr_serial
        for s0 in range(0, n, step):
            r = rows[s0 : s0 + step]
            starts, counts = indptr[r], indptr[r + 1] - indptr[r]
            ptr = np.zeros(r.shape[0] + 1, dtype=indptr.dtype)
            np.cumsum(counts, out=ptr[1:])
            pos = np.repeat(starts - ptr[:-1], counts) + np.arange(ptr[-1])
            # One column block: a row's logits add its entries in the same
            # order whatever the blocks, so the losses do not depend on them.
            seg = np.stack([ptr[:-1], ptr[1:]])
            Z = np.empty((r.shape[0], K))
            first = s0 // _kernels.ROW_CHUNK
            kernel(
                readonly(data[pos]),
                readonly(indices[pos]),
                seg,
                0,
                r.shape[0],
                WT,
                b,
                *kernel_targets(r),
                Z,
                G_parts,
                loss_parts[first : first - (-r.shape[0] // _kernels.ROW_CHUNK)],
            )
        _kernels.sum_partials_serial(G_parts, True, grad)
        return float(loss_parts.sum()), grad

    def sgd_epoch(
        self, P, optimizer, order, *, batch_size, weight_mean, l2, l1, fit_intercept
    ):
        """One pass of minibatch updates over the rows ``order``, in place.

        Parameters
        ----------
        P : ndarray of float64, shape (K, d + 1)
            Parameters, intercepts in the last column; updated in place.
        optimizer : object
            The update rule's state (``buf1``, ``buf2``, ``l1_applied``,
            ``l1_total``, ``t``, ``eta``, ``code``, ``hyper``,
            ``average_params``, ``average_start``; see
            :class:`~sklearn_softmax._solvers.SGDOptimizer`); its buffers are
            updated in place, its counters are not.
        order : ndarray of int64
            Rows to visit, in this order.
        batch_size : int
            Rows per update.
        weight_mean : float
            Mean row weight of the estimate.
        l2, l1 : float
            Penalty strengths per unit of total weight: every update ends
            with the cumulative L1 penalty and the proximal step of the L2
            penalty (Adam: its gradient gets ``l2 W``); see
            :mod:`sklearn_softmax._kernels._sgd`.
        fit_intercept : bool
            Whether the intercept column is updated.

        Returns
        -------
        total : float
            Sum of the minibatch estimates of the objective.
        n_updates : int
            Number of updates made.
        l1_total : float
            The cumulative L1 penalty ``u`` after the pass.
        """
        targets = self.targets
        kernel = _kernels.sgd_epoch_csr if self.sparse else _kernels.sgd_epoch_dense
        total, n_updates, u = kernel(
            *self.X_args,
            targets.ptr,
            targets.cls,
            targets.prob,
            self.sample_weight,
            self.label_smoothing,
            readonly(np.ascontiguousarray(order, dtype=np.int64)),
            int(batch_size),
            float(weight_mean),
            float(l2),
            float(l1),
            bool(fit_intercept),
            P,
            optimizer.buf1,
            optimizer.buf2,
            optimizer.l1_applied,
            float(optimizer.l1_total),
            np.empty_like(P),
            np.empty(P.shape[0]),
            int(optimizer.t),
            float(optimizer.eta),
            int(optimizer.code),
            optimizer.hyper,
            optimizer.average_params,
            int(optimizer.average_start),
        )
        return float(total), int(n_updates), float(u)
