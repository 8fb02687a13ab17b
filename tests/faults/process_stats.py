"""What a server process holds, read from /proc: memory, file descriptors, threads."""

from __future__ import annotations

import os
from pathlib import Path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def open_files(pid: int) -> dict[int, str]:
    """Descriptor number -> what it points at (a path, socket:[inode], pipe:[inode])."""
    held = {}
    for entry in os.scandir(f"/proc/{pid}/fd"):
        try:
            held[int(entry.name)] = os.readlink(entry.path)
        except FileNotFoundError:  # closed while we looked
            continue
    return held


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def tcp_connections(pid: int) -> int:
    return sum(1 for target in open_files(pid).values() if target.startswith("socket:"))


def threads_waiting_on_file_locks(pid: int) -> list[str]:
    """Threads asleep in the kernel waiting for a flock/fcntl lock (a lock never let go)."""
    waiting = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        wchan = Path(f"/proc/{pid}/task/{tid}/wchan").read_text()
        if "lock" in wchan and "futex" not in wchan:
            waiting.append(f"{tid}:{wchan}")
    return waiting
