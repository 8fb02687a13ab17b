"""Audit rows: writing them (registry operations resolve each repository's project in the
same transaction as the change they record) and listing them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    insert,
    select,
)

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import audit_counts, audit_search
from harbor_twisted.db.identity_models import (
    audit_log,
    project,
)
from harbor_twisted.db.listing import Listing, Sort, listed, user_or_member_of
from harbor_twisted.db.project_store import Visibility


@dataclass(frozen=True)
class RegistryEvent:
    """Who did what to which repository; the project is the name's first component."""

    username: str
    client_ip: str
    operation: str  # create (push), pull, delete
    resource_type: str  # artifact, blob
    repository: str
    resource: str  # e.g. library/ubuntu:22.04 or library/ubuntu@sha256:…

    @property
    def project_name(self) -> str:
        return self.repository.split("/", 1)[0]


def write_registry_events(conn: Connection, events: list[RegistryEvent]) -> None:
    if not events:
        return
    names = sorted({event.project_name for event in events})
    rows = conn.execute(select(project.c.name, project.c.id).where(project.c.name.in_(names)))
    ids = {row.name: row.id for row in rows}
    write_audit(
        conn,
        [
            AuditRecord(
                username=event.username,
                operation=event.operation,
                resource_type=event.resource_type,
                resource=event.resource,
                client_ip=event.client_ip,
                project_id=ids.get(event.project_name),
            )
            for event in events
        ],
    )


@dataclass(frozen=True)
class AuditRecord:
    username: str
    operation: str
    resource_type: str
    resource: str
    client_ip: str = ""
    project_id: int | None = None
    detail: dict[str, Any] | None = None


def write_audit(conn: Connection, records: list[AuditRecord]) -> None:
    if not records:
        return
    now = utcnow()
    conn.execute(
        insert(audit_log),
        [
            {
                "project_id": record.project_id,
                "username": record.username,
                "client_ip": record.client_ip,
                "operation": record.operation,
                "resource_type": record.resource_type,
                "resource": record.resource,
                "detail": json.dumps(record.detail) if record.detail else None,
                "op_time": now,
            }
            for record in records
        ],
    )
    audit_counts.add(conn, [record.project_id for record in records])


@dataclass(frozen=True)
class AuditEntry:
    id: int
    project_id: int | None
    username: str
    client_ip: str
    operation: str
    resource_type: str
    resource: str
    op_time: datetime


AUDIT_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": audit_log.c.id,
    "username": audit_log.c.username,
    "resource": audit_log.c.resource,
    "resource_type": audit_log.c.resource_type,
    "operation": audit_log.c.operation,
    "op_time": audit_log.c.op_time,
    "client_ip": audit_log.c.client_ip,
    "project_id": audit_log.c.project_id,
}


# The filter columns as expressions no index serves (``col || ''``): once the trigram index
# has named a few entries, SQLite would otherwise walk a filter's own index (a million
# entries of one resource type, in time order) testing each against those few.
_UNINDEXED_FILTERS: dict[str, ColumnElement[Any]] = {
    **AUDIT_COLUMNS,
    **{key: AUDIT_COLUMNS[key] + "" for key in ("username", "operation", "resource_type")},
}


def list_audit(
    conn: Connection,
    listing: Listing,
    *,
    project_id: int | None = None,
    visibility: Visibility | None = None,
) -> tuple[list[AuditEntry], int]:
    """Audit entries, newest first unless sorted otherwise; of one project, or of the
    projects ``visibility`` allows (None: every entry)."""
    stmt = select(audit_log)
    kept: Any = None  # which kept count is the unfiltered total
    if project_id is not None:
        stmt = stmt.where(audit_log.c.project_id == project_id)
        kept = project_id
    if visibility is not None:
        member_of = user_or_member_of(visibility.user_id, visibility.group_ids,
                                      visibility.roles)
        stmt = stmt.where(audit_log.c.project_id.in_(member_of))
        kept = member_of if project_id is None else kept
    known = None
    if not listing.filters and not (project_id is not None and visibility is not None):
        known = audit_counts.total(conn, kept)
    others = []
    columns = AUDIT_COLUMNS
    for flt in listing.filters:
        found = audit_search.resource_condition(conn, flt) if flt.key == "resource" else None
        if found is None:
            others.append(flt)
        else:
            stmt = stmt.where(found)
            columns = _UNINDEXED_FILTERS  # the trigram index named few entries: test those
    plain = replace(listing, filters=tuple(others))
    rows, total = listed(conn, stmt, columns, plain, audit_log.c.id,
                         (Sort("op_time", descending=True),), total=known)
    return [
        AuditEntry(row.id, row.project_id, row.username, row.client_ip, row.operation,
                   row.resource_type, row.resource, row.op_time)
        for row in rows
    ], total
