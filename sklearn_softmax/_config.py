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
  without cache and one :class:`RuntimeWarning` says so. Faults of the cache
  later on (a full disk, a file-size limit, corrupt or unreadable cache files,
  a directory that became read-only) are no errors either: a failed load is a
  miss, a failed save switches that kernel's cache off, and one
  :class:`RuntimeWarning` per process says so.
* Kernels compile lazily, on first use, for the argument types actually seen.
* :func:`compute_threads` sets numba's thread count for one call and limits
  BLAS pools to one thread while numba's threads work: on a machine with few
  cores, OpenBLAS or OpenMP workers spinning beside numba's workers cost
  several times the work itself. Overlapping calls from several Python
  threads share one process-wide limit: the first one in sets it, the last
  one out restores the limits the first one found.
* numba's ``workqueue`` threading layer (its fallback when neither TBB nor
  OpenMP loads) aborts the process when two threads launch parallel regions
  at once. On that layer one thread at a time owns the parallel kernels: a
  :func:`compute_threads` block takes a process-wide lock without waiting,
  and :func:`parallel_allowed` is ``False`` in every thread that does not own
  it, so they run the serial twins, which give the same bits.
"""

from __future__ import annotations

import contextlib
import os
import threading
import types
import warnings

import numba
import threadpoolctl
from threadpoolctl import ThreadpoolController

__all__ = [
    "FASTMATH_FLAGS",
    "ERROR_MODEL",
    "CHUNK_MAX",
    "CHUNK_MIN_ROWS",
    "PARTIALS_BUDGET",
    "n_chunks",
    "THREADSAFE_LAYERS",
    "parallel_allowed",
    "threading_layer_threadsafe",
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

#: numba threading layers whose parallel regions may be launched from several
#: threads at once (numba's documentation, "Selecting a threading layer").
THREADSAFE_LAYERS = frozenset({"tbb", "omp"})

_LAYER_THREADSAFE = None
_STATE_LOCK = threading.Lock()
# Owned by the one thread that may launch parallel regions on a layer that is
# not thread-safe; taken without blocking, so no caller ever waits for it.
_PARALLEL_LOCK = threading.Lock()
_LOCAL = threading.local()
_BLAS_USERS = 0
_BLAS_LIMITER = None


def _mark_forked_child():
    global _FORKED_CHILD, _STATE_LOCK, _PARALLEL_LOCK, _LOCAL
    global _BLAS_USERS, _BLAS_LIMITER
    _FORKED_CHILD = True
    # A lock held by a thread of the parent stays held for ever in the child,
    # where that thread does not exist; so does its share of the BLAS count.
    _STATE_LOCK = threading.Lock()
    _PARALLEL_LOCK = threading.Lock()
    _LOCAL = threading.local()
    _BLAS_USERS = 0
    _BLAS_LIMITER = None


# GNU OpenMP's pool does not survive fork(): a parallel region launched in a
# child of a process that used it aborts the child. Children therefore run
# the serial twins, which walk the same chunks and give identical bits.
os.register_at_fork(after_in_child=_mark_forked_child)


def parallel_allowed():
    """Whether the calling thread may run parallel kernels now.

    Kernels' drivers call it right before choosing between a parallel kernel
    and its serial twin; both walk the same chunks and give the same bits.

    Returns
    -------
    allowed : bool
        ``False`` in a child created by ``fork()`` (for example
        ``multiprocessing`` with the ``"fork"`` start method), where numba's
        OpenMP pool cannot be used. On a threading layer that is not
        thread-safe (``workqueue``), ``True`` only in the thread that owns the
        parallel kernels, that is inside its :func:`compute_threads` block.
    """
    if _FORKED_CHILD:
        return False
    return threading_layer_threadsafe() or getattr(_LOCAL, "owner", False)


def threading_layer_threadsafe():
    """Whether numba's threading layer allows concurrent parallel regions.

    Returns
    -------
    threadsafe : bool
        ``True`` for TBB and OpenMP, ``False`` for ``workqueue`` and for a
        layer numba does not name or cannot load.
    """
    global _LAYER_THREADSAFE
    if _LAYER_THREADSAFE is None:
        # numba picks its layer when it first launches its threads, which
        # get_num_threads does; the layer never changes afterwards.
        try:
            numba.get_num_threads()
            layer = numba.threading_layer()
        except Exception:  # no layer could be loaded: assume the worst
            layer = None
        _LAYER_THREADSAFE = layer in THREADSAFE_LAYERS
    return _LAYER_THREADSAFE


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
            dispatcher = numba.njit(cache=True, **options)(func)
        except (RuntimeError, OSError) as exc:  # no writable cache location
            _warn_no_cache(exc)
        else:
            if hasattr(dispatcher, "_cache"):
                dispatcher._cache = _FaultTolerantCache(dispatcher._cache)
            return dispatcher
    return numba.njit(**options)(func)


class _FaultTolerantCache:
    """One dispatcher's numba cache whose faults never reach the caller.

    numba turns every fault of its on-disk cache (``ENOSPC``, ``EFBIG``,
    ``EROFS``, a truncated or unpicklable index or data file) into an
    exception out of the call that compiles. Here a failed load is a cache
    miss, so the kernel is compiled, and a failed save switches the cache of
    this dispatcher off, so a full disk is not written to again at every
    signature. One :class:`RuntimeWarning` per process reports the first
    fault.

    Parameters
    ----------
    cache : numba.core.caching.FunctionCache
        The dispatcher's own cache, to which everything else is delegated.
    """

    def __init__(self, cache):
        self._inner = cache

    def __getattr__(self, name):
        if name == "_inner":  # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self):
        return f"<fault-tolerant {self._inner!r}>"

    def load_overload(self, sig, target_context):
        try:
            return self._inner.load_overload(sig, target_context)
        except Exception as exc:
            _warn_cache_fault("reading", exc)
            return None

    def save_overload(self, sig, data):
        try:
            self._inner.save_overload(sig, data)
        except Exception as exc:
            self._inner.disable()
            _warn_cache_fault("writing", exc)


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
    _warn_cache_once(
        "sklearn_softmax: numba found no writable cache directory "
        f"({exc}); kernels are compiled in every new process. Set "
        "NUMBA_CACHE_DIR to a writable directory to cache them.",
        stacklevel=4,
    )


def _warn_cache_fault(action, exc):
    _warn_cache_once(
        f"sklearn_softmax: {action} numba's compile cache failed "
        f"({type(exc).__name__}: {exc}); the kernels concerned are compiled "
        "without the cache. Check NUMBA_CACHE_DIR (or the package's "
        "__pycache__ directories) for free space and damaged .nbi/.nbc files.",
        stacklevel=5,
    )


def _warn_cache_once(message, stacklevel):
    # One warning per process, whatever the fault and however many kernels
    # and threads run into it.
    global _CACHE_WARNED
    with _STATE_LOCK:
        if _CACHE_WARNED:
            return
        _CACHE_WARNED = True
    warnings.warn(message, RuntimeWarning, stacklevel=stacklevel)


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
    ``finally`` clause, and so are the BLAS limits once no other thread's
    block needs them. On a threading layer that is not thread-safe, the
    outermost block of a thread takes ownership of the parallel kernels if no
    other thread has it (see :func:`parallel_allowed`); blocks nest.

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
    with _single_threaded_blas(), _parallel_owner():
        numba.set_num_threads(n_threads)
        try:
            yield n_threads
        finally:
            numba.set_num_threads(previous)


@contextlib.contextmanager
def _single_threaded_blas():
    # threadpoolctl's limits are process-wide, but each limiter restores what
    # it found: overlapping blocks of several threads exit in any order, and
    # the last one out would restore the 1 set by another. One limiter,
    # created by the first block in and restored by the last one out, keeps
    # the user's limits.
    global _BLAS_USERS, _BLAS_LIMITER
    lock = _STATE_LOCK
    with lock:
        if _BLAS_USERS == 0:
            _BLAS_LIMITER = _blas_controller().limit(limits=1, user_api="blas")
            _release_blas_control()
        _BLAS_USERS += 1
    try:
        yield
    finally:
        with lock:
            # After a fork the child starts from zero; a block the forking
            # thread entered before it has nothing to give back there.
            if lock is _STATE_LOCK and _BLAS_USERS > 0:
                _BLAS_USERS -= 1
                if _BLAS_USERS == 0:
                    limiter, _BLAS_LIMITER = _BLAS_LIMITER, None
                    limiter.restore_original_limits()
                    _release_blas_control()


def _release_blas_control():
    # threadpoolctl (3.6 and later) lets only one thread at a time change
    # OpenBLAS's process-wide pool -- the first to set it -- and hands control
    # back when that thread's ``with threadpool_limits`` blocks end; other
    # threads' settings are silently dropped. The limit here is set by the
    # first block in and restored by the last one out, often another thread,
    # outside any ``with``: hand control back unless the caller is inside
    # blocks of its own.
    openblas = getattr(threadpoolctl, "OpenBLASController", None)
    clear = getattr(openblas, "clear_controlling_thread", None)
    ownership = getattr(threadpoolctl, "CONTROLLING_THREAD_OWNERSHIP", None)
    if clear is not None and getattr(ownership, "count", 0) <= 0:
        clear()


@contextlib.contextmanager
def _parallel_owner():
    local = _LOCAL
    depth = getattr(local, "depth", 0)
    if depth == 0:
        # The lock object itself is kept: after a fork the child has a new
        # one, and the block must release the one it took.
        lock = _PARALLEL_LOCK
        taken = (
            not _FORKED_CHILD
            and not threading_layer_threadsafe()
            and lock.acquire(blocking=False)
        )
        local.lock = lock if taken else None
        local.owner = taken
    local.depth = depth + 1
    try:
        yield
    finally:
        local.depth -= 1
        if local.depth == 0:
            local.owner = False
            lock, local.lock = local.lock, None
            if lock is not None:
                lock.release()
