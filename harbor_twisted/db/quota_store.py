"""SQL for per-project storage quotas: charging pushed content, releasing deleted content,
and the quota rows the API reads and changes.

Charging is one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into ``project_blob`` (a
digest already counted in the project costs nothing) and one conditional ``UPDATE quota …
WHERE used + size <= hard`` in the pushing transaction: concurrent pushes serialise on the
quota row, so they cannot overshoot the limit, and a refused push rolls back whole.

Releasing is a recount on delete: every charge of the project that no manifest of the
project is or references any more is dropped. Blobs uploaded but not yet referenced may be
released by a concurrent delete; the manifest PUT that references them charges them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import project, user
from harbor_twisted.db.job_store import as_utc
from harbor_twisted.db.models import blob, manifest, manifest_blob, repository
from harbor_twisted.db.policy_models import project_blob, quota

UNLIMITED = -1


class QuotaExceeded(Exception):
    """Storing ``adding`` more bytes would take the project past its hard limit."""

    def __init__(self, project_name: str, adding: int, used: int, hard: int) -> None:
        self.project_name = project_name
        self.adding = adding
        self.used = used
        self.hard = hard
        super().__init__(
            f"quota exceeded: adding {adding} bytes to project {project_name} would use "
            f"{used + adding} of its {hard} byte storage limit ({used} bytes used)"
        )


@dataclass(frozen=True)
class QuotaRecord:
    id: int
    project_id: int
    project_name: str
    owner_name: str
    hard: int
    used: int
    creation_time: datetime
    update_time: datetime


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


_PROJECT_BY_NAME = select(project.c.id).where(project.c.name == bindparam("name"))


def project_of(conn: Connection, repository_name: str) -> tuple[int, str] | None:
    """The project (id, name) a repository belongs to: its first path component."""
    name = repository_name.split("/", 1)[0]
    found = conn.execute(_PROJECT_BY_NAME, {"name": name}).scalar()
    return None if found is None else (int(found), name)


def create_quota(conn: Connection, project_id: int, hard: int) -> None:
    now = utcnow()
    conn.execute(quota.insert().values(project_id=project_id, hard_storage=hard,
                                       used_storage=0, creation_time=now, update_time=now))


def charge(conn: Connection, repository_name: str, sizes: Mapping[str, int]) -> int:
    """Count ``sizes`` (digest -> bytes) against the repository's project; the bytes newly
    charged. Raises ``QuotaExceeded`` (the caller's transaction must roll back)."""
    found = project_of(conn, repository_name)
    if found is None or not sizes:
        return 0
    project_id, project_name = found
    statement = _insert(conn)(project_blob).values([
        {"project_id": project_id, "digest": digest, "size": size}
        for digest, size in sizes.items()
    ])
    added = sum(conn.execute(
        statement.on_conflict_do_nothing().returning(project_blob.c.size)
    ).scalars())
    if not added:
        return 0
    changed = conn.execute(
        update(quota)
        .where(quota.c.project_id == project_id,
               or_(quota.c.hard_storage < 0,
                   quota.c.used_storage + added <= quota.c.hard_storage))
        .values(used_storage=quota.c.used_storage + added, update_time=utcnow())
    ).rowcount
    if not changed:
        row = conn.execute(select(quota.c.used_storage, quota.c.hard_storage)
                           .where(quota.c.project_id == project_id)).first()
        if row is not None:  # no quota row: nothing to enforce
            raise QuotaExceeded(project_name, added, int(row.used_storage),
                                int(row.hard_storage))
    return int(added)


def release(conn: Connection, project_id: int, project_name: str) -> int:
    """Drop the project's charges no manifest of it is or references; the bytes freed."""
    in_project = repository.c.name.startswith(project_name + "/", autoescape=True)
    manifests = (select(manifest.c.digest)
                 .join(repository, repository.c.id == manifest.c.repository_id)
                 .where(in_project))
    referenced = (select(blob.c.digest)
                  .select_from(blob.join(manifest_blob, manifest_blob.c.blob_id == blob.c.id)
                               .join(manifest, manifest.c.id == manifest_blob.c.manifest_id)
                               .join(repository, repository.c.id == manifest.c.repository_id))
                  .where(in_project))
    freed = sum(conn.execute(
        delete(project_blob)
        .where(project_blob.c.project_id == project_id,
               project_blob.c.digest.not_in(manifests),
               project_blob.c.digest.not_in(referenced))
        .returning(project_blob.c.size)
    ).scalars())
    if freed:
        conn.execute(update(quota).where(quota.c.project_id == project_id).values(
            used_storage=func.max(quota.c.used_storage - freed, 0)
            if conn.dialect.name == "sqlite"
            else func.greatest(quota.c.used_storage - freed, 0),
            update_time=utcnow()))
    return int(freed)


def release_repository(conn: Connection, repository_name: str) -> int:
    found = project_of(conn, repository_name)
    return 0 if found is None else release(conn, *found)


def release_repositories(conn: Connection, repository_names: list[str]) -> int:
    """Release once per project of the given repositories (after bulk deletes)."""
    projects = {name.split("/", 1)[0]: name for name in repository_names}
    return sum(release_repository(conn, name) for name in projects.values())


# -- the API's view -----------------------------------------------------------------------

_QUOTAS = (
    select(quota, project.c.name.label("project_name"),
           func.coalesce(user.c.username, "").label("owner_name"))
    .select_from(quota.join(project, project.c.id == quota.c.project_id)
                 .outerjoin(user, user.c.id == project.c.owner_id))
)

SORTABLE = {
    "id": quota.c.id,
    "creation_time": quota.c.creation_time,
    "update_time": quota.c.update_time,
    "hard.storage": quota.c.hard_storage,
    "used.storage": quota.c.used_storage,
}


def _record(row: Any) -> QuotaRecord:
    return QuotaRecord(row.id, row.project_id, row.project_name, row.owner_name,
                       int(row.hard_storage), int(row.used_storage),
                       as_utc(row.creation_time), as_utc(row.update_time))  # type: ignore[arg-type]


def list_quotas(
    conn: Connection, project_id: int | None, sorts: list[tuple[str, bool]], offset: int,
    limit: int,
) -> tuple[list[QuotaRecord], int]:
    stmt = _QUOTAS
    if project_id is not None:
        stmt = stmt.where(quota.c.project_id == project_id)
    total = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    order = [SORTABLE[key].desc() if descending else SORTABLE[key]
             for key, descending in sorts] + [quota.c.id]
    rows = conn.execute(stmt.order_by(*order).offset(offset).limit(limit))
    return [_record(row) for row in rows], int(total)


def get_quota(conn: Connection, quota_id: int | None = None,
              project_id: int | None = None) -> QuotaRecord | None:
    stmt = _QUOTAS.where(quota.c.id == quota_id) if quota_id is not None else _QUOTAS.where(
        quota.c.project_id == project_id)
    row = conn.execute(stmt).first()
    return None if row is None else _record(row)


def quotas_of_projects(conn: Connection, project_ids: list[int]) -> dict[int, QuotaRecord]:
    """The quotas of a page of projects, by project id (one query)."""
    if not project_ids:
        return {}
    rows = conn.execute(_QUOTAS.where(quota.c.project_id.in_(project_ids)))
    return {record.project_id: record for record in map(_record, rows)}


def set_hard(conn: Connection, quota_id: int, hard: int) -> bool:
    return conn.execute(update(quota).where(quota.c.id == quota_id).values(
        hard_storage=hard, update_time=utcnow())).rowcount > 0
