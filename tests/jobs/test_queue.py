"""The durable queue's SQL on both databases: claim, lease expiry, retry, stop, schedules."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from harbor_twisted.common.clock import utcnow
from harbor_twisted.common.cron import check_cron, next_after
from harbor_twisted.config import load_config
from harbor_twisted.db import job_store, schedule_store
from harbor_twisted.jobs.worker import backoff_seconds
from tests.jobs.conftest import JobDb


def _enqueue(job_db: JobDb, retries: int = 2, **params: object) -> int:
    return job_db.db.run_sync(job_store.create_execution, "SAMPLE", "sample", dict(params),
                              retries)


def _claim(job_db: JobDb, lease: float = 30.0, worker: str = "w1"):
    return job_db.db.run_sync(job_store.claim_task, worker, lease)


def _execution(job_db: JobDb, execution_id: int) -> job_store.Execution:
    found = job_db.db.run_sync(job_store.get_execution, "SAMPLE", execution_id)
    assert found is not None
    return found


def test_a_task_is_claimed_once_and_finishes(job_db: JobDb) -> None:
    execution_id = _enqueue(job_db, seconds=1)
    claim = _claim(job_db)
    assert claim is not None and claim.execution_id == execution_id
    assert claim.parameters == {"seconds": 1} and claim.attempts == 1
    assert _claim(job_db) is None
    assert _execution(job_db, execution_id).status == "Running"
    assert job_db.db.run_sync(job_store.finish_task, claim.id, claim.token, "Success", None,
                              {"ok": True})
    done = _execution(job_db, execution_id)
    assert done.status == "Success" and done.result == {"ok": True}
    assert done.end_time is not None


def test_a_failed_attempt_waits_for_its_backoff(job_db: JobDb) -> None:
    execution_id = _enqueue(job_db)
    claim = _claim(job_db)
    later = utcnow() + timedelta(seconds=1)
    job_db.db.run_sync(job_store.finish_task, claim.id, claim.token, "Pending", "boom", None,
                       later)
    assert _execution(job_db, execution_id).status == "Pending"
    assert _claim(job_db) is None  # not before its backoff
    time.sleep(1.1)
    again = _claim(job_db)
    assert again is not None and again.id == claim.id and again.attempts == 2


def test_backoff_doubles_and_is_capped() -> None:
    config = load_config(None, {"HT_JOB_RETRY_BACKOFF_SECONDS": "10"})
    assert [backoff_seconds(config, n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_seconds(config, 40) == 3600


def test_an_expired_lease_is_claimed_again_and_the_old_worker_locked_out(job_db: JobDb) -> None:
    _enqueue(job_db)
    first = _claim(job_db, lease=0.3, worker="dead")
    assert _claim(job_db) is None
    time.sleep(0.5)
    second = _claim(job_db, worker="alive")
    assert second is not None and second.id == first.id and second.attempts == 2
    assert job_db.db.run_sync(job_store.heartbeat, first.id, first.token, 30) is None
    assert not job_db.db.run_sync(job_store.finish_task, first.id, first.token, "Success")
    assert job_db.db.run_sync(job_store.heartbeat, second.id, second.token, 30) is False


def test_stop_pending_at_once_and_running_through_the_heartbeat(job_db: JobDb) -> None:
    running_id = _enqueue(job_db)
    claim = _claim(job_db)
    pending_id = _enqueue(job_db)
    assert job_db.db.run_sync(job_store.request_stop, "SAMPLE", pending_id) is True
    assert _execution(job_db, pending_id).status == "Stopped"
    assert _claim(job_db) is None
    assert job_db.db.run_sync(job_store.request_stop, "SAMPLE", running_id) is True
    assert job_db.db.run_sync(job_store.heartbeat, claim.id, claim.token, 30) is True
    assert job_db.db.run_sync(job_store.request_stop, "SAMPLE", 999999) is None


def test_concurrent_workers_never_claim_a_task_twice(job_db: JobDb) -> None:
    for _ in range(30):
        _enqueue(job_db)
    claimed: list[int] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        while (claim := _claim(job_db, worker=f"w{worker}")) is not None:
            with lock:
                claimed.append(claim.id)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    assert len(claimed) == 30 and len(set(claimed)) == 30


def test_logs_are_kept_in_order(job_db: JobDb) -> None:
    execution_id = _enqueue(job_db)
    claim = _claim(job_db)
    now = utcnow()
    job_db.db.run_sync(job_store.append_log, claim.id, [(now, "one"), (now, "two")])
    text = job_db.db.run_sync(job_store.execution_log, "SAMPLE", execution_id)
    assert text.splitlines()[0].endswith(" one") and text.splitlines()[1].endswith(" two")


def test_a_due_schedule_fires_once_among_racing_schedulers(job_db: JobDb) -> None:
    job_db.db.run_sync(schedule_store.put_schedule, "SAMPLE", "Custom", "0 0 0 * * *", {"n": 1},
                       utcnow() - timedelta(seconds=1))
    barrier = threading.Barrier(6)

    def fire(_: int) -> list[int]:
        barrier.wait()
        return job_db.db.run_sync(schedule_store.fire_due_schedules, next_after,
                                  lambda vendor: ("sample", 0))

    with ThreadPoolExecutor(6) as pool:
        results = [ids for ids in pool.map(fire, range(6))]
    fired = [i for ids in results for i in ids]
    assert len(fired) == 1
    schedule = job_db.db.run_sync(schedule_store.get_schedule, "SAMPLE")
    assert schedule.next_run > utcnow()


def test_cron_is_six_fields_seconds_first() -> None:
    assert check_cron("0  0 2 * * *") == "0 0 2 * * *"
    start = utcnow().replace(hour=1, minute=0, second=0, microsecond=0)
    assert next_after("0 0 2 * * *", start) == start.replace(hour=2)
