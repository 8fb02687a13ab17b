"""SQL for the REST API's view of the registry: repositories with their project, artifacts
(manifests) with their tags and children, pull statistics (columns the registry's batched
pull recording keeps, see pull_store), and deletes that remove database rows only — blob
files wait for garbage collection.

A repository belongs to the project named by its first path component; artifacts that are
children of an index in the same repository are hidden from lists, as Harbor does.

Listings stay fast at 100,000 artifacts: a page is chosen on narrow rows (ids and sort
keys, through indexes) and only its rows are read in full; the children of indexes are one
index range of ``manifest_child`` per repository, not a subquery per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    Select,
    and_,
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
from sqlalchemy.exc import IntegrityError

from harbor_twisted.db import event_store
from harbor_twisted.db.artifact_models import repository_info
from harbor_twisted.db.clock import utcnow
from harbor_twisted.db.identity_models import project
from harbor_twisted.db.identity_store import (
    Filter,
    Listing,
    Sort,
    Visibility,
    _listed,
    _user_or_member_of,
    name_prefix,
)
from harbor_twisted.db.models import (
    blob,
    manifest,
    manifest_blob,
    manifest_child,
    repository,
    repository_blob,
    tag,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


class TagExists(Exception):
    """The repository already has a tag of that name."""


# -- repositories -------------------------------------------------------------------------


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
            _user_or_member_of(visibility.user_id, visibility.group_ids, visibility.roles)
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
    rows, total = _listed(
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


def _child_of_index(repository_id: int) -> ColumnElement[bool]:
    """The manifest is a child of an index of ``repository_id`` (its own repository): one
    index range, read once per query."""
    return manifest.c.digest.in_(
        select(manifest_child.c.child_digest).where(
            manifest_child.c.repository_id == repository_id
        )
    )


def artifact_counts(conn: Connection, repository_ids: list[int]) -> dict[int, int]:
    """Artifacts per repository, children of indexes not counted (Harbor's count): all
    manifests (an index count) less the distinct children present."""
    if not repository_ids:
        return {}
    counts = dict(conn.execute(
        select(manifest.c.repository_id, func.count())
        .where(manifest.c.repository_id.in_(repository_ids))
        .group_by(manifest.c.repository_id)
    ).all())
    with_indexes = conn.execute(
        select(manifest_child.c.repository_id.distinct())
        .where(manifest_child.c.repository_id.in_(repository_ids))
    ).scalars().all()
    for repository_id in with_indexes:  # one range of an index each
        counts[repository_id] -= conn.execute(select(func.count()).where(
            manifest.c.repository_id == repository_id, _child_of_index(repository_id)
        )).scalar_one()
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
    roots = list(
        conn.execute(
            select(manifest.c.digest)
            .where(manifest.c.repository_id == repository_id,
                   ~_child_of_index(repository_id))
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


# -- artifacts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtifactRecord:
    id: int
    repository_id: int
    digest: str
    manifest_media_type: str
    artifact_type: str | None
    manifest_size: int
    content: bytes
    annotations: dict[str, str] | None
    push_time: datetime
    pull_time: datetime | None = None  # the last pull by digest or by one of its tags


@dataclass(frozen=True)
class TagRecord:
    id: int
    repository_id: int
    artifact_id: int
    name: str
    push_time: datetime
    pull_time: datetime | None = None


# What Harbor calls an artifact's media type, as SQL: the artifact type or config media
# type the registry stored (OCI), the usual config type of Docker images, else the
# manifest's own media type (indexes). Views read the exact value from the manifest.
_MEDIA_TYPE = case(
    (manifest.c.artifact_type.is_not(None), manifest.c.artifact_type),
    (manifest.c.media_type == DOCKER_MANIFEST, literal(DOCKER_CONFIG)),
    else_=manifest.c.media_type,
)

ARTIFACT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": manifest.c.id,
    "digest": manifest.c.digest,
    "media_type": _MEDIA_TYPE,
    "manifest_media_type": manifest.c.media_type,
    "push_time": manifest.c.created_at,
    "size": manifest.c.size,
}

_ARTIFACTS = select(
    manifest.c.id, manifest.c.repository_id, manifest.c.digest, manifest.c.media_type,
    manifest.c.artifact_type, manifest.c.size, manifest.c.content, manifest.c.annotations,
    manifest.c.created_at, manifest.c.pull_time,
)


def _artifact(row: Any) -> ArtifactRecord:
    return ArtifactRecord(
        row.id, row.repository_id, row.digest, row.media_type, row.artifact_type, row.size,
        bytes(row.content), json.loads(row.annotations) if row.annotations else None,
        row.created_at, row.pull_time,
    )


# Up to this many artifacts matched by tag name are named by id, so the database reads
# just them instead of walking the repository's artifacts in page order.
FEW_TAGGED = 1000


def _tagged_ids(conn: Connection, repository_id: int, flt: Filter) -> list[int] | None:
    """The artifacts whose tags match a name filter (exact, any of, fuzzy), found through
    the repository's tag index; None for ``*``, ``nil`` and ranges, or when too many."""
    if flt.kind == "exact" and flt.values[0] in ("*", "nil"):
        return None
    names = select(tag.c.id).where(tag.c.repository_id == repository_id)
    if flt.kind == "fuzzy":
        text = flt.values[0]
        # tag names are ASCII, which SQLite's LIKE already matches regardless of case
        match = (tag.c.name.contains(text, autoescape=True) if conn.dialect.name == "sqlite"
                 else tag.c.name.icontains(text, autoescape=True))
        names = names.where(match)
    elif flt.kind == "any":
        names = names.where(tag.c.name.in_(flt.values))
    elif flt.kind == "exact":
        names = names.where(tag.c.name == flt.values[0])
    else:
        return None
    tag_ids = list(conn.execute(names.limit(FEW_TAGGED + 1)).scalars())
    if len(tag_ids) > FEW_TAGGED:
        return None
    if not tag_ids:
        return []
    return sorted(set(conn.execute(
        select(tag.c.manifest_id).where(tag.c.id.in_(tag_ids))).scalars()))


def _tag_condition(repository_id: int, flt: Filter) -> ColumnElement[bool]:
    """Harbor's ``tags`` query: ``*`` tagged, ``nil`` untagged, ``~v`` fuzzy, ``v`` exact,
    ``{a b}`` any of. The matching tags are found once, by the repository's tag index."""
    tagged = select(tag.c.manifest_id).where(tag.c.repository_id == repository_id)
    if flt.kind == "exact" and flt.values[0] == "*":
        return manifest.c.id.in_(tagged)
    if flt.kind == "exact" and flt.values[0] == "nil":
        return manifest.c.id.not_in(tagged)
    if flt.kind == "fuzzy":
        return manifest.c.id.in_(
            tagged.where(tag.c.name.icontains(flt.values[0], autoescape=True)))
    if flt.kind == "any":
        return manifest.c.id.in_(tagged.where(tag.c.name.in_(flt.values)))
    if flt.kind == "exact":
        return manifest.c.id.in_(tagged.where(tag.c.name == flt.values[0]))
    return and_(true(), false())  # a range of tag names matches nothing, as in Harbor


def list_artifacts(
    conn: Connection, repository_id: int, listing: Listing
) -> tuple[list[ArtifactRecord], int]:
    """A page of the repository's artifacts, newest push first; ``tags`` filters apply.
    The page is chosen on ids, then only its manifests are read."""
    conditions: list[ColumnElement[bool]] = []
    named: set[int] | None = None  # artifacts a tag name filter matched, when few
    others = []
    for flt in listing.filters:
        if flt.key != "tags":
            others.append(flt)
        elif (ids := _tagged_ids(conn, repository_id, flt)) is not None:
            named = set(ids) if named is None else named & set(ids)
        else:
            conditions.append(_tag_condition(repository_id, flt))
    if named is not None:  # ids from the repository's own tags: no repository condition
        conditions.append(manifest.c.id.in_(sorted(named)) if named else false())
    else:
        conditions.append(manifest.c.repository_id == repository_id)
    stmt = select(manifest.c.id).where(*conditions)
    plain = Listing(tuple(others), listing.sorts, listing.page, listing.page_size)
    rows, total = _listed(conn, stmt, ARTIFACT_COLUMNS, plain, manifest.c.id,
                          (Sort("push_time", descending=True),),
                          hidden=_child_of_index(repository_id))
    ids = [row.id for row in rows]
    if not ids:
        return [], total
    found = {row.id: _artifact(row)
             for row in conn.execute(_ARTIFACTS.where(manifest.c.id.in_(ids)))}
    return [found[i] for i in ids if i in found], total


def artifact_by_digest(
    conn: Connection, repository_id: int, digest: str
) -> ArtifactRecord | None:
    row = conn.execute(
        _ARTIFACTS.where(manifest.c.repository_id == repository_id, manifest.c.digest == digest)
    ).first()
    return None if row is None else _artifact(row)


def artifact_by_tag(conn: Connection, repository_id: int, name: str) -> ArtifactRecord | None:
    row = conn.execute(
        _ARTIFACTS.join(tag, tag.c.manifest_id == manifest.c.id).where(
            tag.c.repository_id == repository_id, tag.c.name == name
        )
    ).first()
    return None if row is None else _artifact(row)


def blob_sizes(conn: Connection, artifact_ids: list[int]) -> dict[int, int]:
    """The config and layer bytes each manifest references."""
    if not artifact_ids:
        return {}
    rows = conn.execute(
        select(manifest_blob.c.manifest_id, func.sum(blob.c.size))
        .join(blob, blob.c.id == manifest_blob.c.blob_id)
        .where(manifest_blob.c.manifest_id.in_(artifact_ids))
        .group_by(manifest_blob.c.manifest_id)
    )
    return {manifest_id: int(total or 0) for manifest_id, total in rows}


@dataclass(frozen=True)
class ChildRecord:
    parent_id: int
    digest: str
    id: int | None  # None when the child is no longer in the repository
    size: int  # the child's manifest and blob bytes


def children(conn: Connection, repository_id: int, parent_ids: list[int]) -> list[ChildRecord]:
    """The children of the given indexes, with their ids and sizes where present."""
    if not parent_ids:
        return []
    child = manifest.alias("child")
    rows = conn.execute(
        select(manifest_child.c.parent_id, manifest_child.c.child_digest, child.c.id,
               child.c.size)
        .select_from(manifest_child.outerjoin(
            child,
            and_(child.c.repository_id == repository_id,
                 child.c.digest == manifest_child.c.child_digest),
        ))
        .where(manifest_child.c.parent_id.in_(parent_ids))
    ).all()
    sizes = blob_sizes(conn, [row.id for row in rows if row.id is not None])
    return [
        ChildRecord(row.parent_id, row.child_digest, row.id,
                    (row.size or 0) + sizes.get(row.id, 0) if row.id is not None else 0)
        for row in rows
    ]


def tags_of(conn: Connection, artifact_ids: list[int]) -> dict[int, list[TagRecord]]:
    found: dict[int, list[TagRecord]] = {artifact_id: [] for artifact_id in artifact_ids}
    if not artifact_ids:
        return found
    rows = conn.execute(
        select(tag).where(tag.c.manifest_id.in_(artifact_ids)).order_by(tag.c.name)
    )
    for row in rows:
        found[row.manifest_id].append(_tag(row))
    return found


def _tag(row: Any) -> TagRecord:
    return TagRecord(row.id, row.repository_id, row.manifest_id, row.name, row.updated_at,
                     row.pull_time)


def parents_of(conn: Connection, repository_id: int, digest: str) -> list[str]:
    """Digests of the indexes in the repository that list ``digest`` as a child."""
    return list(
        conn.execute(
            select(manifest.c.digest)
            .join(manifest_child, manifest_child.c.parent_id == manifest.c.id)
            .where(manifest.c.repository_id == repository_id,
                   manifest_child.c.child_digest == digest)
        ).scalars()
    )


def delete_artifact(
    conn: Connection, record: ArtifactRecord, operator: str | None = None
) -> list[str]:
    """Delete an artifact deeply, as Harbor does: its tags, its children that nothing else
    tags or references, and the artifacts whose ``subject`` it is. The digests removed."""
    removed: list[str] = []
    _delete_deeply(conn, record, True, removed, set())
    event_store.record_artifact_deleted(conn, record.repository_id, record.digest, operator)
    return removed


def _delete_deeply(
    conn: Connection, record: ArtifactRecord, root: bool, removed: list[str], seen: set[int]
) -> None:
    if record.id in seen:
        return
    seen.add(record.id)
    if not root:
        tagged = conn.execute(
            select(literal(1)).where(tag.c.manifest_id == record.id).limit(1)
        ).first()
        if tagged is not None or parents_of(conn, record.repository_id, record.digest):
            return  # still wanted: skip it, as Harbor skips such children
    child_digests = list(
        conn.execute(
            select(manifest_child.c.child_digest).where(manifest_child.c.parent_id == record.id)
        ).scalars()
    )
    referrers = [
        _artifact(row) for row in conn.execute(
            _ARTIFACTS.where(manifest.c.repository_id == record.repository_id,
                             manifest.c.subject_digest == record.digest)
        )
    ]
    conn.execute(delete(manifest_child).where(manifest_child.c.parent_id == record.id))
    conn.execute(delete(tag).where(tag.c.manifest_id == record.id))
    conn.execute(delete(manifest_blob).where(manifest_blob.c.manifest_id == record.id))
    conn.execute(delete(manifest).where(manifest.c.id == record.id))
    removed.append(record.digest)
    for digest in child_digests:
        child = artifact_by_digest(conn, record.repository_id, digest)
        if child is not None:
            _delete_deeply(conn, child, False, removed, seen)
    for referrer in referrers:
        _delete_deeply(conn, referrer, True, removed, seen)


# -- tags ---------------------------------------------------------------------------------

TAG_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": tag.c.id,
    "name": tag.c.name,
    "push_time": tag.c.updated_at,
}


def list_tags(
    conn: Connection, artifact_id: int, listing: Listing
) -> tuple[list[TagRecord], int]:
    rows, total = _listed(conn, select(tag).where(tag.c.manifest_id == artifact_id),
                          TAG_COLUMNS, listing, tag.c.id, (Sort("name"),))
    return [_tag(row) for row in rows], total


def find_tag(conn: Connection, repository_id: int, name: str) -> TagRecord | None:
    row = conn.execute(
        select(tag).where(tag.c.repository_id == repository_id, tag.c.name == name)
    ).first()
    return None if row is None else _tag(row)


def create_tag(
    conn: Connection, repository_id: int, artifact_id: int, name: str,
    operator: str | None = None,
) -> int:
    """A new tag; ``TagExists`` when the repository has one of that name already. The
    outbox hears of it in the same transaction (event-based replication copies the tag)."""
    if find_tag(conn, repository_id, name) is not None:
        raise TagExists(name)
    try:
        result = conn.execute(
            insert(tag).values(repository_id=repository_id, name=name,
                               manifest_id=artifact_id, updated_at=utcnow())
        )
    except IntegrityError:  # pushed at the same moment; the transaction is rolled back
        raise TagExists(name) from None
    event_store.record_tag_created(conn, result.inserted_primary_key[0], operator)
    return result.inserted_primary_key[0]


def delete_tag(conn: Connection, tag_id: int, operator: str | None = None) -> bool:
    event_store.record_tag_deleted(conn, tag_id, operator)
    return conn.execute(delete(tag).where(tag.c.id == tag_id)).rowcount > 0
