"""Hessian-vector products of the data term at one point.

:class:`DataHessian` is what
:meth:`~sklearn_softmax._datafit.SoftmaxDataTerm.loss_gradient_hessp` returns
besides the loss and the gradient: the probabilities kept at that point and
the kernels of :mod:`sklearn_softmax._kernels._hessp` that apply the Hessian.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _kernels
from ._config import n_chunks, parallel_allowed
from ._workspace import buffer as _buffer
from ._workspace import partials as _partials

#: Elements of the temporaries of one slice of rows in ``diagonal()``.
_DIAGONAL_SLICE = 1 << 20

__all__ = ["DataHessian"]


class DataHessian:
    """Hessian of the data term at one point, from its kept probabilities.

    Made by
    :meth:`~sklearn_softmax._datafit.SoftmaxDataTerm.loss_gradient_hessp`;
    every product is one pass over ``X`` (see
    :mod:`sklearn_softmax._kernels._hessp`). Sums are unnormalised, as the
    data term's: a distributed backend adds the products of its blocks.

    Parameters
    ----------
    term : SoftmaxDataTerm
        The data term (data, weights, work buffers).
    P : ndarray
        The probabilities kept at the point (see
        :func:`~sklearn_softmax._datafit.data_loss_gradient`).
    """

    def __init__(self, term, P):
        self._term = term
        # Kernels take read-only arrays (one compiled signature for all).
        self._P = P.view()
        self._P.flags.writeable = False

    def __call__(self, V, vb):
        """Return ``H [V | vb]``.

        Parameters
        ----------
        V : ndarray, shape (K, d)
            Coefficient part of the direction.
        vb : ndarray, shape (K,)
            Intercept part of the direction (zeros without intercepts).

        Returns
        -------
        Hv : ndarray of float64, shape (K, d + 1)
            ``sum_i s_i (p_i * u_i - p_i (p_i . u_i)) [x_i, 1]`` with
            ``u_i = V x_i + vb``; the last column is for the intercept.
        """
        term = self._term
        n_classes, d = V.shape
        # The kernels index V, vb and the kept probabilities by the data's
        # shape without bounds checks: refuse a direction of another shape.
        if (n_classes, d) != (term.n_classes, term.n_features) or np.shape(vb) != (
            n_classes,
        ):
            raise ValueError(
                f"direction of shape {V.shape} and {np.shape(vb)} for a Hessian of "
                f"{term.n_classes} classes and {term.n_features} features"
            )
        n = term.n_samples
        sw, workspace = term.sample_weight, term._workspace
        if term.sparse:
            data, indices, _ = term.X_args
            parallel = term.parallel and n > _kernels.ROW_CHUNK and parallel_allowed()
            layout = workspace["csr_layout"]
            G_parts = _partials(workspace, (layout.n_groups, d + 1, n_classes))
            G_parts.fill(0.0)
            span = min(layout.span, n)
            Z = _buffer(workspace, "csr_logits", (span, n_classes))
            VT = np.ascontiguousarray(V.T, dtype=np.float64)
            b = np.ascontiguousarray(vb, dtype=np.float64)
            kernel = _kernels.hessp_csr if parallel else _kernels.hessp_csr_serial
            for s0 in range(0, n, span):
                s1 = min(n, s0 + span)
                kernel(
                    data, indices, layout.seg, s0, s1, VT, b, self._P, sw, Z, G_parts
                )
        else:
            X = term.X_args[0]
            chunks = n_chunks(n, n_classes * (d + 1))
            parallel = term.parallel and chunks > 1 and parallel_allowed()
            G_parts = _partials(workspace, (chunks, n_classes, d + 1))
            W = np.ascontiguousarray(V, dtype=X.dtype)
            b = np.ascontiguousarray(vb, dtype=X.dtype)
            kernel = _kernels.hessp_dense if parallel else _kernels.hessp_dense_serial
            kernel(X, W, b, self._P, sw, G_parts)
        Hv = np.empty((n_classes, d + 1))
        combine = _kernels.sum_partials if parallel else _kernels.sum_partials_serial
        combine(G_parts, term.sparse, Hv)
        return Hv

    def diagonal(self):
        """Diagonal of the Hessian, shape ``(K, d + 1)``: a preconditioner.

        ``sum_i s_i p_ik (1 - p_ik) x_ij^2`` (``x_i[d] = 1``), in numpy by
        slices of rows: one more pass over ``X``.
        """
        term = self._term
        n, d, P, sw = term.n_samples, term.n_features, self._P, term.sample_weight
        D = np.zeros((P.shape[1], d + 1))
        if term.sparse:
            X2 = term._workspace.get("csr_squared")
            if X2 is None:
                data, indices, indptr = term.X_args
                sq = np.square(data, dtype=np.float64)
                X2 = sp.csr_matrix((sq, indices, indptr), shape=(n, d))
                term._workspace["csr_squared"] = X2
        # Slices of about 8 MB of temporaries (weights; squared rows when
        # dense): few scipy calls, since slicing CSR rows costs more than the
        # product, and bounded memory for any n.
        width = P.shape[1] if term.sparse else max(P.shape[1], d)
        step = max(4096, _DIAGONAL_SLICE // width)
        for s0 in range(0, n, step):
            Pc = np.asarray(P[s0 : s0 + step], dtype=np.float64)
            Wc = sw[s0 : s0 + step, None] * Pc * (1.0 - Pc)
            if term.sparse:
                rows = X2 if step >= n else X2[s0 : s0 + step]
                D[:, :d] += (rows.T @ Wc).T
            else:
                Xc = np.asarray(term.X_args[0][s0 : s0 + step], dtype=np.float64)
                D[:, :d] += Wc.T @ (Xc * Xc)
            D[:, d] += Wc.sum(axis=0)
        # Two classes, dense: one row of P, the same curvature for both rows.
        return np.vstack([D, D]) if D.shape[0] != term.n_classes else D
