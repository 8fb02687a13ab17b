"""SQL for replication: registry endpoints, policies (with their cron schedule rows), the
per-artifact tasks of executions, and the listings the API shows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, delete, func, or_, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import schedule_store
from harbor_twisted.db.job_models import job_execution
from harbor_twisted.db.job_store import as_utc
from harbor_twisted.db.replication_models import (
    replication_policy,
    replication_registry,
    replication_task,
)
from harbor_twisted.db.results import inserted_id

REPLICATION_VENDOR = "REPLICATION"


@dataclass(frozen=True)
class Registry:
    id: int
    name: str
    url: str
    type: str
    description: str
    insecure: bool
    credential_type: str
    access_key: str | None
    has_secret: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    description: str
    src_registry_id: int | None
    dest_registry_id: int | None
    dest_namespace: str
    dest_namespace_replace_count: int
    trigger_type: str
    cron: str
    filters: list[dict[str, Any]]
    replicate_deletion: bool
    override: bool
    enabled: bool
    speed: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Task:
    id: int
    execution_id: int
    resource_type: str
    operation: str
    src_resource: str
    dst_resource: str
    status: str
    start_time: datetime
    end_time: datetime | None


@dataclass(frozen=True)
class TaskCounts:
    total: int = 0
    failed: int = 0
    succeed: int = 0
    in_progress: int = 0
    stopped: int = 0


# -- registries ---------------------------------------------------------------------------


def _registry(row: Any) -> Registry:
    return Registry(row.id, row.name, row.url, row.type, row.description, bool(row.insecure),
                    row.credential_type, row.access_key, bool(row.has_secret),
                    as_utc(row.created_at), as_utc(row.updated_at))  # type: ignore[arg-type]


def registry_name_taken(conn: Connection, name: str, except_id: int | None = None) -> bool:
    query = select(replication_registry.c.id).where(replication_registry.c.name == name)
    if except_id is not None:
        query = query.where(replication_registry.c.id != except_id)
    return conn.execute(query).first() is not None


def create_registry(conn: Connection, values: dict[str, Any]) -> int:
    now = utcnow()
    return inserted_id(conn.execute(replication_registry.insert().values(
        **values, created_at=now, updated_at=now)))


def update_registry(conn: Connection, registry_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(replication_registry).where(replication_registry.c.id == registry_id)
                 .values(**values, updated_at=utcnow()))


def get_registry(conn: Connection, registry_id: int) -> Registry | None:
    row = conn.execute(select(replication_registry)
                       .where(replication_registry.c.id == registry_id)).first()
    return None if row is None else _registry(row)


def list_registries(
    conn: Connection, name: str | None, offset: int, limit: int
) -> tuple[list[Registry], int]:
    where = [] if not name else [replication_registry.c.name.contains(name, autoescape=True)]
    total = conn.execute(select(func.count()).select_from(replication_registry)
                         .where(*where)).scalar_one()
    rows = conn.execute(select(replication_registry).where(*where)
                        .order_by(replication_registry.c.id).offset(offset).limit(limit))
    return [_registry(row) for row in rows], int(total)


def registry_in_use(conn: Connection, registry_id: int) -> bool:
    return conn.execute(select(replication_policy.c.id).where(or_(
        replication_policy.c.src_registry_id == registry_id,
        replication_policy.c.dest_registry_id == registry_id)).limit(1)).first() is not None


def delete_registry(conn: Connection, registry_id: int) -> bool:
    return conn.execute(delete(replication_registry)
                        .where(replication_registry.c.id == registry_id)).rowcount > 0


# -- policies -----------------------------------------------------------------------------


def _policy(row: Any) -> Policy:
    return Policy(
        row.id, row.name, row.description, row.src_registry_id, row.dest_registry_id,
        row.dest_namespace, row.dest_namespace_replace_count, row.trigger_type, row.cron,
        json.loads(row.filters), bool(row.replicate_deletion), bool(row.override),
        bool(row.enabled), row.speed, as_utc(row.created_at),  # type: ignore[arg-type]
        as_utc(row.updated_at))  # type: ignore[arg-type]


def policy_name_taken(conn: Connection, name: str, except_id: int | None = None) -> bool:
    query = select(replication_policy.c.id).where(replication_policy.c.name == name)
    if except_id is not None:
        query = query.where(replication_policy.c.id != except_id)
    return conn.execute(query).first() is not None


def _policy_values(values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "filters": json.dumps(values["filters"], sort_keys=True)}


def create_policy(conn: Connection, values: dict[str, Any]) -> int:
    now = utcnow()
    return inserted_id(conn.execute(replication_policy.insert().values(
        **_policy_values(values), created_at=now, updated_at=now)))


def update_policy(conn: Connection, policy_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(replication_policy).where(replication_policy.c.id == policy_id)
                 .values(**_policy_values(values), updated_at=utcnow()))


def get_policy(conn: Connection, policy_id: int) -> Policy | None:
    row = conn.execute(select(replication_policy)
                       .where(replication_policy.c.id == policy_id)).first()
    return None if row is None else _policy(row)


def list_policies(
    conn: Connection, name: str | None, offset: int, limit: int
) -> tuple[list[Policy], int]:
    where = [] if not name else [replication_policy.c.name.contains(name, autoescape=True)]
    total = conn.execute(select(func.count()).select_from(replication_policy)
                         .where(*where)).scalar_one()
    rows = conn.execute(select(replication_policy).where(*where)
                        .order_by(replication_policy.c.id).offset(offset).limit(limit))
    return [_policy(row) for row in rows], int(total)


def delete_policy(conn: Connection, policy_id: int) -> bool:
    set_schedule(conn, policy_id, None, None)
    return conn.execute(delete(replication_policy)
                        .where(replication_policy.c.id == policy_id)).rowcount > 0


def event_policies(conn: Connection) -> list[Policy]:
    """Enabled push-based policies triggered by events."""
    rows = conn.execute(select(replication_policy).where(
        replication_policy.c.enabled.is_(True),
        replication_policy.c.trigger_type == "event_based",
        replication_policy.c.src_registry_id.is_(None)).order_by(replication_policy.c.id))
    return [_policy(row) for row in rows]


def set_schedule(
    conn: Connection, policy_id: int, cron: str | None, next_run: datetime | None
) -> None:
    """The policy's cron row for the job scheduler (vendor_id is the policy), or none."""
    if cron is None or next_run is None:
        schedule_store.delete_schedule(conn, REPLICATION_VENDOR, policy_id)
        return
    schedule_store.put_schedule(conn, REPLICATION_VENDOR, "Custom", cron,
                                {"policy_id": policy_id}, next_run, vendor_id=policy_id)


# -- executions and tasks -----------------------------------------------------------------


def set_execution_policy(conn: Connection, execution_id: int, policy_id: int) -> None:
    conn.execute(update(job_execution).where(job_execution.c.id == execution_id)
                 .values(vendor_id=policy_id))


def execution_policy(conn: Connection, execution_id: int) -> int | None:
    return conn.execute(select(job_execution.c.vendor_id).where(
        job_execution.c.id == execution_id,
        job_execution.c.vendor_type == REPLICATION_VENDOR)).scalar()


def list_execution_ids(
    conn: Connection, policy_id: int | None, offset: int, limit: int
) -> tuple[list[int], int]:
    where = [job_execution.c.vendor_type == REPLICATION_VENDOR]
    if policy_id is not None:
        where.append(job_execution.c.vendor_id == policy_id)
    total = conn.execute(select(func.count()).select_from(job_execution)
                         .where(*where)).scalar_one()
    ids = conn.execute(select(job_execution.c.id).where(*where)
                       .order_by(job_execution.c.id.desc()).offset(offset).limit(limit))
    return list(ids.scalars()), int(total)


def start_task(
    conn: Connection, execution_id: int, resource_type: str, operation: str, src: str, dst: str
) -> int:
    """A task per artifact; a retried execution reuses the row of the same source."""
    now = utcnow()
    found = conn.execute(select(replication_task.c.id).where(
        replication_task.c.execution_id == execution_id,
        replication_task.c.src_resource == src,
        replication_task.c.operation == operation)).scalar()
    if found is not None:
        conn.execute(update(replication_task).where(replication_task.c.id == found).values(
            status="Running", start_time=now, end_time=None, dst_resource=dst))
        return int(found)
    return inserted_id(conn.execute(replication_task.insert().values(
        execution_id=execution_id, resource_type=resource_type, operation=operation,
        src_resource=src, dst_resource=dst, status="Running", log="", start_time=now,
    )))


LOG_CAP = 256 * 1024


def finish_task(conn: Connection, task_id: int, status: str, log: str) -> None:
    conn.execute(update(replication_task).where(replication_task.c.id == task_id).values(
        status=status, end_time=utcnow(),
        log=func.substr(replication_task.c.log + log, 1, LOG_CAP)))


def stop_running_tasks(conn: Connection, execution_id: int) -> None:
    conn.execute(update(replication_task).where(
        replication_task.c.execution_id == execution_id,
        replication_task.c.status == "Running").values(status="Stopped", end_time=utcnow()))


def _task(row: Any) -> Task:
    return Task(row.id, row.execution_id, row.resource_type, row.operation, row.src_resource,
                row.dst_resource, row.status, as_utc(row.start_time),  # type: ignore[arg-type]
                as_utc(row.end_time))


def list_tasks(
    conn: Connection, execution_id: int, offset: int, limit: int
) -> tuple[list[Task], int]:
    where = replication_task.c.execution_id == execution_id
    total = conn.execute(select(func.count()).select_from(replication_task)
                         .where(where)).scalar_one()
    rows = conn.execute(select(replication_task).where(where).order_by(replication_task.c.id)
                        .offset(offset).limit(limit))
    return [_task(row) for row in rows], int(total)


def task_log(conn: Connection, execution_id: int, task_id: int) -> str | None:
    return conn.execute(select(replication_task.c.log).where(
        replication_task.c.id == task_id,
        replication_task.c.execution_id == execution_id)).scalar()


def task_counts(conn: Connection, execution_ids: list[int]) -> dict[int, TaskCounts]:
    if not execution_ids:
        return {}
    status = replication_task.c.status

    def count(*states: str) -> Any:
        return func.sum(case((status.in_(states), 1), else_=0))

    rows = conn.execute(
        select(replication_task.c.execution_id, func.count(), count("Error"),
               count("Success"), count("Running", "Pending"), count("Stopped"))
        .where(replication_task.c.execution_id.in_(execution_ids))
        .group_by(replication_task.c.execution_id))
    return {row[0]: TaskCounts(int(row[1]), int(row[2] or 0), int(row[3] or 0),
                               int(row[4] or 0), int(row[5] or 0)) for row in rows}
