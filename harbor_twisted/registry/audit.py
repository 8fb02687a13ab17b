"""Registry audit: pushes and deletes are recorded in the transaction that makes them;
pulls, the hot path, are queued and written in batches at least once a second — their
audit rows, the pull counts and last pull times the listings show (pull_store), and, for
projects with a webhook policy that wants them, PULL_ARTIFACT events."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import Connection
from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest

from harbor_twisted.common.client_address import client_address
from harbor_twisted.config import Config
from harbor_twisted.db import audit_store, event_store, pull_store, webhook_store
from harbor_twisted.db.audit_store import RegistryEvent
from harbor_twisted.db.engine import Database
from harbor_twisted.db.event_store import NewEvent

log = Logger(namespace="harbor_twisted.registry.audit")

FLUSH_INTERVAL = 1.0
MAX_PENDING = 100_000


def event_for(
    config: Config,
    request: IRequest,
    username: str,
    operation: str,
    resource_type: str,
    repository: str,
    resource: str,
) -> RegistryEvent:
    return RegistryEvent(
        username, client_address(config, request), operation, resource_type, repository, resource
    )


Pull = tuple[RegistryEvent, str, "str | None", float]  # audit event, digest, tag, when


def write_pulls(conn: Connection, pulls: list[Pull]) -> None:
    """One transaction per batch: the audit rows, and the outbox rows someone listens to
    (so pulls cost the outbox nothing where no webhook wants them). The outbox rows are
    built here, in the database thread, to keep the reactor's share of a pull tiny."""
    # pull statistics first: the audit write locks the projects' kept counts, which a
    # push takes last (after its tag), so taking them last here too cannot deadlock
    pull_store.record_pulls(conn, [
        pull_store.Pulled(audit.repository, digest, tag, datetime.fromtimestamp(when, UTC))
        for audit, digest, tag, when in pulls])
    audit_store.write_registry_events(conn, [pull[0] for pull in pulls])
    projects = {pull[0].project_name for pull in pulls}
    wanted = webhook_store.projects_wanting(conn, event_store.PULL_ARTIFACT, projects)
    if wanted:
        event_store.record_many(conn, [
            NewEvent(event_store.PULL_ARTIFACT, audit.repository, digest, tag, audit.username,
                     created_at=datetime.fromtimestamp(when, UTC))
            for audit, digest, tag, when in pulls if audit.project_name in wanted])


class PullRecorder:
    """Batches pull events; a LoopingCall flushes them in one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: list[Pull] = []
        self._loop = task.LoopingCall(self.flush)
        self._flushing: defer.Deferred[None] | None = None

    def start(self) -> None:
        self._loop.start(FLUSH_INTERVAL, now=False)

    async def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()
        await self.flush()

    def add(self, event: RegistryEvent, digest: str, tag: str | None) -> None:
        if len(self.pending) >= MAX_PENDING:
            log.warn("pull audit queue full; dropping the oldest entries")
            del self.pending[: MAX_PENDING // 10]
        self.pending.append((event, digest, tag, time.time()))

    def flush(self) -> defer.Deferred[None]:
        if self._flushing is not None:
            return self._flushing
        batch, self.pending = self.pending, []
        if not batch:
            return defer.succeed(None)
        d = self.db.run(write_pulls, batch)

        def restore(failure: Failure) -> None:
            log.failure("writing pull audit records failed; will retry", failure)
            self.pending[:0] = batch

        def done(_: object) -> None:
            self._flushing = None

        d.addErrback(restore)
        d.addBoth(done)
        self._flushing = d
        return d
