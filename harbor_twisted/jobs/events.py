"""The outbox consumer: every poll, take the oldest events in id order, hand them to each
consumer of events — replication (event-based policies) and webhooks (project policies) —
and delete them, all in one transaction, so an event is turned into jobs exactly once even
with several job services. A full batch is followed by the next at once, so a burst of
pulls is drained instead of waiting a poll per batch.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from harbor_twisted.config import Config
from harbor_twisted.db import event_store
from harbor_twisted.db.engine import Database
from harbor_twisted.replication import events as replication_events
from harbor_twisted.webhooks import dispatch as webhook_dispatch

log = Logger(namespace="harbor_twisted.jobs.events")
BATCH = 200
MAX_BATCHES_PER_TICK = 20


def consume(conn: Connection, config: Config) -> tuple[int, int, int]:
    """One batch: (events taken, replication executions, webhook executions created)."""
    events = event_store.take(conn, BATCH)
    if not events:
        return 0, 0, 0
    replications = replication_events.enqueue(conn, events, config.job_retry_limit)
    webhooks = webhook_dispatch.enqueue(conn, config, events)
    event_store.consumed(conn, [event.id for event in events])
    return len(events), len(replications), len(webhooks)


class EventConsumer(service.Service):
    def __init__(self, config: Config, db: Database, on_new: Callable[[], object]) -> None:
        self.config = config
        self.db = db
        self.on_new = on_new
        self._loop = task.LoopingCall(self.tick)

    async def _tick(self) -> None:
        for _ in range(MAX_BATCHES_PER_TICK):
            taken, replications, webhooks = await self.db.run(consume, self.config)
            if replications or webhooks:
                log.info("events enqueued {r} replication and {w} webhook executions",
                         r=replications, w=webhooks)
                self.on_new()
            if taken < BATCH or not self.running:
                return

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
