"""Resident memory of a server and its child processes, read from /proc."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

KIB_PER_MIB = 1024


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(word) for word in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(_children(current))
    return tree


def status_kib(pid: int, field: str) -> int:
    """A `Vm…` field of /proc/PID/status in KiB, 0 when the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def tree_rss_mib(pid: int) -> float:
    return sum(status_kib(each, "VmRSS") for each in process_tree(pid)) / KIB_PER_MIB


def hwm_mib(pid: int) -> float:
    """The main process's own high-water mark since it started."""
    return status_kib(pid, "VmHWM") / KIB_PER_MIB


class RssSampler:
    """Samples the tree's RSS every `interval` seconds while the `with` block runs."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(tree_rss_mib(self.pid))
            if self._stop.wait(self.interval):
                return

    @property
    def peak_mib(self) -> float:
        return max(self.samples, default=0.0)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(tree_rss_mib(self.pid))
