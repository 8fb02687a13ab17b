"""SQL for retention policies, their schedules and executions (job service rows with
``vendor_type`` RETENTION and ``vendor_id`` the policy), and the candidates a run weighs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import job_store, schedule_store
from harbor_twisted.db.identity_models import project
from harbor_twisted.db.job_models import job_execution, job_task
from harbor_twisted.db.job_store import Execution, _execution, as_utc
from harbor_twisted.db.models import manifest, manifest_child, repository, tag
from harbor_twisted.db.policy_models import retention_policy
from harbor_twisted.db.results import inserted_id

VENDOR = "RETENTION"


@dataclass(frozen=True)
class PolicyRecord:
    id: int
    project_id: int
    project_name: str
    algorithm: str
    rules: list[dict[str, Any]]
    trigger: dict[str, Any]


_POLICIES = select(retention_policy, project.c.name.label("project_name")).join(
    project, project.c.id == retention_policy.c.project_id)


def _policy(row: Any) -> PolicyRecord:
    return PolicyRecord(row.id, row.project_id, row.project_name, row.algorithm,
                        json.loads(row.rules), json.loads(row.trigger))


def get_policy(conn: Connection, policy_id: int) -> PolicyRecord | None:
    row = conn.execute(_POLICIES.where(retention_policy.c.id == policy_id)).first()
    return None if row is None else _policy(row)


def policy_of_project(conn: Connection, project_id: int) -> PolicyRecord | None:
    row = conn.execute(_POLICIES.where(retention_policy.c.project_id == project_id)).first()
    return None if row is None else _policy(row)


def create_policy(conn: Connection, project_id: int, rules: list[dict[str, Any]],
                  trigger: dict[str, Any]) -> int:
    now = utcnow()
    result = conn.execute(retention_policy.insert().values(
        project_id=project_id, algorithm="or", rules=json.dumps(rules), trigger=json.dumps(
            trigger), creation_time=now, update_time=now))
    return int(inserted_id(result))


def update_policy(conn: Connection, policy_id: int, rules: list[dict[str, Any]],
                  trigger: dict[str, Any]) -> None:
    conn.execute(update(retention_policy).where(retention_policy.c.id == policy_id).values(
        rules=json.dumps(rules), trigger=json.dumps(trigger), update_time=utcnow()))


def delete_policy(conn: Connection, policy_id: int) -> None:
    set_schedule(conn, policy_id, "", None)
    conn.execute(delete(retention_policy).where(retention_policy.c.id == policy_id))


def delete_project_policy(conn: Connection, project_id: int) -> None:
    found = policy_of_project(conn, project_id)
    if found is not None:
        delete_policy(conn, found.id)


def set_schedule(conn: Connection, policy_id: int, cron: str, next_run: datetime | None) -> None:
    """The policy's cron schedule (fired by the job scheduler); an empty cron removes it."""
    if not cron or next_run is None:
        schedule_store.delete_schedule(conn, VENDOR, policy_id)
        return
    schedule_store.put_schedule(conn, VENDOR, "Custom", cron,
                                {"dry_run": False, "policy_id": policy_id}, next_run,
                                vendor_id=policy_id)


# -- executions ---------------------------------------------------------------------------


def claim_execution(conn: Connection, execution_id: int, policy_id: int) -> None:
    """Name the policy on an execution (scheduled ones are created without it)."""
    conn.execute(update(job_execution).where(job_execution.c.id == execution_id)
                 .values(vendor_id=policy_id))


def list_executions(conn: Connection, policy_id: int, offset: int,
                    limit: int) -> tuple[list[Execution], int]:
    where = (job_execution.c.vendor_type == VENDOR, job_execution.c.vendor_id == policy_id)
    total = conn.execute(select(func.count()).select_from(job_execution).where(*where))
    rows = conn.execute(select(job_execution).where(*where).order_by(job_execution.c.id.desc())
                        .offset(offset).limit(limit))
    return [_execution(row) for row in rows], int(total.scalar_one())


def get_execution(conn: Connection, policy_id: int, execution_id: int) -> Execution | None:
    row = conn.execute(select(job_execution).where(
        job_execution.c.id == execution_id, job_execution.c.vendor_type == VENDOR,
        job_execution.c.vendor_id == policy_id)).first()
    return None if row is None else _execution(row)


@dataclass(frozen=True)
class TaskRecord:
    id: int
    execution_id: int
    status: str
    start_time: datetime | None
    end_time: datetime | None
    result: dict[str, Any] | None


def list_tasks(conn: Connection, execution_id: int) -> list[TaskRecord]:
    rows = conn.execute(select(job_task).where(job_task.c.execution_id == execution_id)
                        .order_by(job_task.c.id))
    return [TaskRecord(row.id, row.execution_id, row.status, as_utc(row.start_time),
                       as_utc(row.end_time), json.loads(row.result) if row.result else None)
            for row in rows]


task_log = job_store.task_log  # the job service's per-task log, shared by every job kind


# -- candidates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TaggedArtifact:
    repository: str
    artifact_id: int
    digest: str
    tags: tuple[str, ...]
    pushed: datetime
    pulled: datetime | None


def tagged_artifacts(conn: Connection, project_name: str) -> list[TaggedArtifact]:
    """The project's tagged artifacts (children of indexes excluded), with push and pull
    times: the push is the manifest's or its latest tag's, the pull from the audit log."""
    parent = manifest.alias("parent")
    child_of_index = (select(manifest_child.c.child_digest)
                      .join(parent, parent.c.id == manifest_child.c.parent_id)
                      .where(parent.c.repository_id == manifest.c.repository_id,
                             manifest_child.c.child_digest == manifest.c.digest).exists())
    rows = conn.execute(
        select(repository.c.name, manifest.c.id, manifest.c.digest, manifest.c.created_at,
               manifest.c.pull_time, tag.c.name.label("tag"), tag.c.updated_at,
               tag.c.pull_time.label("tag_pull_time"))
        .select_from(manifest.join(repository, repository.c.id == manifest.c.repository_id)
                     .join(tag, tag.c.manifest_id == manifest.c.id))
        .where(repository.c.name.startswith(project_name + "/", autoescape=True),
               ~child_of_index)
        .order_by(repository.c.name, manifest.c.id, tag.c.name)
    ).all()
    grouped: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = grouped.setdefault(row.id, {"repository": row.name, "digest": row.digest,
                                            "tags": [], "pushed": as_utc(row.created_at),
                                            "pulls": []})
        entry["tags"].append(row.tag)
        entry["pushed"] = max(entry["pushed"], as_utc(row.updated_at))
        entry["pulls"] += [as_utc(moment) for moment in (row.pull_time, row.tag_pull_time)
                           if moment is not None]
    return [
        TaggedArtifact(e["repository"], artifact_id, e["digest"], tuple(e["tags"]),
                       e["pushed"], max(e["pulls"]) if e["pulls"] else None)
        for artifact_id, e in grouped.items()
    ]
