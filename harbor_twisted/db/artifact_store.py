"""SQL for the REST API's view of the registry: repositories with their project, artifacts
(manifests) with their tags and children, pull statistics (columns the registry's batched
pull recording keeps, see pull_store), and deletes that remove database rows only — blob
files wait for garbage collection.

A repository belongs to the project named by its first path component; artifacts that are
children of an index in the same repository, and accessories (artifacts with a ``subject``:
signatures, SBOMs), are hidden from lists and their counts, as Harbor does; accessories
show under their subject with ``with_accessory``.

Listings stay fast at 100,000 artifacts: a page is chosen on narrow rows (ids and sort
keys, through indexes) and only its rows are read in full; the children of indexes are one
index range of ``manifest_child`` per repository, not a subquery per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    distinct,
    false,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import artifact_size, event_store
from harbor_twisted.db.listing import Filter, Listing, Sort, listed
from harbor_twisted.db.models import (
    manifest,
    manifest_blob,
    manifest_child,
    tag,
)
from harbor_twisted.db.results import inserted_id

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


class TagExists(Exception):
    """The repository already has a tag of that name."""


# -- repositories -------------------------------------------------------------------------


def child_of_index(repository_id: int) -> ColumnElement[bool]:
    """The manifest is a child of an index of ``repository_id`` (its own repository): one
    index range, read once per query."""
    return manifest.c.digest.in_(
        select(manifest_child.c.child_digest).where(
            manifest_child.c.repository_id == repository_id
        )
    )


def hidden_from_lists(repository_id: int) -> tuple[ColumnElement[bool], ...]:
    """What Harbor does not list: the children of an index, and accessories (OCI referrers,
    which have a ``subject``, present or not); each found through an index of its own."""
    return child_of_index(repository_id), manifest.c.subject_digest.is_not(None)


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
    total_size: int = 0  # Harbor's size: manifest, config, layers and present children


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
    "size": manifest.c.total_size,  # the size shown, kept on push (artifact_size)
}

_ARTIFACTS = select(
    manifest.c.id, manifest.c.repository_id, manifest.c.digest, manifest.c.media_type,
    manifest.c.artifact_type, manifest.c.size, manifest.c.content, manifest.c.annotations,
    manifest.c.created_at, manifest.c.pull_time, manifest.c.total_size,
)


def _artifact(row: Any) -> ArtifactRecord:
    return ArtifactRecord(
        row.id, row.repository_id, row.digest, row.media_type, row.artifact_type, row.size,
        bytes(row.content), json.loads(row.annotations) if row.annotations else None,
        row.created_at, row.pull_time, row.total_size,
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
    tag_ids: list[int] = list(conn.execute(names.limit(FEW_TAGGED + 1)).scalars())
    if len(tag_ids) > FEW_TAGGED:
        return None
    if not tag_ids:
        return []
    return sorted(set(conn.execute(
        select(tag.c.manifest_id).where(tag.c.id.in_(tag_ids))).scalars()))


def _tag_condition(repository_id: int, flt: Filter) -> ColumnElement[bool]:
    """Harbor's ``tags`` query: ``*`` tagged, ``nil`` untagged, ``~v`` fuzzy, ``v`` exact,
    ``{a b}`` any of.

    A correlated EXISTS, probing the tag index for each artifact tested: a page in push
    order stops at its last row, and counting the hidden ones tests only them. (An IN list
    of the repository's tagged ids was built again by each of those queries, and SQLite
    combined it with the list of index children as two constraints of one index, probing
    every pair: minutes at 100,000 artifacts.)"""
    tags = select(tag.c.id).where(tag.c.manifest_id == manifest.c.id)
    # A tag state's total is counted otherwise (_tag_state_total): its EXISTS only tests a
    # page's rows and the few hidden ones, so a probe per row, never a join over every tag
    # of the repository (LIMIT 1 keeps PostgreSQL from planning one).
    if flt.kind == "exact" and flt.values[0] == "*":
        return tags.limit(1).exists()
    if flt.kind == "exact" and flt.values[0] == "nil":
        return ~tags.limit(1).exists()
    if flt.kind == "fuzzy":
        return tags.where(tag.c.name.icontains(flt.values[0], autoescape=True)).exists()
    if flt.kind == "any":
        return tags.where(tag.c.name.in_(flt.values)).exists()
    if flt.kind == "exact":
        return tags.where(tag.c.name == flt.values[0]).exists()
    return and_(true(), false())  # a range of tag names matches nothing, as in Harbor


def _tag_state_total(conn: Connection, repository_id: int, filters: tuple[Filter, ...]
                     ) -> int | None:
    """How many artifacts, hidden ones included, a lone ``tags=*`` or ``tags=nil`` matches:
    the tagged ones are the distinct artifacts of the repository's tags (one index range),
    the untagged ones all the others; None for any other filter."""
    if len(filters) != 1:
        return None
    flt = filters[0]
    if flt.key != "tags" or flt.kind != "exact" or flt.values[0] not in ("*", "nil"):
        return None
    tagged: int = conn.execute(select(func.count(distinct(tag.c.manifest_id))).where(
        tag.c.repository_id == repository_id)).scalar_one()
    if flt.values[0] == "*":
        return tagged
    every: int = conn.execute(select(func.count()).select_from(manifest).where(
        manifest.c.repository_id == repository_id)).scalar_one()
    return every - tagged


def list_artifacts(
    conn: Connection, repository_id: int, listing: Listing
) -> tuple[list[ArtifactRecord], int]:
    """A page of the repository's artifacts, newest push first; ``tags`` filters apply.
    The page is chosen on ids, then only its manifests are read."""
    known = _tag_state_total(conn, repository_id, listing.filters)
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
    plain = replace(listing, filters=tuple(others))
    rows, total = listed(conn, stmt, ARTIFACT_COLUMNS, plain, manifest.c.id,
                          (Sort("push_time", descending=True),),
                          hidden=hidden_from_lists(repository_id), total=known)
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


def referrers_of(
    conn: Connection, repository_id: int, subjects: list[str]
) -> dict[str, list[ArtifactRecord]]:
    """The artifacts of the repository whose ``subject`` is one of ``subjects``, oldest
    push first, in one range of the subject index (sorted here: an ORDER BY would tempt
    SQLite into walking the repository in push order instead)."""
    found: dict[str, list[ArtifactRecord]] = {digest: [] for digest in subjects}
    if not subjects:
        return found
    rows = conn.execute(_ARTIFACTS.add_columns(manifest.c.subject_digest).where(
        manifest.c.repository_id == repository_id, manifest.c.subject_digest.in_(subjects)))
    for row in sorted(rows, key=lambda r: (r.created_at, r.id)):
        found[row.subject_digest].append(_artifact(row))
    return found


def artifact_by_tag(conn: Connection, repository_id: int, name: str) -> ArtifactRecord | None:
    row = conn.execute(
        _ARTIFACTS.join(tag, tag.c.manifest_id == manifest.c.id).where(
            tag.c.repository_id == repository_id, tag.c.name == name
        )
    ).first()
    return None if row is None else _artifact(row)


@dataclass(frozen=True)
class ChildRecord:
    parent_id: int
    digest: str
    id: int | None  # None when the child is no longer in the repository
    size: int  # the child's total size (0 when absent)


def children(conn: Connection, repository_id: int, parent_ids: list[int]) -> list[ChildRecord]:
    """The children of the given indexes, with their ids and sizes where present."""
    if not parent_ids:
        return []
    child = manifest.alias("child")
    rows = conn.execute(
        select(manifest_child.c.parent_id, manifest_child.c.child_digest, child.c.id,
               child.c.total_size)
        .select_from(manifest_child.outerjoin(
            child,
            and_(child.c.repository_id == repository_id,
                 child.c.digest == manifest_child.c.child_digest),
        ))
        .where(manifest_child.c.parent_id.in_(parent_ids))
    ).all()
    return [ChildRecord(row.parent_id, row.child_digest, row.id, row.total_size or 0)
            for row in rows]


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
    child_digests: list[str] = list(
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
    artifact_size.refresh(conn, record.repository_id, None, record.digest)
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
    rows, total = listed(conn, select(tag).where(tag.c.manifest_id == artifact_id),
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
    event_store.record_tag_created(conn, inserted_id(result), operator)
    return inserted_id(result)


def delete_tag(conn: Connection, tag_id: int, operator: str | None = None) -> bool:
    event_store.record_tag_deleted(conn, tag_id, operator)
    return conn.execute(delete(tag).where(tag.c.id == tag_id)).rowcount > 0
