"""The event outbox: registry changes recorded in the transaction that makes them, read in
order by the job service (event-based replication now, webhooks later).

Writers add one INSERT to their transaction; the consumer takes a batch, turns it into
jobs and deletes it in one transaction of its own, so every event is acted on exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, literal, select

from harbor_twisted.db.clock import utcnow
from harbor_twisted.db.models import manifest, repository, tag
from harbor_twisted.db.replication_models import event_outbox

PUSH_ARTIFACT = "PUSH_ARTIFACT"
DELETE_ARTIFACT = "DELETE_ARTIFACT"
DELETE_TAG = "DELETE_TAG"

_INSERT = insert(event_outbox)


@dataclass(frozen=True)
class Event:
    id: int
    event_type: str
    repository: str
    digest: str | None
    tag: str | None


def record(
    conn: Connection, event_type: str, repository_name: str, digest: str | None = None,
    tag_name: str | None = None,
) -> None:
    conn.execute(_INSERT, {"event_type": event_type, "repository": repository_name,
                           "digest": digest, "tag": tag_name, "created_at": utcnow()})


def record_artifact_deleted(conn: Connection, repository_id: int, digest: str) -> None:
    """The repository's name comes from its id, in the same statement."""
    conn.execute(event_outbox.insert().from_select(
        ["event_type", "repository", "digest", "tag", "created_at"],
        select(literal(DELETE_ARTIFACT), repository.c.name, literal(digest),
               literal(None), literal(utcnow()))
        .where(repository.c.id == repository_id)))


def record_tag_deleted(conn: Connection, tag_id: int) -> None:
    """Before the tag row goes: its repository, name and digest, in one statement."""
    conn.execute(event_outbox.insert().from_select(
        ["event_type", "repository", "digest", "tag", "created_at"],
        select(literal(DELETE_TAG), repository.c.name, manifest.c.digest, tag.c.name,
               literal(utcnow()))
        .select_from(tag.join(repository, repository.c.id == tag.c.repository_id)
                     .join(manifest, manifest.c.id == tag.c.manifest_id))
        .where(tag.c.id == tag_id)))


def take(conn: Connection, limit: int) -> list[Event]:
    """The oldest events (locked on PostgreSQL, so two consumers never share one)."""
    query = select(event_outbox).order_by(event_outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return [Event(row.id, row.event_type, row.repository, row.digest, row.tag)
            for row in conn.execute(query)]


def consumed(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(delete(event_outbox).where(event_outbox.c.id.in_(ids)))

