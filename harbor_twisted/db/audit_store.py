"""Audit rows for registry operations, resolving each repository's project in the same
transaction as the change they record."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from harbor_twisted.db.identity_models import project
from harbor_twisted.db.identity_store import AuditRecord, write_audit


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
