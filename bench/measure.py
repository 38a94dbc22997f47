"""What the benchmarks read about processes from outside (/proc), shared by bench/edit.py and
bench/soak.py: measured alike for every process, whatever its version or what it runs."""

from __future__ import annotations

import math
import os


def nearest_rank(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def machine_busy_s() -> float:
    """CPU seconds all processes on the machine have used (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def proc_counters(pid: int) -> tuple[int, float, float]:
    """Minor page faults, user and kernel CPU seconds of a process, read from outside
    (/proc/PID/stat), so that every contestant is measured alike, whatever its version."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[7]), int(fields[11]) / tick, int(fields[12]) / tick
