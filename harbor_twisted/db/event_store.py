"""The event outbox: registry changes recorded in the transaction that makes them, read in
order by the job service (event-based replication and webhooks).

Writers add one INSERT to their transaction; the consumer takes a batch, turns it into
jobs and deletes it in one transaction of its own, so every event is acted on exactly once.
Three kinds are written in transactions of their own because there is no change to join:
pulls (batched by the registry's pull recorder), a push the quota refused (its transaction
rolled back) and the end of a replication or retention execution.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, literal, select

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.job_store import as_utc
from harbor_twisted.db.models import manifest, repository, tag
from harbor_twisted.db.replication_models import event_outbox

PUSH_ARTIFACT = "PUSH_ARTIFACT"
PULL_ARTIFACT = "PULL_ARTIFACT"
DELETE_ARTIFACT = "DELETE_ARTIFACT"
DELETE_TAG = "DELETE_TAG"
CREATE_TAG = "CREATE_TAG"  # a tag added through the API: replicated like a push
QUOTA_EXCEED = "QUOTA_EXCEED"
REPLICATION = "REPLICATION"
TAG_RETENTION = "TAG_RETENTION"

OPERATOR_MAX = 255
_INSERT = insert(event_outbox)


@dataclass(frozen=True)
class Event:
    id: int
    event_type: str
    repository: str  # a repository name; for job events, the project's name
    digest: str | None
    tag: str | None
    operator: str | None = None
    detail: dict[str, Any] | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class NewEvent:
    """An event to write later (pulls are queued in memory, then written in batches)."""

    event_type: str
    repository: str
    digest: str | None = None
    tag: str | None = None
    operator: str | None = None
    detail: dict[str, Any] | None = None
    created_at: datetime = field(default_factory=utcnow)

    def row(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "repository": self.repository,
                "digest": self.digest, "tag": self.tag, "operator": _operator(self.operator),
                "detail": None if self.detail is None else json.dumps(self.detail,
                                                                      sort_keys=True),
                "created_at": self.created_at}


def _operator(name: str | None) -> str | None:
    return None if name is None else name[:OPERATOR_MAX]


def record(
    conn: Connection, event_type: str, repository_name: str, digest: str | None = None,
    tag_name: str | None = None, operator: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(_INSERT, NewEvent(event_type, repository_name, digest, tag_name, operator,
                                   detail).row())


def record_many(conn: Connection, events: Sequence[NewEvent]) -> None:
    if events:
        conn.execute(_INSERT, [event.row() for event in events])


def record_artifact_deleted(
    conn: Connection, repository_id: int, digest: str, operator: str | None = None
) -> None:
    """The repository's name comes from its id, in the same statement."""
    conn.execute(event_outbox.insert().from_select(
        ["event_type", "repository", "digest", "tag", "created_at", "operator"],
        select(literal(DELETE_ARTIFACT), repository.c.name, literal(digest),
               literal(None), literal(utcnow()), literal(_operator(operator)))
        .where(repository.c.id == repository_id)))


def _record_tag(conn: Connection, event_type: str, tag_id: int, operator: str | None) -> None:
    """The tag's repository, name and digest, read in the inserting statement."""
    conn.execute(event_outbox.insert().from_select(
        ["event_type", "repository", "digest", "tag", "created_at", "operator"],
        select(literal(event_type), repository.c.name, manifest.c.digest, tag.c.name,
               literal(utcnow()), literal(_operator(operator)))
        .select_from(tag.join(repository, repository.c.id == tag.c.repository_id)
                     .join(manifest, manifest.c.id == tag.c.manifest_id))
        .where(tag.c.id == tag_id)))


def record_tag_deleted(conn: Connection, tag_id: int, operator: str | None = None) -> None:
    """Called before the tag row goes."""
    _record_tag(conn, DELETE_TAG, tag_id, operator)


def record_tag_created(conn: Connection, tag_id: int, operator: str | None = None) -> None:
    _record_tag(conn, CREATE_TAG, tag_id, operator)


def take(conn: Connection, limit: int) -> list[Event]:
    """The oldest events (locked on PostgreSQL, so two consumers never share one)."""
    query = select(event_outbox).order_by(event_outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return [Event(row.id, row.event_type, row.repository, row.digest, row.tag, row.operator,
                  json.loads(row.detail) if row.detail else None, as_utc(row.created_at))
            for row in conn.execute(query)]


def consumed(conn: Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(delete(event_outbox).where(event_outbox.c.id.in_(ids)))
