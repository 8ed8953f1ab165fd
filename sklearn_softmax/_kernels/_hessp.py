r"""Hessian-vector products of the data term, dense and CSR.

With ``p_i`` the probabilities of row ``i`` at the current coefficients and
``x~_i = [x_i, 1]``, the data term's Hessian applied to a direction ``V``
(``K x (d + 1)``, intercepts in the last column) is

.. math::

    H V = \sum_i s_i\, \big(p_i \odot u_i - p_i\, (p_i \cdot u_i)\big)\,
    \tilde x_i^\top, \qquad u_i = V \tilde x_i .

It depends on the probabilities only: label smoothing and soft targets
change the gradient, not the Hessian. A Newton solver needs many products at
one point, so the probabilities are kept when the gradient is evaluated
(:func:`fused_dense_keep`, and :func:`keep_probabilities` after the CSR
kernel): a product is then one pass over ``X`` for ``u`` and the product
itself, in the block structure of the gradient kernels (dense: one BLAS
product for ``u`` and one for the result per L2-sized block of rows; CSR:
the column blocks, row groups and spans of
:class:`~sklearn_softmax._csr_layout.CsrLayout`).

The probabilities are recovered from the residuals the gradient kernels
compute, ``p = r / s + t`` with ``t`` the (smoothed) target, which costs a
division per row instead of a second softmax; the absolute error is that of
the residual (an ulp of 1), and rows of weight zero, which add nothing to the
Hessian, keep ``p = 0``.

For two classes the dense kernels use one logit ``(w_1 - w_0) x``; so does
the product: ``P`` has one column, ``p_1``, the row's curvature is
``s p_1 (1 - p_1)``, the result's row 1 is ``s p_1 (1 - p_1) u x~`` with
``u = (v_1 - v_0) \cdot x~`` and row 0 its negative, which is the general
formula for ``K = 2``. The CSR kernels keep both classes.

Determinism: the row chunks (dense) and the row groups (CSR) are those of
the gradient kernels, fixed by the data shape; the caller sums the partials
in order (:func:`._fused.sum_partials`), so the products are bitwise the same
for any number of threads. Each kernel has a serial, GIL-releasing twin.
"""

import numpy as np
from numba import prange

from .._config import jit
from ._csr import ROW_CHUNK
from ._fused import _block_rows
from ._rows import block_residual


@jit(inline="always")
def _probabilities(Rt, i0, t_ptr, t_cls, t_prob, sw, eps, P, n_classes):
    # Rt[k, r] = s (p_k - t_k) for row i0 + r (rows of P: one column per row
    # of Rt); classes off = n_classes - Rt.shape[0] on are stored.
    n_rows_w, width = Rt.shape
    off = n_classes - n_rows_w
    smooth = eps / n_classes
    keep = 1.0 - eps
    for r in range(width):
        i = i0 + r
        w = sw[i]
        inv = 1.0 / w if w > 0.0 else 0.0
        for k in range(n_rows_w):
            P[i, k] = Rt[k, r] * inv + smooth
        for t in range(t_ptr[i], t_ptr[i + 1]):
            k = t_cls[t] - off
            if k >= 0:
                P[i, k] += keep * t_prob[t]
        for k in range(n_rows_w):
            p = P[i, k] if w > 0.0 else 0.0
            # Rounding may leave -1e-17 or 1 + 1e-16: keep a distribution.
            P[i, k] = min(1.0, max(0.0, p))


def _fused_dense_keep(X, W, b, t_ptr, t_cls, t_prob, sw, eps, G_parts, loss_parts, P):
    # _fused_dense, which also writes the probabilities of every row into P
    # (n x 1 for two classes, else n x K).
    n, d = X.shape
    n_classes = W.shape[0]
    n_chunks = G_parts.shape[0]
    binary = n_classes == 2
    n_rows_w = 1 if binary else n_classes
    off = n_classes - n_rows_w
    block = _block_rows(d, X.itemsize)
    for c in prange(n_chunks):
        start = (c * n) // n_chunks
        stop = ((c + 1) * n) // n_chunks
        G = G_parts[c]
        G[:, :] = 0.0
        WT = np.empty((d, n_rows_w), dtype=X.dtype)
        bk = np.empty(n_rows_w)
        if binary:
            for j in range(d):
                WT[j, 0] = W[1, j] - W[0, j]
            bk[0] = b[1] - b[0]
        else:
            for k in range(n_classes):
                for j in range(d):
                    WT[j, k] = W[k, j]
                bk[k] = b[k]
        Zb = np.empty((block, n_rows_w), dtype=X.dtype)
        Zflat = np.empty(n_classes * block, dtype=X.dtype)
        Gb = np.empty((n_rows_w, d), dtype=X.dtype)
        scratch = np.empty((4, block))
        loss = 0.0
        i0 = start
        while i0 < stop:
            i1 = min(stop, i0 + block)
            rows = i1 - i0
            Xb = X[i0:i1]
            Z = Zb[:rows]
            np.dot(Xb, WT, Z)
            Zt = Zflat[: n_classes * rows].reshape((n_classes, rows))
            if binary:
                for r in range(rows):
                    Zt[0, r] = 0.0
            for k in range(n_rows_w):
                bb = bk[k]
                for r in range(rows):
                    Zt[off + k, r] = Z[r, k] + bb
            loss += block_residual(Zt, i0, t_ptr, t_cls, t_prob, sw, eps, scratch)
            R = Zt[off:]
            _probabilities(R, i0, t_ptr, t_cls, t_prob, sw, eps, P, n_classes)
            np.dot(R, Xb, Gb)
            for k in range(n_rows_w):
                g = G[off + k]
                for j in range(d):
                    g[j] += Gb[k, j]
                total = 0.0
                for r in range(rows):
                    total += R[k, r]
                g[d] += total
            i0 = i1
        if binary:
            for j in range(d + 1):
                G[0, j] = -G[1, j]
        loss_parts[c] = loss


def _hessp_dense(X, V, vb, P, sw, G_parts):
    # G_parts[c] = sum over chunk c of s_i (p_i * u_i - p_i (p_i . u_i)) x~_i
    # with u_i = V x_i + vb; P as written by _fused_dense_keep.
    n, d = X.shape
    n_classes = V.shape[0]
    n_chunks = G_parts.shape[0]
    binary = n_classes == 2
    n_rows_w = 1 if binary else n_classes
    off = n_classes - n_rows_w
    block = _block_rows(d, X.itemsize)
    for c in prange(n_chunks):
        start = (c * n) // n_chunks
        stop = ((c + 1) * n) // n_chunks
        G = G_parts[c]
        G[:, :] = 0.0
        VT = np.empty((d, n_rows_w), dtype=X.dtype)
        vk = np.empty(n_rows_w)
        if binary:
            for j in range(d):
                VT[j, 0] = V[1, j] - V[0, j]
            vk[0] = vb[1] - vb[0]
        else:
            for k in range(n_classes):
                for j in range(d):
                    VT[j, k] = V[k, j]
                vk[k] = vb[k]
        Ub = np.empty((block, n_rows_w), dtype=X.dtype)
        Rflat = np.empty(n_rows_w * block, dtype=X.dtype)
        Gb = np.empty((n_rows_w, d), dtype=X.dtype)
        pu = np.empty(block)
        i0 = start
        while i0 < stop:
            i1 = min(stop, i0 + block)
            rows = i1 - i0
            Xb = X[i0:i1]
            U = Ub[:rows]
            np.dot(Xb, VT, U)
            Rt = Rflat[: n_rows_w * rows].reshape((n_rows_w, rows))
            if binary:
                bb = vk[0]
                for r in range(rows):
                    p = np.float64(P[i0 + r, 0])
                    Rt[0, r] = sw[i0 + r] * (p * (1.0 - p)) * (U[r, 0] + bb)
            else:
                for r in range(rows):
                    pu[r] = 0.0
                for k in range(n_classes):
                    bb = vk[k]
                    for r in range(rows):
                        pu[r] += P[i0 + r, k] * (U[r, k] + bb)
                for k in range(n_classes):
                    bb = vk[k]
                    for r in range(rows):
                        p = np.float64(P[i0 + r, k])
                        Rt[k, r] = sw[i0 + r] * p * ((U[r, k] + bb) - pu[r])
            np.dot(Rt, Xb, Gb)
            for k in range(n_rows_w):
                g = G[off + k]
                for j in range(d):
                    g[j] += Gb[k, j]
                total = 0.0
                for r in range(rows):
                    total += Rt[k, r]
                g[d] += total
            i0 = i1
        if binary:
            for j in range(d + 1):
                G[0, j] = -G[1, j]


def _keep_probabilities(Z, s0, s1, t_ptr, t_cls, t_prob, sw, eps, P):
    # Probabilities of the rows [s0, s1) from the residuals Z[: s1 - s0] the
    # CSR kernel leaves (one row of Z per data row, all K classes).
    n_classes = Z.shape[1]
    n_rc = (s1 - s0 + ROW_CHUNK - 1) // ROW_CHUNK
    for rc in prange(n_rc):
        r0 = s0 + rc * ROW_CHUNK
        r1 = min(s1, r0 + ROW_CHUNK)
        Rt = np.empty((n_classes, r1 - r0))
        for i in range(r0, r1):
            for k in range(n_classes):
                Rt[k, i - r0] = Z[i - s0, k]
        _probabilities(Rt, r0, t_ptr, t_cls, t_prob, sw, eps, P, n_classes)


def _hessp_csr(data, indices, seg, s0, s1, VT, vb, P, sw, Z, G_parts):
    # The two phases of _fused_csr with the Hessian's row transform in place
    # of the softmax residual.
    n_blocks = seg.shape[0] - 1
    d, n_classes = VT.shape
    n_rc = (s1 - s0 + ROW_CHUNK - 1) // ROW_CHUNK
    for rc in prange(n_rc):
        r0 = s0 + rc * ROW_CHUNK
        r1 = min(s1, r0 + ROW_CHUNK)
        for i in range(r0, r1):
            for k in range(n_classes):
                Z[i - s0, k] = vb[k]
        for blk in range(n_blocks):
            for i in range(r0, r1):
                row = i - s0
                for p in range(seg[blk, i], seg[blk + 1, i]):
                    v = data[p]
                    j = indices[p]
                    for k in range(n_classes):
                        Z[row, k] += v * VT[j, k]
        for i in range(r0, r1):
            row = i - s0
            pu = 0.0
            for k in range(n_classes):
                pu += P[i, k] * Z[row, k]
            w = sw[i]
            for k in range(n_classes):
                Z[row, k] = w * P[i, k] * (Z[row, k] - pu)
    n_groups = G_parts.shape[0]
    for task in prange(n_groups * n_blocks):
        g = task // n_blocks
        blk = task - g * n_blocks
        G = G_parts[g]
        r0 = s0 + ((s1 - s0) * g) // n_groups
        r1 = s0 + ((s1 - s0) * (g + 1)) // n_groups
        for i in range(r0, r1):
            row = i - s0
            for p in range(seg[blk, i], seg[blk + 1, i]):
                v = data[p]
                j = indices[p]
                for k in range(n_classes):
                    G[j, k] += v * Z[row, k]
        if blk == 0:
            for i in range(r0, r1):
                for k in range(n_classes):
                    G[d, k] += Z[i - s0, k]


#: :data:`._fused.fused_dense` that also writes the probabilities of every
#: row (parallel over chunks).
fused_dense_keep = jit(_fused_dense_keep, parallel=True)
#: Serial, GIL-releasing twin of :data:`fused_dense_keep`.
fused_dense_keep_serial = jit(_fused_dense_keep)

#: Hessian-vector product of the data term for dense ``X`` (parallel over
#: chunks; partials as :data:`._fused.fused_dense` writes them).
hessp_dense = jit(_hessp_dense, parallel=True)
#: Serial, GIL-releasing twin of :data:`hessp_dense`.
hessp_dense_serial = jit(_hessp_dense)

#: Probabilities of a CSR span from the residuals of :data:`._csr.fused_csr`
#: (parallel over row chunks).
keep_probabilities = jit(_keep_probabilities, parallel=True)
#: Serial, GIL-releasing twin of :data:`keep_probabilities`.
keep_probabilities_serial = jit(_keep_probabilities)

#: Hessian-vector product of the rows ``[s0, s1)`` of CSR data (parallel
#: over row chunks, then over (row group, column block) tasks; partials as
#: :data:`._csr.fused_csr` writes them).
hessp_csr = jit(_hessp_csr, parallel=True)
#: Serial, GIL-releasing twin of :data:`hessp_csr`.
hessp_csr_serial = jit(_hessp_csr)
