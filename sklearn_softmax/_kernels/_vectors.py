"""Vector updates of the L-BFGS two-loop recursion.

At hundreds of thousands of parameters the direction of an L-BFGS step costs
``4 m`` passes over vectors as long as the parameters (``m`` stored pairs).
Each step of the recursion is an update ``q -= a y`` followed by a dot
product with the updated ``q``; :func:`axpy_dot` does both in one pass, so a
recursion reads every stored vector once per loop.

The dot product is summed per fixed chunk of the vector (``parts.shape[0]``
chunks, chosen by the caller from the length only) and the caller adds the
chunk sums in order, so the result does not depend on the thread count.
"""

from numba import prange

from .._config import jit


def _axpy_dot(q, a, y, s, parts):
    n = q.shape[0]
    n_chunks = parts.shape[0]
    for c in prange(n_chunks):
        start = (c * n) // n_chunks
        stop = ((c + 1) * n) // n_chunks
        acc = 0.0
        for i in range(start, stop):
            v = q[i] - a * y[i]
            q[i] = v
            acc += s[i] * v
        parts[c] = acc


#: ``q -= a * y`` in place, then ``parts[c] = sum(s * q)`` over chunk ``c``
#: (parallel over chunks).
axpy_dot = jit(_axpy_dot, parallel=True)
#: Serial, GIL-releasing twin of :data:`axpy_dot`.
axpy_dot_serial = jit(_axpy_dot)
