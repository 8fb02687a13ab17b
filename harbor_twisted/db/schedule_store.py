"""The job scheduler's table: one cron schedule per (vendor type, vendor id), written by
GC, replication and retention alike, and fired exactly once across processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import job_store
from harbor_twisted.db.job_models import job_schedule


@dataclass(frozen=True)
class Schedule:
    id: int
    vendor_type: str
    cron_type: str
    cron: str
    parameters: dict[str, Any]
    next_run: datetime
    created_at: datetime
    updated_at: datetime


def _schedule(row: Any) -> Schedule:
    as_utc = job_store.as_utc
    return Schedule(row.id, row.vendor_type, row.cron_type, row.cron,
                    json.loads(row.parameters), as_utc(row.next_run),  # type: ignore[arg-type]
                    as_utc(row.created_at), as_utc(row.updated_at))  # type: ignore[arg-type]


def get_schedule(conn: Connection, vendor_type: str) -> Schedule | None:
    row = conn.execute(select(job_schedule).where(job_schedule.c.vendor_type == vendor_type,
                                                  job_schedule.c.vendor_id == 0)).first()
    return None if row is None else _schedule(row)


def put_schedule(
    conn: Connection, vendor_type: str, cron_type: str, cron: str, parameters: dict[str, Any],
    next_run: datetime, vendor_id: int = 0,
) -> None:
    """Create or replace the schedule of (vendor type, vendor id): 0 for system-wide ones
    (GC), the policy's id for a replication or retention policy."""
    now = utcnow()
    text = json.dumps(parameters, sort_keys=True)
    changed = conn.execute(
        update(job_schedule)
        .where(job_schedule.c.vendor_type == vendor_type, job_schedule.c.vendor_id == vendor_id)
        .values(cron_type=cron_type, cron=cron, parameters=text, next_run=next_run,
                updated_at=now)
    ).rowcount
    if not changed:
        conn.execute(job_schedule.insert().values(
            vendor_type=vendor_type, vendor_id=vendor_id, cron_type=cron_type, cron=cron,
            parameters=text, next_run=next_run, created_at=now, updated_at=now))


def delete_schedule(conn: Connection, vendor_type: str, vendor_id: int = 0) -> bool:
    return conn.execute(job_schedule.delete().where(
        job_schedule.c.vendor_type == vendor_type,
        job_schedule.c.vendor_id == vendor_id)).rowcount > 0


def fire_due_schedules(
    conn: Connection,
    next_after: Callable[[str, datetime], datetime],
    job_for: Callable[[str], tuple[str, int]],
) -> list[int]:
    """Enqueue every schedule that is due, exactly once across processes.

    Moving ``next_run`` on is a compare-and-set on its old value in the transaction that
    enqueues, and (schedule, due time) is unique among executions: a second process either
    sees the new ``next_run`` or fails to insert, never enqueues twice.
    """
    now = utcnow()
    query = select(job_schedule).where(job_schedule.c.next_run <= now).order_by(job_schedule.c.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    fired = []
    for row in conn.execute(query).all():
        due = job_store.as_utc(row.next_run)
        moved = conn.execute(
            update(job_schedule)
            .where(job_schedule.c.id == row.id, job_schedule.c.next_run == row.next_run)
            .values(next_run=next_after(row.cron, now), updated_at=now)
        ).rowcount
        if moved != 1:
            continue
        job_name, max_retries = job_for(row.vendor_type)
        fired.append(job_store.create_execution(
            conn, row.vendor_type, job_name, json.loads(row.parameters), max_retries,
            trigger="SCHEDULE", schedule_id=row.id, scheduled_for=due,
            vendor_id=row.vendor_id))
    return fired
