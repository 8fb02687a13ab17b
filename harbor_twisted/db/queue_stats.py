"""What waits in the job queue, for the job service's metrics: one cheap grouped query on the
``(status, run_at)`` index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, select

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.job_models import job_task
from harbor_twisted.db.job_store import PENDING, as_utc


@dataclass(frozen=True)
class QueuedKind:
    job_name: str
    waiting: int  # runnable now: pending and due
    oldest_due: datetime  # when the longest-waiting one became runnable


def queued_by_kind(conn: Connection) -> list[QueuedKind]:
    now = utcnow()
    rows = conn.execute(
        select(job_task.c.job_name, func.count().label("waiting"),
               func.min(job_task.c.run_at).label("oldest"))
        .where(and_(job_task.c.status == PENDING, job_task.c.run_at <= now))
        .group_by(job_task.c.job_name)
    ).all()
    return [QueuedKind(str(row[0]), int(row[1]), as_utc(row[2]) or now) for row in rows]
