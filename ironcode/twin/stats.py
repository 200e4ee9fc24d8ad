"""Twin of native/tool/src/stats.rs: CPU, memory and resident size from /proc, never sleeping."""

from __future__ import annotations

import threading

from ..errors import IronCodeError, from_os_error

PROC_STAT = "/proc/stat"
PROC_MEMINFO = "/proc/meminfo"
PROC_SELF_STATUS = "/proc/self/status"
KIB_PER_MIB = 1024.0

_previous_cpu: tuple[int, int] | None = None
_previous_lock = threading.Lock()


def stats() -> dict:
    """Samples CPU and memory now. CPU percent is the busy share since the previous call."""
    global _previous_cpu
    busy, total = cpu_times()
    with _previous_lock:
        busy0, total0 = _previous_cpu or (0, 0)
        _previous_cpu = (busy, total)
    meminfo = _read_proc(PROC_MEMINFO)
    total_kib = kib_field(meminfo, "MemTotal:")
    available_kib = kib_field(meminfo, "MemAvailable:")
    used_kib = max(total_kib - available_kib, 0)
    rss_kib = kib_field(_read_proc(PROC_SELF_STATUS), "VmRSS:")
    return {
        "cpu_percent": percent(max(busy - busy0, 0), max(total - total0, 0)),
        "memory_used_mb": round2(used_kib / KIB_PER_MIB),
        "memory_total_mb": round2(total_kib / KIB_PER_MIB),
        "memory_percent": percent(used_kib, total_kib),
        "rss_mb": round2(rss_kib / KIB_PER_MIB),
    }


def _read_proc(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise from_os_error(e, path) from None


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the "cpu" line; idle and iowait are the idle part."""
    for line in _read_proc(PROC_STAT).splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:] if v.isdigit()]
            if len(values) < 4:
                break
            total = sum(values[:8])
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return total - idle, total
    raise IronCodeError("io", f"unexpected format of {PROC_STAT}")


def kib_field(text: str, key: str) -> int:
    for line in text.splitlines():
        if line.startswith(key):
            parts = line[len(key) :].split()
            if parts and parts[0].isdigit():
                return int(parts[0])
    raise IronCodeError("io", f"{key} missing from /proc")


def percent(part: int, whole: int) -> float:
    return 0.0 if whole == 0 else round2(part * 100.0 / whole)


def round2(value: float) -> float:
    # Rust's f64::round rounds half away from zero; Python's round() rounds half to even.
    import math

    scaled = value * 100.0
    return math.floor(scaled + 0.5) / 100.0 if scaled >= 0 else -math.floor(-scaled + 0.5) / 100.0
