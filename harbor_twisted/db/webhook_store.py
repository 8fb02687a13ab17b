"""SQL for webhooks: project policies, the executions made for them (job service rows with
``vendor_type`` WEBHOOK and ``vendor_id`` the policy, one task each) and their logs, and
the lookups the event dispatcher and the pull recorder make."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import job_store
from harbor_twisted.db.identity_models import project
from harbor_twisted.db.job_models import job_execution, job_task
from harbor_twisted.db.job_store import Execution, _execution, as_utc
from harbor_twisted.db.models import repository
from harbor_twisted.db.results import inserted_id
from harbor_twisted.db.webhook_models import webhook_execution, webhook_policy

VENDOR = "WEBHOOK"
JOB_NAME = "webhook"


@dataclass(frozen=True)
class Target:
    type: str  # http or slack
    address: str
    skip_cert_verify: bool
    payload_format: str  # Default or CloudEvents
    has_auth_header: bool

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "address": self.address,
                "skip_cert_verify": self.skip_cert_verify,
                "payload_format": self.payload_format, "has_auth_header": self.has_auth_header}


@dataclass(frozen=True)
class Policy:
    id: int
    project_id: int
    name: str
    description: str
    enabled: bool
    event_types: list[str]
    targets: list[Target]
    creator: str
    creation_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class ProjectPolicies:
    """What the dispatcher needs of a project: its id, visibility and enabled policies."""

    project_id: int
    public: bool
    policies: list[Policy]


@dataclass(frozen=True)
class Task:
    id: int
    execution_id: int
    status: str
    status_message: str | None
    run_count: int
    creation_time: datetime
    update_time: datetime
    start_time: datetime | None
    end_time: datetime | None


def _targets(text: str) -> list[Target]:
    return [Target(t["type"], t["address"], bool(t["skip_cert_verify"]), t["payload_format"],
                   bool(t["has_auth_header"])) for t in json.loads(text)]


def _policy(row: Any) -> Policy:
    return Policy(row.id, row.project_id, row.name, row.description, bool(row.enabled),
                  json.loads(row.event_types), _targets(row.targets), row.creator,
                  as_utc(row.creation_time), as_utc(row.update_time))  # type: ignore[arg-type]


def _values(values: dict[str, Any]) -> dict[str, Any]:
    """Policy values as columns (lists as JSON)."""
    out = dict(values)
    if "event_types" in out:
        out["event_types"] = json.dumps(out["event_types"])
    if "targets" in out:
        out["targets"] = json.dumps([t.as_json() for t in out["targets"]])
    return out


# -- policies -----------------------------------------------------------------------------


def name_taken(conn: Connection, project_id: int, name: str, except_id: int = 0) -> bool:
    return conn.execute(select(webhook_policy.c.id).where(
        webhook_policy.c.project_id == project_id, webhook_policy.c.name == name,
        webhook_policy.c.id != except_id)).first() is not None


def create_policy(conn: Connection, project_id: int, values: dict[str, Any]) -> int:
    now = utcnow()
    return inserted_id(conn.execute(webhook_policy.insert().values(
        project_id=project_id, creation_time=now, update_time=now, **_values(values),
    )))


def update_policy(conn: Connection, policy_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(webhook_policy).where(webhook_policy.c.id == policy_id)
                 .values(update_time=utcnow(), **_values(values)))


def get_policy(conn: Connection, policy_id: int, project_id: int | None = None) -> Policy | None:
    """The policy, or None (also when it belongs to another project than ``project_id``)."""
    query = select(webhook_policy).where(webhook_policy.c.id == policy_id)
    if project_id is not None:
        query = query.where(webhook_policy.c.project_id == project_id)
    row = conn.execute(query).first()
    return None if row is None else _policy(row)


def list_policies(
    conn: Connection, project_id: int, name: str | None, offset: int, limit: int,
    exact: bool = False,
) -> tuple[list[Policy], int]:
    """A page of the project's policies, by id; ``name`` matched exactly or as a part."""
    where = [webhook_policy.c.project_id == project_id]
    if name is not None:
        where.append(webhook_policy.c.name == name if exact
                     else webhook_policy.c.name.contains(name, autoescape=True))
    total = conn.execute(select(func.count()).select_from(webhook_policy).where(*where))
    rows = conn.execute(select(webhook_policy).where(*where).order_by(webhook_policy.c.id)
                        .offset(offset).limit(limit))
    return [_policy(row) for row in rows], int(total.scalar_one())


def _forget_executions(conn: Connection, policy_ids: list[int]) -> None:
    """Their tasks, logs and webhook_execution rows go by cascade."""
    if policy_ids:
        conn.execute(delete(job_execution).where(job_execution.c.vendor_type == VENDOR,
                                                 job_execution.c.vendor_id.in_(policy_ids)))


def delete_policy(conn: Connection, project_id: int, policy_id: int) -> Policy | None:
    """Delete the policy with its executions; what was deleted, or None."""
    found = get_policy(conn, policy_id, project_id)
    if found is None:
        return None
    _forget_executions(conn, [policy_id])
    conn.execute(delete(webhook_policy).where(webhook_policy.c.id == policy_id))
    return found


def delete_project_policies(conn: Connection, project_id: int) -> list[Policy]:
    """Before a project goes: its policies and their executions; what was deleted."""
    rows = conn.execute(select(webhook_policy).where(webhook_policy.c.project_id == project_id))
    policies = [_policy(row) for row in rows]
    _forget_executions(conn, [p.id for p in policies])
    conn.execute(delete(webhook_policy).where(webhook_policy.c.project_id == project_id))
    return policies


# -- what the dispatcher and the pull recorder ask ----------------------------------------


def _enabled_in(names: Iterable[str]) -> Any:
    return (select(webhook_policy, project.c.name.label("project_name"),
                   project.c.public.label("project_public"))
            .join(project, project.c.id == webhook_policy.c.project_id)
            .where(webhook_policy.c.enabled.is_(True), project.c.name.in_(sorted(set(names))))
            .order_by(webhook_policy.c.id))


def projects_wanting(conn: Connection, event_type: str, names: Iterable[str]) -> set[str]:
    """Which of the named projects have an enabled policy selecting ``event_type``."""
    rows = conn.execute(_enabled_in(names).where(
        webhook_policy.c.event_types.contains(f'"{event_type}"', autoescape=True)))
    return {row.project_name for row in rows if event_type in json.loads(row.event_types)}


def enabled_policies(conn: Connection, names: Iterable[str]) -> dict[str, ProjectPolicies]:
    """The named projects that have enabled policies, with those policies."""
    found: dict[str, ProjectPolicies] = {}
    for row in conn.execute(_enabled_in(names)):
        entry = found.setdefault(row.project_name, ProjectPolicies(
            row.project_id, bool(row.project_public), []))
        entry.policies.append(_policy(row))
    return found


def repositories_created(conn: Connection, names: Iterable[str]) -> dict[str, datetime]:
    rows = conn.execute(select(repository.c.name, repository.c.created_at)
                        .where(repository.c.name.in_(sorted(set(names)))))
    return {row.name: as_utc(row.created_at) for row in rows}  # type: ignore[misc]


def link_execution(conn: Connection, execution_id: int, policy_id: int, event_type: str) -> None:
    conn.execute(webhook_execution.insert().values(
        execution_id=execution_id, policy_id=policy_id, event_type=event_type))


# -- executions, tasks, logs --------------------------------------------------------------


_EXECUTIONS = (select(job_execution, webhook_execution.c.event_type)
               .join(webhook_execution,
                     webhook_execution.c.execution_id == job_execution.c.id))


def list_executions(
    conn: Connection, policy_id: int, offset: int, limit: int
) -> tuple[list[tuple[Execution, str]], int]:
    """Newest first: each execution with the event type it delivers."""
    where = webhook_execution.c.policy_id == policy_id
    total = conn.execute(select(func.count()).select_from(webhook_execution).where(where))
    rows = conn.execute(_EXECUTIONS.where(where).order_by(job_execution.c.id.desc())
                        .offset(offset).limit(limit))
    return [(_execution(row), row.event_type) for row in rows], int(total.scalar_one())


def execution_exists(conn: Connection, policy_id: int, execution_id: int) -> bool:
    return conn.execute(select(webhook_execution.c.execution_id).where(
        webhook_execution.c.execution_id == execution_id,
        webhook_execution.c.policy_id == policy_id)).first() is not None


def task_counts(conn: Connection, execution_ids: list[int]) -> dict[int, dict[str, int]]:
    """Tasks per status of each execution."""
    counts: dict[int, dict[str, int]] = {i: {} for i in execution_ids}
    if execution_ids:
        rows: Any = conn.execute(select(job_task.c.execution_id, job_task.c.status, func.count())
                            .where(job_task.c.execution_id.in_(execution_ids))
                            .group_by(job_task.c.execution_id, job_task.c.status))
        for execution_id, status, count in rows:
            counts[execution_id][status] = int(count)
    return counts


def _task(row: Any) -> Task:
    return Task(row.id, row.execution_id, row.status, row.status_message, row.attempts,
                as_utc(row.created_at), as_utc(row.updated_at),  # type: ignore[arg-type]
                as_utc(row.start_time), as_utc(row.end_time))


def list_tasks(
    conn: Connection, execution_id: int, offset: int, limit: int
) -> tuple[list[Task], int]:
    where = job_task.c.execution_id == execution_id
    total = conn.execute(select(func.count()).select_from(job_task).where(where))
    rows = conn.execute(select(job_task).where(where).order_by(job_task.c.id)
                        .offset(offset).limit(limit))
    return [_task(row) for row in rows], int(total.scalar_one())


task_log = job_store.task_log  # the job service's per-task log, shared by every job kind


def last_triggers(conn: Connection, project_id: int) -> list[tuple[Policy, str, datetime | None]]:
    """Each policy of the project with each of its event types and when that last fired."""
    policies, _ = list_policies(conn, project_id, None, 0, 1_000_000)
    rows = conn.execute(
        select(webhook_execution.c.policy_id, webhook_execution.c.event_type,
               func.max(job_execution.c.created_at))
        .join(job_execution, job_execution.c.id == webhook_execution.c.execution_id)
        .where(webhook_execution.c.policy_id.in_([p.id for p in policies]))
        .group_by(webhook_execution.c.policy_id, webhook_execution.c.event_type))
    last = {(row[0], row[1]): as_utc(row[2]) for row in rows}
    return [(p, event_type, last.get((p.id, event_type)))
            for p in policies for event_type in p.event_types]
