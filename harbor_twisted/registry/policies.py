"""The registry's writes with the project policies applied in the same transaction:
immutable tags are neither moved nor deleted, pushed bytes are charged to the project's
quota, deleted ones released."""

from __future__ import annotations

from sqlalchemy import Connection

from harbor_twisted.core import immutability
from harbor_twisted.db import quota_store, registry_store
from harbor_twisted.db.audit_store import RegistryEvent
from harbor_twisted.registry.errors import RegistryError


def _operator(events: list[RegistryEvent]) -> str | None:
    """Who asked, for the event outbox (the audit events carry the user name)."""
    return events[0].username if events else None


def denied(exc: immutability.TagImmutable | quota_store.QuotaExceeded) -> RegistryError:
    return RegistryError("DENIED", str(exc))


def store_manifest(
    conn: Connection,
    repository_name: str,
    record: registry_store.ManifestRecord,
    tag_name: str | None,
    events: list[RegistryEvent],
) -> None:
    if tag_name is not None:
        immutability.check_tag_move(conn, repository_name, tag_name, record.digest)
    registry_store.put_manifest(conn, repository_name, record, tag_name, events)
    # Blobs the manifest references were charged at upload, unless a delete released them
    # since: charging them again here costs nothing when they are still counted.
    quota_store.charge(conn, repository_name,
                       {**record.blob_sizes, record.digest: len(record.content)})


def delete_tag(
    conn: Connection, events: list[RegistryEvent], repository_name: str, tag_name: str
) -> bool:
    immutability.check_tag_delete(conn, repository_name, tag_name)
    return registry_store.audited(conn, registry_store.delete_tag, events, repository_name,
                                  tag_name, _operator(events))


def delete_manifest(
    conn: Connection, events: list[RegistryEvent], repository_name: str, digest: str
) -> bool:
    immutability.check_digest_delete(conn, repository_name, digest)
    deleted = registry_store.audited(conn, registry_store.delete_manifest, events,
                                     repository_name, digest, _operator(events))
    if deleted:
        quota_store.release_repository(conn, repository_name)
    return deleted


def unlink_blob(
    conn: Connection, events: list[RegistryEvent], repository_name: str, digest: str
) -> bool:
    removed = registry_store.audited(conn, registry_store.unlink_blob, events,
                                     repository_name, digest)
    if removed:
        quota_store.release_repository(conn, repository_name)
    return removed
