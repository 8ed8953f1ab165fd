"""Numba policy: compilation flags, the compile cache and thread control.

Every numba decorator in the package comes from :func:`jit` so that the policy
(cache, fastmath flags, GIL release) is decided in exactly one place.

Policy
------
* ``FASTMATH_FLAGS`` lets LLVM reassociate and contract floating point
  operations (vectorised reductions, fused multiply-add) but keeps ``nnan``
  and ``ninf`` off, so NaN and infinity propagate as IEEE 754 says.
  numba's blanket fast-math switch is never turned on.
* ``ERROR_MODEL`` is numpy's: a float division by zero gives ``inf`` or
  ``NaN`` as IEEE 754 says instead of raising ``ZeroDivisionError``. The
  check behind the exception is a branch in every division, and it keeps
  LLVM from vectorising any loop that divides.
* ``cache=True`` is tried first; when numba finds no writable cache location
  (a read-only install without ``NUMBA_CACHE_DIR``), the kernels compile
  without cache and one :class:`RuntimeWarning` says so.
* Kernels compile lazily, on first use, for the argument types actually seen.
* :func:`compute_threads` sets numba's thread count for one call and limits
  BLAS pools to one thread while numba's threads work: on a machine with few
  cores, OpenBLAS or OpenMP workers spinning beside numba's workers cost
  several times the work itself.
"""

from __future__ import annotations

import contextlib
import os
import types
import warnings

import numba
from threadpoolctl import ThreadpoolController

__all__ = [
    "FASTMATH_FLAGS",
    "ERROR_MODEL",
    "CHUNK_MAX",
    "CHUNK_MIN_ROWS",
    "PARTIALS_BUDGET",
    "n_chunks",
    "parallel_allowed",
    "jit",
    "compute_threads",
    "resolve_n_threads",
]

#: LLVM fast-math flags used by every kernel: no ``nnan``/``ninf``, so NaN and
#: infinity keep their IEEE meaning; ``reassoc`` and ``contract`` allow SIMD
#: reductions and fused multiply-add.
FASTMATH_FLAGS = frozenset({"nsz", "arcp", "contract", "reassoc"})

#: numba's error model of every kernel: ``"numpy"`` (IEEE results, no
#: ``ZeroDivisionError`` check, so loops with divisions vectorise).
ERROR_MODEL = "numpy"

#: Upper bound on the number of row chunks a parallel reduction uses. The
#: partition depends only on the data shape, never on the thread count, which
#: makes every reduction bitwise reproducible for any ``n_jobs``.
CHUNK_MAX = 64

#: Smallest number of rows worth a chunk of its own.
CHUNK_MIN_ROWS = 256

#: Memory allowed for the per-chunk partial gradients of one reduction.
PARTIALS_BUDGET = 32 * 2**20

_CACHE_WARNED = False
_CONTROLLER = None
_FORKED_CHILD = False


def _mark_forked_child():
    global _FORKED_CHILD
    _FORKED_CHILD = True


# GNU OpenMP's pool does not survive fork(): a parallel region launched in a
# child of a process that used it aborts the child. Children therefore run
# the serial twins, which walk the same chunks and give identical bits.
os.register_at_fork(after_in_child=_mark_forked_child)


def parallel_allowed():
    """Whether parallel kernels may run in this process.

    Returns
    -------
    allowed : bool
        ``False`` in a child created by ``fork()`` (for example
        ``multiprocessing`` with the ``"fork"`` start method), where numba's
        OpenMP pool cannot be used; the serial twins are used there instead.
    """
    return not _FORKED_CHILD


def _blas_controller():
    # Building a controller walks every loaded shared library (milliseconds);
    # build it once, on first use, after numpy and scipy have loaded BLAS.
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def n_chunks(n_rows, partial_size):
    """Choose the number of row chunks of a parallel reduction.

    The partition depends only on the data shape, never on the thread count,
    so that the reduction is bitwise reproducible for any ``n_jobs``.

    Parameters
    ----------
    n_rows : int
        Number of rows reduced over.
    partial_size : int
        Number of float64 values in one chunk's partial result.

    Returns
    -------
    n_chunks : int
        At least 1, at most :data:`CHUNK_MAX`, with at least
        :data:`CHUNK_MIN_ROWS` rows per chunk and all partial results within
        :data:`PARTIALS_BUDGET` bytes.
    """
    by_rows = -(-n_rows // CHUNK_MIN_ROWS)
    by_memory = PARTIALS_BUDGET // max(1, 8 * partial_size)
    return int(max(1, min(CHUNK_MAX, by_rows, by_memory)))


def _cache_requested():
    return os.environ.get("SKLEARN_SOFTMAX_NO_CACHE", "") in ("", "0")


def jit(func=None, *, parallel=False, inline="never"):
    """Compile ``func`` with the package's numba policy.

    Parameters
    ----------
    func : callable, optional
        Function to compile. When omitted, a decorator is returned.
    parallel : bool, default=False
        Whether ``numba.prange`` loops run on numba's thread pool. With
        ``parallel=False`` they run as plain ranges, which gives every
        parallel kernel a serial, GIL-releasing twin from the same source.
    inline : {"never", "always"}, default="never"
        ``"always"`` inlines the function into its callers before numba
        compiles them (small helpers called inside loops LLVM vectorises).

    Returns
    -------
    dispatcher : numba dispatcher or callable
        The lazily compiling dispatcher, or a decorator producing one.
    """
    if func is None:
        return lambda f: jit(f, parallel=parallel, inline=inline)
    # Both twins get a suffix, so entries cached before the twins were told
    # apart can never match again.
    func = _renamed(func, "__parallel" if parallel else "__serial")
    options = dict(
        nogil=True,
        parallel=parallel,
        fastmath=set(FASTMATH_FLAGS),
        error_model=ERROR_MODEL,
        inline=inline,
    )
    if _cache_requested():
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError as exc:  # no writable cache location
            _warn_no_cache(exc)
    return numba.njit(**options)(func)


def _renamed(func, suffix):
    """Copy ``func`` under another qualified name.

    numba's on-disk cache is keyed by the function's qualified name and
    signature, not by its compile options: without a distinct name the serial
    twin would load the parallel twin's machine code from the cache.
    """
    clone = types.FunctionType(
        func.__code__,
        func.__globals__,
        func.__name__ + suffix,
        func.__defaults__,
        func.__closure__,
    )
    clone.__qualname__ = func.__qualname__ + suffix
    clone.__module__ = func.__module__
    clone.__doc__ = func.__doc__
    return clone


def _warn_no_cache(exc):
    global _CACHE_WARNED
    if not _CACHE_WARNED:
        _CACHE_WARNED = True
        warnings.warn(
            "sklearn_softmax: numba found no writable cache directory "
            f"({exc}); kernels are compiled in every new process. Set "
            "NUMBA_CACHE_DIR to a writable directory to cache them.",
            RuntimeWarning,
            stacklevel=3,
        )


def resolve_n_threads(n_jobs):
    """Translate an ``n_jobs`` value into a number of numba threads.

    Parameters
    ----------
    n_jobs : int or None
        ``None`` keeps numba's current setting for this thread, ``-1`` uses
        every thread the process allows, ``-2`` all but one, and a positive
        value is capped by what the process allows (``NUMBA_NUM_THREADS``,
        which joblib sets to 1 in its workers).

    Returns
    -------
    n_threads : int
        A thread count between 1 and ``numba.config.NUMBA_NUM_THREADS``.
    """
    allowed = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return numba.get_num_threads()
    if n_jobs < 0:
        return max(1, allowed + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 is not a valid number of threads.")
    return min(n_jobs, allowed)


@contextlib.contextmanager
def compute_threads(n_jobs):
    """Run a block with ``n_jobs`` numba threads and single-threaded BLAS.

    The previous numba thread count (which is thread-local) is restored in a
    ``finally`` clause, and so are the BLAS limits.

    Parameters
    ----------
    n_jobs : int or None
        See :func:`resolve_n_threads`.

    Yields
    ------
    n_threads : int
        The number of numba threads in force inside the block.
    """
    n_threads = resolve_n_threads(n_jobs)
    previous = numba.get_num_threads()
    with _blas_controller().limit(limits=1, user_api="blas"):
        numba.set_num_threads(n_threads)
        try:
            yield n_threads
        finally:
            numba.set_num_threads(previous)
