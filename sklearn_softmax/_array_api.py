"""Array API inputs: converted to NumPy on entry, results returned in their namespace.

The kernels work on NumPy arrays in host memory. An input that implements the
array API standard (``__array_namespace__``; for example ``array_api_strict``
or a CPU tensor library) is converted to NumPy once, through DLPack where it
can be (no copy for host memory), and the estimator's outputs go back to the
input's namespace and device. This is compatibility, not acceleration: the
computation is the NumPy one.
"""

from __future__ import annotations

import numpy as np

__all__ = ["from_numpy", "namespace_of", "to_numpy"]


def _is_foreign(a):
    return hasattr(a, "__array_namespace__") and not isinstance(a, np.ndarray)


def namespace_of(a):
    """``(namespace, device)`` of an array API input other than NumPy, else None."""
    if not _is_foreign(a):
        return None
    return a.__array_namespace__(), getattr(a, "device", None)


def to_numpy(a):
    """Return ``a`` as a NumPy array when it is another library's array.

    Raises
    ------
    TypeError
        If the array cannot be brought to host memory (a GPU array, for
        example): the kernels only run on NumPy data.
    """
    if not _is_foreign(a):
        return a
    try:
        return np.from_dlpack(a)
    except (TypeError, RuntimeError, BufferError, ValueError, AttributeError):
        pass
    try:
        return np.asarray(a)
    except Exception as exc:
        raise TypeError(
            f"Cannot convert the {type(a).__module__}.{type(a).__name__} input to "
            f"a NumPy array ({exc}); the kernels run on NumPy data in host "
            "memory. Move the data to the CPU first."
        ) from exc


def from_numpy(space, result):
    """Return ``result`` in the namespace and device ``space`` of the input.

    Results the namespace cannot hold (string class labels, for example)
    stay NumPy arrays.
    """
    if space is None:
        return result
    xp, device = space
    try:
        if device is not None:
            return xp.asarray(result, device=device)
        return xp.asarray(result)
    except (TypeError, ValueError):
        return result
