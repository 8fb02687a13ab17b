"""``harbor-twisted jobservice`` processes: a killed worker's job is taken over, retries,
stop, and a cron schedule that fires once per due time across two processes."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import job_store, schedule_store
from tests.jobs.conftest import JobDb, wait_for


def _status(job_db: JobDb, execution_id: int) -> str:
    found = job_db.db.run_sync(job_store.get_execution, "SAMPLE", execution_id)
    return found.status if found else ""


def _task(job_db: JobDb, execution_id: int) -> dict:
    return job_db.db.run_sync(job_store.task_states, execution_id)[0]


def test_a_job_whose_worker_was_killed_completes_on_another(
    job_db: JobDb, jobservice, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    first = jobservice(job_lease_seconds="3")
    execution_id = job_db.db.run_sync(
        job_store.create_execution, "SAMPLE", "sample",
        {"seconds": 3, "marker": str(marker)}, 2)
    wait_for(marker.exists)
    assert _status(job_db, execution_id) == "Running"
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    second = jobservice(job_lease_seconds="3")
    wait_for(lambda: _status(job_db, execution_id) == "Success", timeout=40)
    task = _task(job_db, execution_id)
    assert task["attempts"] == 2
    assert f":{second.process.pid}:" in task["worker"]


def test_failed_attempts_are_retried_then_succeed(job_db: JobDb, jobservice) -> None:
    jobservice(job_retry_backoff_seconds="1")
    execution_id = job_db.db.run_sync(
        job_store.create_execution, "SAMPLE", "sample", {"fail_attempts": 2}, 3)
    wait_for(lambda: _status(job_db, execution_id) == "Success", timeout=30)
    assert _task(job_db, execution_id)["attempts"] == 3
    log = job_db.db.run_sync(job_store.execution_log, "SAMPLE", execution_id)
    assert "attempt 1 failed" in log and "attempt 2 failed" in log
    exhausted = job_db.db.run_sync(
        job_store.create_execution, "SAMPLE", "sample", {"fail_attempts": 9}, 1)
    wait_for(lambda: _status(job_db, exhausted) == "Error", timeout=30)
    assert _task(job_db, exhausted)["attempts"] == 2


def test_a_running_job_stops_on_request(job_db: JobDb, jobservice, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    jobservice(job_lease_seconds="3")
    execution_id = job_db.db.run_sync(
        job_store.create_execution, "SAMPLE", "sample",
        {"seconds": 60, "marker": str(marker)}, 0)
    wait_for(marker.exists)
    started = time.monotonic()
    job_db.db.run_sync(job_store.request_stop, "SAMPLE", execution_id)
    wait_for(lambda: _status(job_db, execution_id) == "Stopped", timeout=15)
    assert time.monotonic() - started < 10


def test_a_schedule_fires_once_per_due_time_across_two_processes(
    job_db: JobDb, jobservice
) -> None:
    job_db.db.run_sync(schedule_store.put_schedule, "SAMPLE", "Custom", "* * * * * *", {},
                       utcnow() + timedelta(seconds=1))
    processes = [jobservice(), jobservice()]
    time.sleep(5)
    job_db.db.run_sync(schedule_store.delete_schedule, "SAMPLE")
    executions, total = job_db.db.run_sync(job_store.list_executions, "SAMPLE", 0, 100)
    assert total >= 3
    fired_for = [e.id for e in executions]
    assert len(fired_for) == len(set(fired_for))
    rows = job_db.db.run_sync(lambda conn: conn.exec_driver_sql(
        "SELECT scheduled_for, count(*) FROM job_execution GROUP BY scheduled_for").all())
    assert all(count == 1 for _when, count in rows)
    for handle in processes:
        assert "firing schedules failed" not in handle.text()
