"""SQL for projects: lookups, listings by visibility, metadata and repository counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import audit_counts
from harbor_twisted.db.identity_models import (
    audit_log,
    project,
    project_member,
    project_metadata,
    user,
)
from harbor_twisted.db.listing import (
    Listing,
    Sort,
    held_by,
    listed,
    name_prefix,
    user_or_member_of,
    valid_id,
)
from harbor_twisted.db.models import repository
from harbor_twisted.db.results import inserted_id


@dataclass(frozen=True)
class ProjectRow:
    id: int
    name: str
    public: bool
    owner_id: int | None


_PROJECT_BY_NAME = select(project.c.id, project.c.name, project.c.public, project.c.owner_id).where(
    project.c.name == bindparam("name")
)


def get_project(conn: Connection, name: str) -> ProjectRow | None:
    row = conn.execute(_PROJECT_BY_NAME, {"name": name}).first()
    if row is None:
        return None
    return ProjectRow(row.id, row.name, bool(row.public), row.owner_id)


def create_project(conn: Connection, name: str, owner_id: int | None, public: bool) -> int:
    now = utcnow()
    result = conn.execute(
        insert(project).values(
            name=name, owner_id=owner_id, public=public, creation_time=now, update_time=now
        )
    )
    return inserted_id(result)


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    name: str
    public: bool
    owner_id: int | None
    owner_name: str | None
    creation_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class Visibility:
    """Which projects a non-admin may see: public ones (if asked) and those where the user
    or one of their groups holds one of ``roles``."""

    include_public: bool
    user_id: int | None = None
    group_ids: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()


_OWNER = user.alias("owner")


PROJECT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "project_id": project.c.id,
    "name": project.c.name,
    "public": project.c.public,
    "owner": _OWNER.c.username,
    "creation_time": project.c.creation_time,
    "update_time": project.c.update_time,
}


_PROJECTS = select(
    project.c.id, project.c.name, project.c.public, project.c.owner_id,
    _OWNER.c.username.label("owner_name"), project.c.creation_time, project.c.update_time,
).select_from(project.outerjoin(_OWNER, _OWNER.c.id == project.c.owner_id))


def _project_record(row: Any) -> ProjectRecord:
    return ProjectRecord(
        row.id, row.name, bool(row.public), row.owner_id, row.owner_name, row.creation_time,
        row.update_time,
    )


def find_project(
    conn: Connection, *, project_id: int | None = None, name: str | None = None
) -> ProjectRecord | None:
    if name is None and not valid_id(project_id):
        return None
    stmt = _PROJECTS.where(project.c.id == project_id if name is None else project.c.name == name)
    row = conn.execute(stmt).first()
    return None if row is None else _project_record(row)


def list_projects(
    conn: Connection, listing: Listing, visibility: Visibility | None
) -> tuple[list[ProjectRecord], int]:
    """Projects matching the listing; ``visibility`` None means every project (admins)."""
    stmt = _PROJECTS
    if visibility is not None:
        member_of = project.c.id.in_(
            user_or_member_of(visibility.user_id, visibility.group_ids, visibility.roles)
        )
        stmt = stmt.where(or_(project.c.public.is_(true()), member_of)
                          if visibility.include_public else member_of)
    rows, total = listed(conn, stmt, PROJECT_COLUMNS, listing, project.c.id,
                          (Sort("name"),))
    return [_project_record(row) for row in rows], total


def update_project(conn: Connection, project_id: int, **values: Any) -> None:
    conn.execute(
        update(project).where(project.c.id == project_id).values(**values, update_time=utcnow())
    )


def delete_project(conn: Connection, project_id: int) -> None:
    """Remove the project; its audit entries stay, detached (only system admins see them),
    because SQLite hands a freed highest id to the next project."""
    conn.execute(
        update(audit_log).where(audit_log.c.project_id == project_id).values(project_id=None)
    )
    audit_counts.detach(conn, project_id)
    conn.execute(delete(project_metadata).where(project_metadata.c.project_id == project_id))
    conn.execute(delete(project_member).where(project_member.c.project_id == project_id))
    conn.execute(delete(project).where(project.c.id == project_id))


def repository_counts(conn: Connection, names: list[str]) -> dict[str, int]:
    """Repositories per project name (a repository ``p/…`` belongs to project ``p``): on
    SQLite a range of the name index each, elsewhere one grouped pass over the names."""
    if conn.dialect.name == "postgresql" and names:
        part = func.split_part(repository.c.name, "/", 1)
        grouped: dict[str, int] = dict(conn.execute(
            select(part, func.count()).where(repository.c.name.contains("/"),
                                             part.in_(names)).group_by(part)
        ).all())
        return {name: grouped.get(name, 0) for name in names}
    counts = {}
    for name in names:
        counts[name] = conn.execute(
            select(func.count())
            .select_from(repository)
            .where(name_prefix(conn, repository.c.name, name + "/"))
        ).scalar_one()
    return counts


def project_roles(
    conn: Connection, project_ids: list[int], user_id: int | None, group_ids: frozenset[int]
) -> dict[int, list[int]]:
    """Each project's roles held by the user directly or through groups."""
    if not project_ids:
        return {}
    stmt = select(project_member.c.project_id, project_member.c.role_id).where(
        held_by(user_id, group_ids), project_member.c.project_id.in_(project_ids)
    )
    roles: dict[int, list[int]] = {}
    for row in conn.execute(stmt):
        roles.setdefault(row.project_id, []).append(row.role_id)
    return roles


def project_metadata_values(conn: Connection, project_ids: list[int]) -> dict[int, dict[str, str]]:
    values: dict[int, dict[str, str]] = {pid: {} for pid in project_ids}
    if project_ids:
        rows = conn.execute(
            select(project_metadata).where(project_metadata.c.project_id.in_(project_ids))
        )
        for row in rows:
            values[row.project_id][row.name] = row.value
    return values


def put_project_metadata(conn: Connection, project_id: int, values: dict[str, str]) -> None:
    for name, value in values.items():
        changed = conn.execute(
            update(project_metadata)
            .where(project_metadata.c.project_id == project_id, project_metadata.c.name == name)
            .values(value=value)
        ).rowcount
        if not changed:
            conn.execute(
                insert(project_metadata).values(project_id=project_id, name=name, value=value)
            )


def delete_project_metadata(conn: Connection, project_id: int, name: str) -> bool:
    return bool(
        conn.execute(
            delete(project_metadata).where(
                project_metadata.c.project_id == project_id, project_metadata.c.name == name
            )
        ).rowcount
    )
