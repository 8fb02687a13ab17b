"""How much CPU other processes took while we measured: the noise we cannot remove."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from .rss import process_tree

HZ = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    busy: float  # seconds of non-idle CPU on the whole machine (steal included)
    ours: float  # seconds used by the server tree, this process and its reaped children


def _machine_busy() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / HZ


def _process_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def server_seconds(server_pid: int) -> float:
    """CPU seconds the server's process tree used so far (every worker of it)."""
    return sum(_process_seconds(pid) for pid in process_tree(server_pid))


def snapshot(server_pid: int) -> CpuSnapshot:
    own = os.times()
    ours = own.user + own.system + own.children_user + own.children_system
    ours += sum(_process_seconds(pid) for pid in process_tree(server_pid))
    return CpuSnapshot(wall=time.monotonic(), busy=_machine_busy(), ours=ours)


def other_percent(before: CpuSnapshot, after: CpuSnapshot) -> float:
    """CPU used by everything else between two snapshots, in percent of the whole machine."""
    wall = after.wall - before.wall
    if wall <= 0:
        return 0.0
    other = (after.busy - before.busy) - (after.ours - before.ours)
    return max(other, 0.0) / (wall * CPUS) * 100
