"""What processes cost, read from /proc: CPU seconds of one process (and of the children it
reaped), of Redis with its AOF-rewrite children, and of the whole machine; resident memory."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.launcher import child_pids

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU of one live process (0 when it is gone), with ``reaped_children`` plus
    that of its children that ended and were waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def redis_cpu_seconds(pid: int) -> float:
    """Redis's CPU including its AOF-rewrite children, running or ended: they are Redis's work
    (and would otherwise count as "other processes")."""
    return process_cpu_seconds(pid, reaped_children=True) + sum(
        process_cpu_seconds(child) for child in child_pids(pid))


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy (not idle or waiting for I/O), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS




def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
