"""Cache sizes of the machine: sysfs, sysconf and the defaults."""

import os

from sklearn_softmax import _cpu_caches
from sklearn_softmax._cpu_caches import DEFAULT_CACHES, CacheSizes, read_sysfs


def _index(root, i, level, kind, size, shared):
    entry = root / f"index{i}"
    entry.mkdir(parents=True)
    (entry / "level").write_text(f"{level}\n")
    (entry / "type").write_text(f"{kind}\n")
    (entry / "size").write_text(f"{size}\n")
    if shared is not None:
        (entry / "shared_cpu_list").write_text(f"{shared}\n")


def test_sysfs_sizes_and_sharing(tmp_path):
    # This AMD EPYC guest's layout, with the L3 shared by a CPU list.
    _index(tmp_path, 0, 1, "Data", "32K", "0")
    _index(tmp_path, 1, 1, "Instruction", "32K", "0")
    _index(tmp_path, 2, 2, "Unified", "1024K", "0")
    _index(tmp_path, 3, 3, "Unified", "32768K", "0-1,4,6-7")
    caches = read_sysfs(tmp_path)
    assert caches == CacheSizes(32 * 2**10, 2**20, 32 * 2**20, 5, "sysfs")
    assert caches.l3_share == 32 * 2**20 // 5


def test_sysfs_without_l3_or_sharing_list(tmp_path):
    _index(tmp_path, 0, 1, "Data", "48K", None)
    _index(tmp_path, 2, 2, "Unified", "2M", None)
    caches = read_sysfs(tmp_path)
    assert caches == CacheSizes(48 * 2**10, 2 * 2**20, 0, 1, "sysfs")
    assert caches.l3_share == 0


def test_sysfs_missing_or_incomplete(tmp_path):
    assert read_sysfs(tmp_path / "absent") is None
    # No L2: not enough to size anything.
    _index(tmp_path, 0, 1, "Data", "32K", "0")
    assert read_sysfs(tmp_path) is None
    _index(tmp_path, 2, 2, "Unified", "garbage", "0")
    assert read_sysfs(tmp_path) is None


def test_fallbacks(monkeypatch):
    monkeypatch.setattr(_cpu_caches, "read_sysfs", lambda: None)
    sizes = {
        "SC_LEVEL1_DCACHE_SIZE": 32768,
        "SC_LEVEL2_CACHE_SIZE": 2**20,
        "SC_LEVEL3_CACHE_SIZE": 16 * 2**20,
    }
    monkeypatch.setattr(os, "sysconf", lambda name: sizes[name])
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    # sysconf does not say who shares the L3: every CPU is assumed to.
    assert _cpu_caches.cache_sizes.__wrapped__() == CacheSizes(
        32768, 2**20, 16 * 2**20, 8, "sysconf"
    )

    def unknown(name):
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", unknown)
    assert _cpu_caches.cache_sizes.__wrapped__() is DEFAULT_CACHES


def test_machine_caches_are_usable():
    caches = _cpu_caches.cache_sizes()
    assert caches.l1d > 0 and caches.l2 > 0 and caches.l3 >= 0
    assert caches.l3_cpus >= 1
    assert _cpu_caches.cache_sizes() is caches
