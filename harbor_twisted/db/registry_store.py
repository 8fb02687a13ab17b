"""SQL for the registry: repositories, blobs, manifests, tags, references and uploads.

Every function takes a live connection inside a transaction (``Database.run`` provides it)
and returns plain values, so callers never hold cursors across threads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import artifact_size, event_store
from harbor_twisted.db.audit_store import RegistryEvent, write_registry_events
from harbor_twisted.db.models import (
    blob,
    manifest,
    manifest_blob,
    manifest_child,
    repository,
    repository_blob,
    tag,
    upload,
)


class MissingReferences(LookupError):
    """A manifest names blobs or child manifests the repository does not hold."""

    def __init__(self, blobs: list[str], manifests: list[str]) -> None:
        self.blobs = blobs
        self.manifests = manifests
        names = blobs + manifests
        super().__init__(f"unknown references: {', '.join(names[:5])}")


class SizeMismatch(ValueError):
    """A descriptor's size differs from the stored blob's size."""

    def __init__(self, digest: str, declared: int, stored: int) -> None:
        self.digest = digest
        super().__init__(f"descriptor of {digest} declares {declared} bytes; the blob has {stored}")


@dataclass(frozen=True)
class ManifestRecord:
    digest: str
    media_type: str
    content: bytes
    artifact_type: str | None
    subject_digest: str | None
    annotations: dict[str, str] | None
    blob_sizes: dict[str, int]  # config and layers that must exist: digest -> declared size
    child_digests: tuple[str, ...]  # index children that must exist


@dataclass(frozen=True)
class StoredManifest:
    digest: str
    media_type: str
    content: bytes


def _insert_ignoring_conflict(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    statement = pg_insert(table) if conn.dialect.name == "postgresql" else sqlite_insert(table)
    conn.execute(statement.values(**values).on_conflict_do_nothing())


def audited(
    conn: Connection, change: Callable[..., bool], events: list[RegistryEvent], *args: Any
) -> bool:
    """Run ``change``; when it changed something, record ``events`` in the same transaction."""
    changed = change(conn, *args)
    if changed:
        write_registry_events(conn, events)
    return changed


# -- repositories -------------------------------------------------------------------------


# Hot-path statements are built once: constructing a SQLAlchemy expression costs several
# times more than running it.
_FIND_REPOSITORY = select(repository.c.id).where(repository.c.name == bindparam("name"))

_BLOB_SIZE_IN_REPOSITORY = (
    select(blob.c.size)
    .select_from(
        blob.join(repository_blob, repository_blob.c.blob_id == blob.c.id).join(
            repository, repository.c.id == repository_blob.c.repository_id
        )
    )
    .where(repository.c.name == bindparam("name"), blob.c.digest == bindparam("digest"))
)

_MANIFEST_BY_DIGEST = (
    select(manifest.c.digest, manifest.c.media_type, manifest.c.content)
    .select_from(manifest.join(repository, repository.c.id == manifest.c.repository_id))
    .where(repository.c.name == bindparam("name"), manifest.c.digest == bindparam("digest"))
)

_MANIFEST_BY_TAG = (
    select(manifest.c.digest, manifest.c.media_type, manifest.c.content)
    .select_from(
        tag.join(manifest, manifest.c.id == tag.c.manifest_id).join(
            repository, repository.c.id == tag.c.repository_id
        )
    )
    .where(repository.c.name == bindparam("name"), tag.c.name == bindparam("tag"))
)


def find_repository(conn: Connection, name: str) -> int | None:
    return conn.execute(_FIND_REPOSITORY, {"name": name}).scalar()


def ensure_repository(conn: Connection, name: str) -> int:
    found = find_repository(conn, name)
    if found is not None:
        return found
    _insert_ignoring_conflict(conn, repository, {"name": name, "created_at": utcnow()})
    return conn.execute(select(repository.c.id).where(repository.c.name == name)).scalar_one()


def list_repositories(conn: Connection, last: str | None, limit: int | None) -> list[str]:
    query = select(repository.c.name).order_by(repository.c.name)
    if last:
        query = query.where(repository.c.name > last)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


# -- uploads ------------------------------------------------------------------------------


def create_upload(conn: Connection, upload_id: str, repository_name: str) -> None:
    now = utcnow()
    conn.execute(
        upload.insert().values(
            uuid=upload_id, repository_name=repository_name, created_at=now, updated_at=now
        )
    )


def touch_upload(conn: Connection, upload_id: str) -> None:
    conn.execute(update(upload).where(upload.c.uuid == upload_id).values(updated_at=utcnow()))


def delete_upload(conn: Connection, upload_id: str) -> bool:
    return conn.execute(delete(upload).where(upload.c.uuid == upload_id)).rowcount > 0


def expired_uploads(conn: Connection, before: datetime) -> list[str]:
    return list(conn.execute(select(upload.c.uuid).where(upload.c.updated_at < before)).scalars())


def known_uploads(conn: Connection) -> set[str]:
    return set(conn.execute(select(upload.c.uuid)).scalars())


# -- blobs --------------------------------------------------------------------------------


def _blob_id(conn: Connection, digest: str) -> int | None:
    return conn.execute(select(blob.c.id).where(blob.c.digest == digest)).scalar()


def link_blob(conn: Connection, repository_name: str, digest: str, size: int) -> None:
    """Record a stored blob and make it visible in ``repository_name``."""
    repository_id = ensure_repository(conn, repository_name)
    # An upsert, not insert-or-ignore: it locks (or re-creates) the row and returns its id,
    # so a garbage collection deleting the row meanwhile cannot leave us without one.
    statement = pg_insert(blob) if conn.dialect.name == "postgresql" else sqlite_insert(blob)
    statement = statement.values(digest=digest, size=size, created_at=utcnow())
    blob_id: int = conn.execute(
        statement.on_conflict_do_update(
            index_elements=[blob.c.digest], set_={"size": statement.excluded.size}
        ).returning(blob.c.id)
    ).scalar_one()
    _insert_ignoring_conflict(
        conn,
        repository_blob,
        {"repository_id": repository_id, "blob_id": blob_id, "created_at": utcnow()},
    )


def repository_blob_size(conn: Connection, repository_name: str, digest: str) -> int | None:
    return conn.execute(
        _BLOB_SIZE_IN_REPOSITORY, {"name": repository_name, "digest": digest}
    ).scalar()


def mount_blob(conn: Connection, source: str, target: str, digest: str) -> int | None:
    """Link a blob of ``source`` into ``target``; the blob's size, or None if not in source.

    Links the existing row by id (shared-locked on PostgreSQL), never re-creates it: a row
    garbage collection deleted meanwhile makes the link fail (IntegrityError on SQLite).
    """
    query = (
        select(blob.c.id, blob.c.size)
        .select_from(blob.join(repository_blob, repository_blob.c.blob_id == blob.c.id).join(
            repository, repository.c.id == repository_blob.c.repository_id))
        .where(repository.c.name == source, blob.c.digest == digest)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True, of=blob)
    row = conn.execute(query).first()
    if row is None:
        return None
    repository_id = ensure_repository(conn, target)
    _insert_ignoring_conflict(
        conn,
        repository_blob,
        {"repository_id": repository_id, "blob_id": row.id, "created_at": utcnow()},
    )
    return int(row.size)


def unlink_blob(conn: Connection, repository_name: str, digest: str) -> bool:
    repository_id = find_repository(conn, repository_name)
    blob_id = _blob_id(conn, digest)
    if repository_id is None or blob_id is None:
        return False
    result = conn.execute(
        delete(repository_blob).where(
            repository_blob.c.repository_id == repository_id, repository_blob.c.blob_id == blob_id
        )
    )
    return result.rowcount > 0


# -- manifests ----------------------------------------------------------------------------


def _check_references(conn: Connection, repository_id: int, record: ManifestRecord) -> list[int]:
    """Blob ids for the record's blobs; raises if any blob or child manifest is missing."""
    wanted = list(record.blob_sizes)
    found: dict[str, tuple[int, int]] = {}
    if wanted:
        query = (
            select(blob.c.digest, blob.c.id, blob.c.size)
            .select_from(blob.join(repository_blob, repository_blob.c.blob_id == blob.c.id))
            .where(repository_blob.c.repository_id == repository_id, blob.c.digest.in_(wanted))
        )
        if conn.dialect.name == "postgresql":
            # Shared locks, taken in id order like GC's exclusive ones: a sweep waits for
            # this push to commit its references, or this push sees the rows gone.
            query = query.order_by(blob.c.id).with_for_update(read=True, of=blob)
        rows = conn.execute(query)
        found = {row.digest: (row.id, row.size) for row in rows}
    missing_blobs = [digest for digest in wanted if digest not in found]
    missing_children: list[str] = []
    if record.child_digests:
        children = select(manifest.c.digest).where(
            manifest.c.repository_id == repository_id,
            manifest.c.digest.in_(record.child_digests),
        )
        if conn.dialect.name == "postgresql":
            children = children.order_by(manifest.c.id).with_for_update(read=True)
        present: set[str] = set(conn.execute(children).scalars())
        missing_children = [d for d in record.child_digests if d not in present]
    if missing_blobs or missing_children:
        raise MissingReferences(missing_blobs, missing_children)
    for digest, declared in record.blob_sizes.items():
        stored = found[digest][1]
        if declared != stored:
            raise SizeMismatch(digest, declared, stored)
    return [found[digest][0] for digest in wanted]


def _manifest_id(conn: Connection, repository_id: int, digest: str) -> int | None:
    return conn.execute(
        select(manifest.c.id).where(
            manifest.c.repository_id == repository_id, manifest.c.digest == digest
        )
    ).scalar()


def put_manifest(
    conn: Connection,
    repository_name: str,
    record: ManifestRecord,
    tag_name: str | None,
    events: list[RegistryEvent] | None = None,
) -> None:
    """Store a manifest (idempotently), point ``tag_name`` at it and audit it, atomically."""
    repository_id = ensure_repository(conn, repository_name)
    blob_ids = _check_references(conn, repository_id, record)
    manifest_id = _manifest_id(conn, repository_id, record.digest)
    if manifest_id is None:
        _insert_ignoring_conflict(
            conn,
            manifest,
            {
                "repository_id": repository_id,
                "digest": record.digest,
                "media_type": record.media_type,
                "artifact_type": record.artifact_type,
                "size": len(record.content),
                "content": record.content,
                "subject_digest": record.subject_digest,
                "annotations": json.dumps(record.annotations) if record.annotations else None,
                "created_at": utcnow(),
            },
        )
        manifest_id = _manifest_id(conn, repository_id, record.digest)
        assert manifest_id is not None  # inserted just now, or by a concurrent push
        for blob_id in set(blob_ids):
            _insert_ignoring_conflict(
                conn, manifest_blob, {"manifest_id": manifest_id, "blob_id": blob_id}
            )
        for child in set(record.child_digests):
            _insert_ignoring_conflict(
                conn, manifest_child,
                {"parent_id": manifest_id, "child_digest": child, "repository_id": repository_id},
            )
        if record.child_digests and conn.dialect.name == "sqlite":
            # SQLite read the children before this transaction took the write lock: check
            # again now that no garbage collection can delete them under us.
            _check_children_still_present(conn, repository_id, record)
        artifact_size.refresh(conn, repository_id, manifest_id, record.digest)
    if tag_name is not None:
        _point_tag(conn, repository_id, tag_name, manifest_id)
        event_store.record(conn, event_store.PUSH_ARTIFACT, repository_name, record.digest,
                           tag_name, events[0].username if events else None)
    write_registry_events(conn, events or [])


def _check_children_still_present(
    conn: Connection, repository_id: int, record: ManifestRecord
) -> None:
    present: set[str] = set(conn.execute(select(manifest.c.digest).where(
        manifest.c.repository_id == repository_id,
        manifest.c.digest.in_(record.child_digests),
    )).scalars())
    missing = [d for d in record.child_digests if d not in present]
    if missing:
        raise MissingReferences([], missing)


def _point_tag(conn: Connection, repository_id: int, tag_name: str, manifest_id: int) -> None:
    now = utcnow()
    statement = pg_insert(tag) if conn.dialect.name == "postgresql" else sqlite_insert(tag)
    statement = statement.values(
        repository_id=repository_id, name=tag_name, manifest_id=manifest_id, updated_at=now
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[tag.c.repository_id, tag.c.name],
            set_={"manifest_id": manifest_id, "updated_at": now},
        )
    )


def _stored(row: Any) -> StoredManifest | None:
    if row is None:
        return None
    return StoredManifest(row.digest, row.media_type, bytes(row.content))


def get_manifest_by_digest(
    conn: Connection, repository_name: str, digest: str
) -> StoredManifest | None:
    return _stored(
        conn.execute(_MANIFEST_BY_DIGEST, {"name": repository_name, "digest": digest}).first()
    )


def get_manifest_by_tag(
    conn: Connection, repository_name: str, tag_name: str
) -> StoredManifest | None:
    return _stored(
        conn.execute(_MANIFEST_BY_TAG, {"name": repository_name, "tag": tag_name}).first()
    )


def delete_manifest(
    conn: Connection, repository_name: str, digest: str, operator: str | None = None
) -> bool:
    """Delete a manifest and every tag pointing at it."""
    repository_id = find_repository(conn, repository_name)
    if repository_id is None:
        return False
    manifest_id = _manifest_id(conn, repository_id, digest)
    if manifest_id is None:
        return False
    conn.execute(delete(tag).where(tag.c.manifest_id == manifest_id))
    conn.execute(delete(manifest_blob).where(manifest_blob.c.manifest_id == manifest_id))
    conn.execute(delete(manifest_child).where(manifest_child.c.parent_id == manifest_id))
    conn.execute(delete(manifest).where(manifest.c.id == manifest_id))
    artifact_size.refresh(conn, repository_id, None, digest)  # indexes that listed it
    event_store.record(conn, event_store.DELETE_ARTIFACT, repository_name, digest,
                       operator=operator)
    return True


def delete_tag(
    conn: Connection, repository_name: str, tag_name: str, operator: str | None = None
) -> bool:
    repository_id = find_repository(conn, repository_name)
    if repository_id is None:
        return False
    result = conn.execute(
        delete(tag).where(tag.c.repository_id == repository_id, tag.c.name == tag_name)
    )
    if result.rowcount > 0:
        event_store.record(conn, event_store.DELETE_TAG, repository_name, None, tag_name,
                           operator)
    return result.rowcount > 0


def list_tags(
    conn: Connection, repository_name: str, last: str | None, limit: int | None
) -> list[str] | None:
    """Tag names in lexical order, or None when the repository does not exist."""
    repository_id = find_repository(conn, repository_name)
    if repository_id is None:
        return None
    query = select(tag.c.name).where(tag.c.repository_id == repository_id).order_by(tag.c.name)
    if last:
        query = query.where(tag.c.name > last)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())


def list_referrers(
    conn: Connection, repository_name: str, subject: str, artifact_type: str | None
) -> list[dict[str, Any]]:
    """Descriptors of the manifests whose ``subject`` is ``subject``."""
    query = (
        select(
            manifest.c.digest,
            manifest.c.media_type,
            manifest.c.size,
            manifest.c.artifact_type,
            manifest.c.annotations,
        )
        .select_from(manifest.join(repository, repository.c.id == manifest.c.repository_id))
        .where(repository.c.name == repository_name, manifest.c.subject_digest == subject)
        .order_by(manifest.c.created_at, manifest.c.id)
    )
    if artifact_type is not None:
        query = query.where(manifest.c.artifact_type == artifact_type)
    descriptors = []
    for row in conn.execute(query):
        descriptor: dict[str, Any] = {
            "mediaType": row.media_type,
            "digest": row.digest,
            "size": row.size,
        }
        if row.artifact_type:
            descriptor["artifactType"] = row.artifact_type
        if row.annotations:
            descriptor["annotations"] = json.loads(row.annotations)
        descriptors.append(descriptor)
    return descriptors
