"""Data cache sizes of the machine, read once per process.

The CSR layout (:mod:`sklearn_softmax._csr_layout`) sizes its column blocks
and work arrays from the caches of the CPU it runs on instead of constants
tuned on one CPU: the same matrix is split differently on a machine with
1 MB of L2 and 32 MB of L3 than on one with 2 MB and 300 MB. The sizes are
properties of the machine, never of the thread count, so the layout, and
with it every result, is the same for any ``n_jobs`` on one machine (and
may differ in its last bits between machines with different caches, as
BLAS results do).

Sources, in order:

1. Linux sysfs, ``/sys/devices/system/cpu/cpu0/cache/index*/`` (``level``,
   ``type``, ``size``, ``shared_cpu_list``): what the kernel was told,
   including by a hypervisor;
2. ``os.sysconf`` (glibc's ``SC_LEVEL*_CACHE_SIZE``, from ``cpuid``), which
   may report the host's last-level cache in a virtual machine, so it is
   only the fallback;
3. :data:`DEFAULT_CACHES`, small enough for any CPU of the last decade.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CacheSizes", "DEFAULT_CACHES", "cache_sizes", "read_sysfs"]

_SYSFS = Path("/sys/devices/system/cpu/cpu0/cache")


@dataclass(frozen=True)
class CacheSizes:
    """Data cache sizes seen by one core.

    Attributes
    ----------
    l1d : int
        Bytes of the level 1 data cache.
    l2 : int
        Bytes of the level 2 cache.
    l3 : int
        Bytes of the level 3 cache, 0 if there is none.
    l3_cpus : int
        Logical CPUs sharing the level 3 cache (1 if unknown).
    source : str
        Where the sizes come from: ``"sysfs"``, ``"sysconf"``, ``"default"``
        or ``"given"``.
    """

    l1d: int
    l2: int
    l3: int = 0
    l3_cpus: int = 1
    source: str = "given"

    @property
    def l3_share(self):
        """Bytes of the level 3 cache per CPU sharing it (0 without one)."""
        return self.l3 // max(1, self.l3_cpus)


#: Used when neither sysfs nor sysconf tells: 32 KB L1d, 512 KB L2, no L3.
DEFAULT_CACHES = CacheSizes(32 * 2**10, 512 * 2**10, 0, 1, "default")


def _parse_size(text):
    # sysfs writes "32K", "1024K", "32768K"; accept M and G and bare bytes.
    text = text.strip().upper()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    digits = text[:-1] if scale != 1 else text
    return int(digits) * scale


def _count_cpus(text):
    # "0-1", "0,2,4-7" -> number of CPUs listed.
    count = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


def read_sysfs(root=_SYSFS):
    """Read the data caches of one CPU from a sysfs ``cache`` directory.

    Parameters
    ----------
    root : path-like
        A directory laid out like ``/sys/devices/system/cpu/cpu0/cache``
        (one ``index*`` subdirectory per cache).

    Returns
    -------
    caches : CacheSizes or None
        ``None`` when the directory is missing or names no L1d or L2 cache.
    """
    found = {}
    try:
        entries = sorted(Path(root).glob("index*"))
        for entry in entries:
            kind = (entry / "type").read_text().strip()
            if kind not in ("Data", "Unified"):
                continue
            level = int((entry / "level").read_text())
            size = _parse_size((entry / "size").read_text())
            try:
                cpus = _count_cpus((entry / "shared_cpu_list").read_text())
            except (OSError, ValueError):
                cpus = 1
            found[level] = (size, max(1, cpus))
    except (OSError, ValueError):
        return None
    if 1 not in found or 2 not in found:
        return None
    l3, l3_cpus = found.get(3, (0, 1))
    return CacheSizes(found[1][0], found[2][0], l3, l3_cpus, "sysfs")


def _read_sysconf():
    names = ("SC_LEVEL1_DCACHE_SIZE", "SC_LEVEL2_CACHE_SIZE", "SC_LEVEL3_CACHE_SIZE")
    sizes = []
    for name in names:
        try:
            value = os.sysconf(name)
        except (ValueError, OSError, AttributeError):
            value = 0
        sizes.append(max(0, int(value or 0)))
    if sizes[0] <= 0 or sizes[1] <= 0:
        return None
    # sysconf does not say how many CPUs share the L3: count them all, the
    # smaller share is the safer guess.
    cpus = (os.cpu_count() or 1) if sizes[2] else 1
    return CacheSizes(sizes[0], sizes[1], sizes[2], cpus, "sysconf")


@functools.cache
def cache_sizes():
    """Return the data cache sizes of this machine, read once per process.

    Returns
    -------
    caches : CacheSizes
        From sysfs, else ``os.sysconf``, else :data:`DEFAULT_CACHES`.
    """
    return read_sysfs() or _read_sysconf() or DEFAULT_CACHES
