"""stats: sane values from /proc on both backends, without sleeping."""

from __future__ import annotations

KEYS = {"cpu_percent", "memory_used_mb", "memory_total_mb", "memory_percent", "rss_mb"}


def test_stats_have_every_key_in_range(impl):
    s = impl.stats()
    assert KEYS <= set(s)
    assert 0.0 <= s["cpu_percent"] <= 100.0
    assert 0.0 < s["memory_used_mb"] <= s["memory_total_mb"]
    assert 0.0 <= s["memory_percent"] <= 100.0
    assert s["rss_mb"] > 1.0


def test_backends_agree_on_total_memory(both):
    native, python = both
    assert native.stats()["memory_total_mb"] == python.stats()["memory_total_mb"]


def test_cpu_percent_comes_from_the_previous_sample(impl):
    first = impl.stats()["cpu_percent"]
    # Burn CPU between two samples: the second covers only that interval.
    total = 0
    for i in range(2_000_000):
        total += i
    second = impl.stats()["cpu_percent"]
    assert second > 0.0 and first >= 0.0


def test_rss_grows_with_allocation(impl):
    before = impl.stats()["rss_mb"]
    block = bytearray(64 << 20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    after = impl.stats()["rss_mb"]
    del block
    assert after - before > 50
