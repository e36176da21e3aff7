"""Helpers the benchmark scripts share: naming the machine, one core, resident memory.

Figures mean little without the machine that produced them, so every benchmark prints
:func:`machine` first. Memory is read the two ways Linux offers: the peak (``ru_maxrss``) and
the current resident set (``VmRSS``), because a peak alone cannot show that memory stays flat.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT / ".." / "shared" / "data"
MIB = 1024 * 1024


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or what ``platform`` knows elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    """One line naming CPU, cores, OS and Python, printed above every set of figures."""
    cores = os.cpu_count() or 0
    return (
        f"{cpu_model()}, {cores} core(s), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()} ({sys.implementation.name})"
    )


def pin_to_one_core() -> str:
    """Keep this process on one core, so "per core" figures cannot borrow a second one."""
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity on this platform)"


def current_rss_bytes() -> int | None:
    """Resident memory now (``VmRSS``), or None where /proc is not available."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError):
        pass
    return None


def peak_rss_bytes() -> int:
    """The largest resident set this process has had (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024
