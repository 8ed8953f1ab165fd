"""Register-tiled helpers of the fused dense kernel.

The fused dense kernel walks the rows in tiles of eight. For one tile the
logits loop loads every coefficient ``W[k, j]`` once for eight rows and the
gradient loop loads and stores every accumulator ``G[k, j]`` once for eight
rows, which moves the kernel from load-bound towards arithmetic-bound (eight
rows measured twice as fast as four); classes go in pairs, so that one load
of a row segment feeds two classes (15-30% faster for float64). The inner
loops run over the features,
contiguous in both ``X`` and ``W``, and LLVM vectorises them (``reassoc`` is
in the fast-math flags). Features are walked in blocks of :data:`J_BLOCK` so
that the eight row segments of a block stay in L1 while all classes use them.

Arithmetic runs in the dtype of ``X``: float32 data is multiplied and
accumulated in float32, and the kernel flushes the float32 gradient
accumulators into float64 every :data:`FLUSH_ROWS` rows (without the flush a
float32 gradient over 100k rows is off by ~3e-6 relative).
"""

from .._config import jit
from ._rows import TILE

#: Features per cache block.
J_BLOCK = 256
#: Rows accumulated in the dtype of ``X`` before the gradient accumulators are
#: added into the float64 partial (a multiple of :data:`TILE`).
FLUSH_ROWS = 256


@jit
def _dot8x1(y0, y1, y2, y3, y4, y5, y6, y7, w, Z, k, zero):
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = zero
    for j in range(w.shape[0]):
        wj = w[j]
        a0 += y0[j] * wj
        a1 += y1[j] * wj
        a2 += y2[j] * wj
        a3 += y3[j] * wj
        a4 += y4[j] * wj
        a5 += y5[j] * wj
        a6 += y6[j] * wj
        a7 += y7[j] * wj
    Z[k, 0] += a0
    Z[k, 1] += a1
    Z[k, 2] += a2
    Z[k, 3] += a3
    Z[k, 4] += a4
    Z[k, 5] += a5
    Z[k, 6] += a6
    Z[k, 7] += a7


@jit
def logits8(X, i, W, b, Z, zero):
    """``Z[k, r] = X[i + r] @ W[k] + b[k]`` for the eight rows of a tile."""
    n_classes, d = W.shape
    x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
    x4, x5, x6, x7 = X[i + 4], X[i + 5], X[i + 6], X[i + 7]
    for k in range(n_classes):
        for r in range(TILE):
            Z[k, r] = b[k]
    for j0 in range(0, d, J_BLOCK):
        j1 = min(d, j0 + J_BLOCK)
        # Slices, not offset indices: LLVM vectorises the zero-based loop.
        y0, y1, y2, y3 = x0[j0:j1], x1[j0:j1], x2[j0:j1], x3[j0:j1]
        y4, y5, y6, y7 = x4[j0:j1], x5[j0:j1], x6[j0:j1], x7[j0:j1]
        k = 0
        while k + 1 < n_classes:
            # Two classes at once: ten loads feed sixteen multiply-adds.
            w, v = W[k, j0:j1], W[k + 1, j0:j1]
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = zero
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = zero
            for j in range(j1 - j0):
                wj = w[j]
                vj = v[j]
                x = y0[j]
                a0 += x * wj
                c0 += x * vj
                x = y1[j]
                a1 += x * wj
                c1 += x * vj
                x = y2[j]
                a2 += x * wj
                c2 += x * vj
                x = y3[j]
                a3 += x * wj
                c3 += x * vj
                x = y4[j]
                a4 += x * wj
                c4 += x * vj
                x = y5[j]
                a5 += x * wj
                c5 += x * vj
                x = y6[j]
                a6 += x * wj
                c6 += x * vj
                x = y7[j]
                a7 += x * wj
                c7 += x * vj
            Z[k, 0] += a0
            Z[k, 1] += a1
            Z[k, 2] += a2
            Z[k, 3] += a3
            Z[k, 4] += a4
            Z[k, 5] += a5
            Z[k, 6] += a6
            Z[k, 7] += a7
            Z[k + 1, 0] += c0
            Z[k + 1, 1] += c1
            Z[k + 1, 2] += c2
            Z[k + 1, 3] += c3
            Z[k + 1, 4] += c4
            Z[k + 1, 5] += c5
            Z[k + 1, 6] += c6
            Z[k + 1, 7] += c7
            k += 2
        if k < n_classes:
            w = W[k, j0:j1]
            _dot8x1(y0, y1, y2, y3, y4, y5, y6, y7, w, Z, k, zero)


@jit
def _axpy8x1(y0, y1, y2, y3, y4, y5, y6, y7, R, k, g):
    r0, r1, r2, r3 = R[k, 0], R[k, 1], R[k, 2], R[k, 3]
    r4, r5, r6, r7 = R[k, 4], R[k, 5], R[k, 6], R[k, 7]
    for j in range(g.shape[0]):
        g[j] += ((r0 * y0[j] + r1 * y1[j]) + (r2 * y2[j] + r3 * y3[j])) + (
            (r4 * y4[j] + r5 * y5[j]) + (r6 * y6[j] + r7 * y7[j])
        )


@jit
def accumulate8(X, i, R, Gb):
    """``Gb[k, :d] += sum_r R[k, r] X[i + r]``, ``Gb[k, d] += sum_r R[k, r]``."""
    n_classes, d1 = Gb.shape
    d = d1 - 1
    x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
    x4, x5, x6, x7 = X[i + 4], X[i + 5], X[i + 6], X[i + 7]
    for j0 in range(0, d, J_BLOCK):
        j1 = min(d, j0 + J_BLOCK)
        y0, y1, y2, y3 = x0[j0:j1], x1[j0:j1], x2[j0:j1], x3[j0:j1]
        y4, y5, y6, y7 = x4[j0:j1], x5[j0:j1], x6[j0:j1], x7[j0:j1]
        k = 0
        while k + 1 < n_classes:
            # Two classes at once: each row segment is loaded once for both.
            g, h = Gb[k, j0:j1], Gb[k + 1, j0:j1]
            r0, r1, r2, r3 = R[k, 0], R[k, 1], R[k, 2], R[k, 3]
            r4, r5, r6, r7 = R[k, 4], R[k, 5], R[k, 6], R[k, 7]
            s0, s1, s2, s3 = R[k + 1, 0], R[k + 1, 1], R[k + 1, 2], R[k + 1, 3]
            s4, s5, s6, s7 = R[k + 1, 4], R[k + 1, 5], R[k + 1, 6], R[k + 1, 7]
            for j in range(j1 - j0):
                e0, e1, e2, e3 = y0[j], y1[j], y2[j], y3[j]
                e4, e5, e6, e7 = y4[j], y5[j], y6[j], y7[j]
                g[j] += ((r0 * e0 + r1 * e1) + (r2 * e2 + r3 * e3)) + (
                    (r4 * e4 + r5 * e5) + (r6 * e6 + r7 * e7)
                )
                h[j] += ((s0 * e0 + s1 * e1) + (s2 * e2 + s3 * e3)) + (
                    (s4 * e4 + s5 * e5) + (s6 * e6 + s7 * e7)
                )
            k += 2
        if k < n_classes:
            _axpy8x1(y0, y1, y2, y3, y4, y5, y6, y7, R, k, Gb[k, j0:j1])
    for k in range(n_classes):
        Gb[k, d] += ((R[k, 0] + R[k, 1]) + (R[k, 2] + R[k, 3])) + (
            (R[k, 4] + R[k, 5]) + (R[k, 6] + R[k, 7])
        )


@jit
def logits1(x0, W, b, Z, zero):
    """``Z[k, 0] = x0 @ W[k] + b[k]`` for a single row."""
    n_classes, d = W.shape
    for k in range(n_classes):
        w = W[k]
        a0 = zero
        for j in range(d):
            a0 += x0[j] * w[j]
        Z[k, 0] = a0 + b[k]


@jit
def accumulate1(x0, R, Gb):
    """``Gb[k, :d] += R[k, 0] x0`` and ``Gb[k, d] += R[k, 0]``."""
    n_classes, d1 = Gb.shape
    d = d1 - 1
    for k in range(n_classes):
        g = Gb[k]
        r0 = R[k, 0]
        for j in range(d):
            g[j] += r0 * x0[j]
        g[d] += r0


@jit
def flush(G, Gb, off):
    """``G[off + k] += Gb[k]`` (float64) and reset ``Gb`` to zero."""
    n_classes, d1 = Gb.shape
    for k in range(n_classes):
        for j in range(d1):
            G[off + k, j] += Gb[k, j]
            Gb[k, j] = 0.0
