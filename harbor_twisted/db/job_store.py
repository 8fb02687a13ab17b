"""SQL for the job service: enqueue, claim with a lease, heartbeat, finish, stop, logs,
schedules and the listings the API shows.

Claiming is the one place where the two databases differ: PostgreSQL workers on many hosts
pick a row with ``FOR UPDATE SKIP LOCKED``; on SQLite one conditional ``UPDATE`` claims it
(writers are serialised). Either way a claim writes a fresh token, and every later change of
the task names that token, so a worker that lost its lease can no longer touch the task.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.job_models import job_execution, job_log, job_task
from harbor_twisted.db.results import inserted_id

PENDING, RUNNING, SUCCESS, ERROR, STOPPED = "Pending", "Running", "Success", "Error", "Stopped"
FINAL = (SUCCESS, ERROR, STOPPED)
LOG_LINE_MAX = 4096


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    execution_id: int
    job_name: str
    parameters: dict[str, Any]
    attempts: int
    max_retries: int
    token: str


@dataclass(frozen=True)
class Execution:
    id: int
    vendor_type: str
    trigger: str
    parameters: dict[str, Any]
    status: str
    status_message: str | None
    result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    start_time: datetime | None
    end_time: datetime | None


# -- enqueue ------------------------------------------------------------------------------


def create_execution(
    conn: Connection,
    vendor_type: str,
    job_name: str,
    parameters: dict[str, Any],
    max_retries: int,
    trigger: str = "MANUAL",
    schedule_id: int | None = None,
    scheduled_for: datetime | None = None,
    vendor_id: int = 0,
) -> int:
    """An execution with its single task, ready to be claimed."""
    now = utcnow()
    text = json.dumps(parameters, sort_keys=True)
    execution_id = inserted_id(conn.execute(
        job_execution.insert().values(
            vendor_type=vendor_type, vendor_id=vendor_id, trigger=trigger, schedule_id=schedule_id,
            scheduled_for=scheduled_for, parameters=text, status=PENDING, created_at=now,
            updated_at=now,
        )
    ))
    conn.execute(
        job_task.insert().values(
            execution_id=execution_id, job_name=job_name, parameters=text, status=PENDING,
            attempts=0, max_retries=max_retries, run_at=now, stop_requested=False,
            created_at=now, updated_at=now,
        )
    )
    return int(execution_id)


def active_executions(conn: Connection, vendor_type: str) -> int:
    return conn.execute(
        select(func.count()).select_from(job_execution).where(
            job_execution.c.vendor_type == vendor_type,
            job_execution.c.status.in_((PENDING, RUNNING)),
        )
    ).scalar_one()


# -- claiming -----------------------------------------------------------------------------


def _claimable(now: datetime) -> Any:
    return or_(
        and_(job_task.c.status == PENDING, job_task.c.run_at <= now),
        and_(job_task.c.status == RUNNING, job_task.c.lease_expires_at < now),
    )


def claim_task(conn: Connection, worker: str, lease_seconds: float) -> ClaimedTask | None:
    """Claim the oldest due task (or one whose worker's lease ran out), or None."""
    now = utcnow()
    candidate = (
        select(job_task.c.id)
        .where(_claimable(now))
        .order_by(job_task.c.run_at, job_task.c.id)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        task_id = conn.execute(candidate.with_for_update(skip_locked=True)).scalar()
        if task_id is None:
            return None
        target = job_task.c.id == task_id
    else:
        target = job_task.c.id == candidate.scalar_subquery()
    token = str(uuid.uuid4())
    row = conn.execute(
        update(job_task)
        .where(target, _claimable(now))
        .values(
            status=RUNNING, claim_token=token, worker=worker[:255],
            lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now,
            attempts=job_task.c.attempts + 1, start_time=now, updated_at=now,
        )
        .returning(
            job_task.c.id, job_task.c.execution_id, job_task.c.job_name, job_task.c.parameters,
            job_task.c.attempts, job_task.c.max_retries,
        )
    ).first()
    if row is None:
        return None
    conn.execute(
        update(job_execution)
        .where(job_execution.c.id == row.execution_id)
        .values(status=RUNNING, updated_at=now, start_time=func.coalesce(
            job_execution.c.start_time, now))
    )
    return ClaimedTask(row.id, row.execution_id, row.job_name, json.loads(row.parameters),
                       row.attempts, row.max_retries, token)


def heartbeat(conn: Connection, task_id: int, token: str, lease_seconds: float) -> bool | None:
    """Extend the lease; whether a stop was requested, or None when the lease is lost."""
    now = utcnow()
    row = conn.execute(
        update(job_task)
        .where(job_task.c.id == task_id, job_task.c.claim_token == token,
               job_task.c.status == RUNNING)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds), heartbeat_at=now)
        .returning(job_task.c.stop_requested)
    ).first()
    return None if row is None else bool(row.stop_requested)


def finish_task(
    conn: Connection,
    task_id: int,
    token: str,
    status: str,
    message: str | None = None,
    result: dict[str, Any] | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record the outcome (or a retry at ``retry_at``) if the claim is still ours."""
    now = utcnow()
    values: dict[str, Any] = {"status": status, "status_message": message, "updated_at": now,
                              "claim_token": None, "lease_expires_at": None}
    if result is not None:
        values["result"] = json.dumps(result)
    if status == PENDING:
        values["run_at"] = retry_at or now
    else:
        values["end_time"] = now
    row = conn.execute(
        update(job_task)
        .where(job_task.c.id == task_id, job_task.c.claim_token == token)
        .values(**values)
        .returning(job_task.c.execution_id)
    ).first()
    if row is None:
        return False
    execution_values = {k: v for k, v in values.items()
                        if k in ("status", "status_message", "result", "end_time", "updated_at")}
    conn.execute(
        update(job_execution).where(job_execution.c.id == row.execution_id)
        .values(**execution_values)
    )
    return True


def release_task(conn: Connection, task_id: int, token: str) -> None:
    """Give a task back (the process is stopping): due again at once, attempt not counted."""
    now = utcnow()
    row = conn.execute(
        update(job_task)
        .where(job_task.c.id == task_id, job_task.c.claim_token == token)
        .values(status=PENDING, claim_token=None, lease_expires_at=None, run_at=now,
                attempts=job_task.c.attempts - 1, updated_at=now)
        .returning(job_task.c.execution_id)
    ).first()
    if row is not None:
        conn.execute(update(job_execution).where(job_execution.c.id == row.execution_id)
                     .values(status=PENDING, updated_at=now))


def request_stop(conn: Connection, vendor_type: str, execution_id: int) -> bool | None:
    """Stop an execution: pending tasks stop at once, running ones at their next check.

    None when there is no such execution, False when it already ended.
    """
    status = conn.execute(
        select(job_execution.c.status).where(job_execution.c.id == execution_id,
                                             job_execution.c.vendor_type == vendor_type)
    ).scalar()
    if status is None:
        return None
    if status in FINAL:
        return False
    now = utcnow()
    conn.execute(update(job_task).where(job_task.c.execution_id == execution_id,
                                        job_task.c.status == RUNNING)
                 .values(stop_requested=True, updated_at=now))
    stopped = conn.execute(
        update(job_task).where(job_task.c.execution_id == execution_id,
                               job_task.c.status == PENDING)
        .values(status=STOPPED, status_message="stopped before it ran", end_time=now,
                updated_at=now)
    ).rowcount
    if stopped:
        conn.execute(update(job_execution).where(job_execution.c.id == execution_id)
                     .values(status=STOPPED, end_time=now, updated_at=now))
    return True


# -- logs ---------------------------------------------------------------------------------


def append_log(conn: Connection, task_id: int, lines: list[tuple[datetime, str]]) -> None:
    if lines:
        conn.execute(job_log.insert(), [
            {"task_id": task_id, "logged_at": at, "text": text[:LOG_LINE_MAX]}
            for at, text in lines
        ])


def task_log(conn: Connection, execution_id: int, task_id: int) -> str | None:
    """A task's log as text, or None when the execution has no such task."""
    found = conn.execute(select(job_task.c.id).where(
        job_task.c.id == task_id, job_task.c.execution_id == execution_id)).scalar()
    if found is None:
        return None
    rows = conn.execute(select(job_log.c.logged_at, job_log.c.text)
                        .where(job_log.c.task_id == task_id).order_by(job_log.c.id))
    return "".join(f"{as_utc(row.logged_at).strftime('%Y-%m-%dT%H:%M:%SZ')} {row.text}\n"  # type: ignore[union-attr]
                   for row in rows)


def execution_log(conn: Connection, vendor_type: str, execution_id: int) -> str | None:
    """The execution's log as text, or None when the execution does not exist."""
    exists = conn.execute(
        select(job_execution.c.id).where(job_execution.c.id == execution_id,
                                         job_execution.c.vendor_type == vendor_type)
    ).scalar()
    if exists is None:
        return None
    rows = conn.execute(
        select(job_log.c.logged_at, job_log.c.text)
        .select_from(job_log.join(job_task, job_task.c.id == job_log.c.task_id))
        .where(job_task.c.execution_id == execution_id)
        .order_by(job_log.c.id)
    )
    return "".join(
        f"{as_utc(row.logged_at).strftime('%Y-%m-%dT%H:%M:%SZ')} {row.text}\n"  # type: ignore[union-attr]
        for row in rows
    )


# -- executions ---------------------------------------------------------------------------


def _execution(row: Any) -> Execution:
    return Execution(
        id=row.id, vendor_type=row.vendor_type, trigger=row.trigger,
        parameters=json.loads(row.parameters), status=row.status,
        status_message=row.status_message,
        result=json.loads(row.result) if row.result else None,
        created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at),  # type: ignore[arg-type]
        start_time=as_utc(row.start_time), end_time=as_utc(row.end_time),
    )


def get_execution(conn: Connection, vendor_type: str, execution_id: int) -> Execution | None:
    row = conn.execute(select(job_execution).where(
        job_execution.c.id == execution_id, job_execution.c.vendor_type == vendor_type)).first()
    return None if row is None else _execution(row)


def list_executions(
    conn: Connection, vendor_type: str, offset: int, limit: int
) -> tuple[list[Execution], int]:
    """Newest first, one page, and the total."""
    where = job_execution.c.vendor_type == vendor_type
    total = conn.execute(select(func.count()).select_from(job_execution).where(where)).scalar()
    rows = conn.execute(select(job_execution).where(where)
                        .order_by(job_execution.c.id.desc()).offset(offset).limit(limit))
    return [_execution(row) for row in rows], int(total or 0)


def task_states(conn: Connection, execution_id: int) -> list[dict[str, Any]]:
    """The tasks of an execution as plain values (tests and diagnostics)."""
    rows = conn.execute(select(job_task).where(job_task.c.execution_id == execution_id)
                        .order_by(job_task.c.id))
    return [dict(row._mapping) for row in rows]
