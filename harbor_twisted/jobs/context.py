"""What a running job body sees: its parameters, a log, and cooperative stop.

Bodies run in a worker thread and call the database synchronously (``db.run_sync``); they
must call ``check_stop()`` often enough (every batch) for stop requests, lost leases and
shutdown to take effect within seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harbor_twisted.common.clock import utcnow
from harbor_twisted.config import Config
from harbor_twisted.db.engine import Database
from harbor_twisted.storage.base import BlobStore

LOG_CAP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class JobOutcome:
    """A job's final outcome, as its end-of-job hook (``kinds.ON_FINAL``) sees it."""

    config: Config
    execution_id: int
    parameters: dict[str, Any]
    status: str  # Success, Error or Stopped
    result: dict[str, Any]


class JobStopped(Exception):
    """Raised by ``check_stop`` when the job must end now."""


@dataclass
class JobContext:
    task_id: int
    execution_id: int
    attempt: int
    parameters: dict[str, Any]
    db: Database
    blobs: BlobStore
    config: Config
    stop_requested: threading.Event = field(default_factory=threading.Event)
    shutting_down: threading.Event = field(default_factory=threading.Event)
    lease_lost: threading.Event = field(default_factory=threading.Event)
    _lines: list[tuple[datetime, str]] = field(default_factory=list)
    _logged_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, message: str) -> None:
        """Keep a line for the task's log (written with the next heartbeat); capped."""
        with self._lock:
            if self._logged_bytes >= LOG_CAP_BYTES:
                return
            self._logged_bytes += len(message) + 1
            if self._logged_bytes >= LOG_CAP_BYTES:
                message = "log truncated: the per-task limit was reached"
            self._lines.append((utcnow(), message))

    def take_lines(self) -> list[tuple[datetime, str]]:
        with self._lock:
            lines, self._lines = self._lines, []
            return lines

    def should_stop(self) -> bool:
        return (self.stop_requested.is_set() or self.shutting_down.is_set()
                or self.lease_lost.is_set())

    def check_stop(self) -> None:
        if self.should_stop():
            raise JobStopped()

    def sleep(self, seconds: float) -> None:
        """Wait, but wake for a stop."""
        deadline = utcnow().timestamp() + seconds
        while (left := deadline - utcnow().timestamp()) > 0:
            self.check_stop()
            self.stop_requested.wait(min(left, 0.1))
        self.check_stop()
