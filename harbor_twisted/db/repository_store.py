"""SQL for the repository listing of the API: counts, pulls, descriptions, deletion."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    Select,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.artifact_models import repository_info
from harbor_twisted.db.artifact_store import child_of_index, hidden_from_lists
from harbor_twisted.db.identity_models import project
from harbor_twisted.db.listing import (
    Listing,
    Sort,
    count_any,
    listed,
    name_prefix,
    user_or_member_of,
)
from harbor_twisted.db.models import (
    manifest,
    manifest_blob,
    manifest_child,
    repository,
    repository_blob,
    tag,
)
from harbor_twisted.db.project_store import Visibility


@dataclass(frozen=True)
class RepositoryRecord:
    id: int
    name: str  # the full name, project/…
    project_id: int
    project_name: str
    project_public: bool
    description: str
    creation_time: datetime
    update_time: datetime
    artifact_count: int = 0
    pull_count: int = 0


@dataclass(frozen=True)
class RepositoryScope:
    """Which repositories a listing covers: one project's, or those of the projects
    ``visibility`` allows (None: every project) plus ``project_names`` (robot grants)."""

    project_id: int | None = None
    project_name: str | None = None
    visibility: Visibility | None = None
    project_names: frozenset[str] = field(default_factory=frozenset)


def _project_part(conn: Connection) -> ColumnElement[str]:
    """The project component of ``repository.name`` (empty without a slash)."""
    if conn.dialect.name == "postgresql":
        slash = func.strpos(repository.c.name, "/")
    else:
        slash = func.instr(repository.c.name, "/")
    return case((slash > 0, func.substr(repository.c.name, 1, slash - 1)), else_=literal(""))


def _latest(conn: Connection, *moments: ColumnElement[Any]) -> ColumnElement[Any]:
    name = "greatest" if conn.dialect.name == "postgresql" else "max"
    return getattr(func, name)(*moments, type_=DateTime(timezone=True))


def _update_time(conn: Connection) -> ColumnElement[Any]:
    """The last push, retag or description change; the creation time before any."""
    created = repository.c.created_at
    last_manifest = (
        select(func.max(manifest.c.created_at))
        .where(manifest.c.repository_id == repository.c.id)
        .scalar_subquery()
    )
    last_tag = (
        select(func.max(tag.c.updated_at)).where(tag.c.repository_id == repository.c.id)
    ).scalar_subquery()
    return _latest(
        conn,
        func.coalesce(last_manifest, created),
        func.coalesce(last_tag, created),
        func.coalesce(repository_info.c.update_time, created),
    )


def _repositories(
    conn: Connection, *, narrow: bool = False
) -> tuple[Select[Any], dict[str, ColumnElement[Any]]]:
    """The repositories with their project; ``narrow`` selects the id only (to pick a page:
    the update time, two subqueries a row, is then computed only where filtered or sorted)."""
    update_time = _update_time(conn)
    shown = (repository.c.id,) if narrow else (
        repository.c.id,
        repository.c.name,
        repository.c.created_at,
        repository.c.pull_count,
        project.c.id.label("project_id"),
        project.c.name.label("project_name"),
        project.c.public.label("project_public"),
        func.coalesce(repository_info.c.description, "").label("description"),
        update_time.label("update_time"),
    )
    stmt = select(*shown).select_from(
        repository.join(project, project.c.name == _project_part(conn)).outerjoin(
            repository_info, repository_info.c.repository_id == repository.c.id
        )
    )
    columns: dict[str, ColumnElement[Any]] = {
        "id": repository.c.id,
        "repository_id": repository.c.id,
        "name": repository.c.name,
        "project_id": project.c.id,
        "creation_time": repository.c.created_at,
        "update_time": update_time,
    }
    return stmt, columns


def _repository_record(row: Any) -> RepositoryRecord:
    return RepositoryRecord(
        row.id, row.name, row.project_id, row.project_name, bool(row.project_public),
        row.description, row.created_at, row.update_time or row.created_at,
        pull_count=row.pull_count,
    )


def _scoped(conn: Connection, stmt: Select[Any], scope: RepositoryScope) -> Select[Any]:
    if scope.project_id is not None:
        stmt = stmt.where(project.c.id == scope.project_id)
        if scope.project_name is not None:  # lets the database use the name index
            stmt = stmt.where(name_prefix(conn, repository.c.name, scope.project_name + "/"))
        return stmt
    if scope.visibility is None:
        return stmt
    visibility = scope.visibility
    allowed: list[ColumnElement[bool]] = [false()]
    if visibility.include_public:
        allowed.append(project.c.public.is_(true()))
    if visibility.user_id is not None or visibility.group_ids:
        allowed.append(project.c.id.in_(
            user_or_member_of(visibility.user_id, visibility.group_ids, visibility.roles)
        ))
    if scope.project_names:
        allowed.append(project.c.name.in_(sorted(scope.project_names)))
    return stmt.where(or_(*allowed))


def list_repositories(
    conn: Connection, listing: Listing, scope: RepositoryScope
) -> tuple[list[RepositoryRecord], int]:
    """A page of repositories (newest first unless sorted otherwise), with their counts."""
    narrow, columns = _repositories(conn, narrow=True)
    if scope.project_id is not None and scope.project_name is not None:
        # the name prefix is the project: no join, one range of the name index
        narrow = select(repository.c.id).select_from(repository.outerjoin(
            repository_info, repository_info.c.repository_id == repository.c.id
        )).where(name_prefix(conn, repository.c.name, scope.project_name + "/"))
        columns = {**columns, "project_id": literal(scope.project_id, Integer)}
    else:
        narrow = _scoped(conn, narrow, scope)
    rows, total = listed(
        conn, narrow, columns, listing, repository.c.id,
        (Sort("creation_time", descending=True),),
    )
    ids = [row.id for row in rows]
    if not ids:
        return [], total
    stmt, _ = _repositories(conn)
    found = {row.id: _repository_record(row)
             for row in conn.execute(stmt.where(repository.c.id.in_(ids)))}
    return _with_counts(conn, [found[i] for i in ids if i in found]), total


def get_repository(
    conn: Connection, name: str, counted: bool = True
) -> RepositoryRecord | None:
    """The repository; its artifact count only when ``counted``."""
    stmt, _ = _repositories(conn)
    row = conn.execute(stmt.where(repository.c.name == name)).first()
    if row is None:
        return None
    record = _repository_record(row)
    return _with_counts(conn, [record])[0] if counted else record


def _with_counts(conn: Connection, records: list[RepositoryRecord]) -> list[RepositoryRecord]:
    counts = artifact_counts(conn, [r.id for r in records])
    return [replace(r, artifact_count=counts.get(r.id, 0)) for r in records]


def artifact_counts(conn: Connection, repository_ids: list[int]) -> dict[int, int]:
    """Artifacts per repository as Harbor counts them, neither children of indexes nor
    accessories: all manifests (an index count) less those hidden from lists, counted only
    in repositories that have indexes or referrers."""
    if not repository_ids:
        return {}
    counts: dict[int, int] = dict(conn.execute(
        select(manifest.c.repository_id, func.count())
        .where(manifest.c.repository_id.in_(repository_ids))
        .group_by(manifest.c.repository_id)
    ).all())
    with_hidden: set[int] = set(conn.execute(
        select(manifest_child.c.repository_id.distinct())
        .where(manifest_child.c.repository_id.in_(repository_ids))
    ).scalars())
    with_hidden.update(conn.execute(
        select(manifest.c.repository_id.distinct())
        .where(manifest.c.repository_id.in_(repository_ids),
               manifest.c.subject_digest.is_not(None))
    ).scalars())
    for repository_id in sorted(with_hidden):  # index ranges of that repository
        counts[repository_id] -= count_any(
            conn, select(manifest.c.id).where(manifest.c.repository_id == repository_id),
            hidden_from_lists(repository_id))
    return counts


def set_description(conn: Connection, repository_id: int, description: str) -> None:
    now = utcnow()
    changed = conn.execute(
        update(repository_info)
        .where(repository_info.c.repository_id == repository_id)
        .values(description=description, update_time=now)
    ).rowcount
    if not changed:
        conn.execute(
            insert(repository_info).values(
                repository_id=repository_id, description=description, update_time=now
            )
        )


def delete_repository(conn: Connection, repository_id: int) -> list[str]:
    """Remove the repository with its artifacts, tags and blob links; the digests of the
    artifacts it listed (not children of indexes), for the audit log."""
    roots: list[str] = list(
        conn.execute(
            select(manifest.c.digest)
            .where(manifest.c.repository_id == repository_id,
                   ~child_of_index(repository_id))
            .order_by(manifest.c.id)
        ).scalars()
    )
    ids = select(manifest.c.id).where(manifest.c.repository_id == repository_id)
    conn.execute(delete(tag).where(tag.c.repository_id == repository_id))
    conn.execute(delete(manifest_child).where(manifest_child.c.parent_id.in_(ids)))
    conn.execute(delete(manifest_blob).where(manifest_blob.c.manifest_id.in_(ids)))
    conn.execute(delete(manifest).where(manifest.c.repository_id == repository_id))
    conn.execute(delete(repository_blob).where(repository_blob.c.repository_id == repository_id))
    conn.execute(delete(repository_info).where(repository_info.c.repository_id == repository_id))
    conn.execute(delete(repository).where(repository.c.id == repository_id))
    return roots
