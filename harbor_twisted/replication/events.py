"""The outbox consumer: every poll, take the oldest events in id order, enqueue one
replication execution per matching event-based policy, and delete the events — all in one
transaction, so an event is turned into jobs exactly once even with several job services.
Webhooks can hang off the same loop later.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from harbor_twisted.config import Config
from harbor_twisted.db import event_store, job_store, replication_store
from harbor_twisted.db.engine import Database
from harbor_twisted.replication.filters import Filter, repository_passes, tag_passes

log = Logger(namespace="harbor_twisted.replication.events")
BATCH = 200


def _wants(policy: replication_store.Policy, event: event_store.Event) -> bool:
    if event.event_type != event_store.PUSH_ARTIFACT and not policy.replicate_deletion:
        return False
    filters = [Filter(f.get("type", ""), str(f.get("value", "")), f.get("decoration") or
                      "matches") for f in policy.filters]
    if not repository_passes(filters, event.repository):
        return False
    return event.tag is None or tag_passes(filters, event.tag)


def consume(conn: Connection, max_retries: int) -> list[int]:
    """Turn a batch of events into executions; the ids of the executions created."""
    events = event_store.take(conn, BATCH)
    if not events:
        return []
    policies = replication_store.event_policies(conn)
    created = []
    for event in events:
        reference = event.tag or event.digest
        if reference is None:
            continue
        for policy in policies:
            if not _wants(policy, event):
                continue
            created.append(job_store.create_execution(
                conn, replication_store.REPLICATION_VENDOR, "replication",
                {"policy_id": policy.id, "event": {
                    "type": event.event_type, "repository": event.repository,
                    "reference": reference}},
                max_retries, trigger="EVENT_BASED", vendor_id=policy.id))
    event_store.consumed(conn, [event.id for event in events])
    return created


class EventConsumer(service.Service):
    def __init__(self, config: Config, db: Database, on_new: Callable[[], object]) -> None:
        self.config = config
        self.db = db
        self.on_new = on_new
        self._loop = task.LoopingCall(self.tick)

    async def _tick(self) -> None:
        created = await self.db.run(consume, self.config.job_retry_limit)
        if created:
            log.info("events enqueued {n} replication executions", n=len(created))
            self.on_new()

    def tick(self) -> defer.Deferred[None]:
        d = defer.ensureDeferred(self._tick())
        d.addErrback(lambda f: log.failure("consuming events failed", f))
        return d

    def startService(self) -> None:  # noqa: N802 - twisted's name
        super().startService()
        self._loop.start(self.config.job_poll_seconds, now=True)

    def stopService(self) -> None:  # noqa: N802 - twisted's name
        super().stopService()
        if self._loop.running:
            self._loop.stop()
