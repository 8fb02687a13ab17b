"""Job service fixtures: a migrated database on SQLite and on PostgreSQL, and a way to run
``harbor-twisted jobservice`` processes against it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harbor_twisted.db import migrate
from harbor_twisted.db.engine import Database, make_engine
from tests.conftest import BACKENDS

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class JobDb:
    url: str
    db: Database
    data: Path


@pytest.fixture(params=BACKENDS)
def job_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobDb]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'registry.db'}"
        (tmp_path / "data").mkdir()
    else:
        url = request.getfixturevalue("postgres_cluster").create_database()
    engine = make_engine(url, 16)
    migrate.upgrade(engine)
    yield JobDb(url, Database(engine, 4), tmp_path / "data")
    engine.dispose()


@dataclass
class JobProcess:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _pump(process: subprocess.Popen[str], lines: list[str], ready: threading.Event) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if "job workers" in line and "started" in line:
            ready.set()
    ready.set()


@pytest.fixture
def jobservice(job_db: JobDb) -> Iterator:
    """Start ``harbor-twisted jobservice`` processes on ``job_db``; all stop afterwards."""
    started: list[JobProcess] = []

    def start(**settings: str) -> JobProcess:
        env = dict(os.environ)
        env.update({"HT_DATA": str(job_db.data), "HT_LOG_LEVEL": "info",
                    "HT_JOB_POLL_SECONDS": "1", "HT_JOB_SCHEDULER_SECONDS": "1"})
        if not job_db.url.startswith("sqlite"):
            env["HT_DATABASE_URL"] = job_db.url
        env.update({f"HT_{k.upper()}": v for k, v in settings.items()})
        process = subprocess.Popen(
            [sys.executable, "-m", "harbor_twisted.cli", "jobservice"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        handle = JobProcess(process)
        ready = threading.Event()
        threading.Thread(target=_pump, args=(process, handle.lines, ready), daemon=True).start()
        ready.wait(30)
        assert process.poll() is None, handle.text()
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
