"""The outbox consumer: every poll, take the oldest events in id order, hand them to each
registered consumer of events (services.py registers replication's event-based policies
and webhooks' project policies) and delete them, all in one transaction, so an event is
turned into jobs exactly once even with several job services. A full batch is followed by
the next at once, so a burst of pulls is drained instead of waiting a poll per batch.
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
from harbor_twisted.jobs.kinds import EventConsumerKind

log = Logger(namespace="harbor_twisted.jobs.events")
BATCH = 200
MAX_BATCHES_PER_TICK = 20


def consume(conn: Connection, config: Config, consumers: tuple[EventConsumerKind, ...]
            ) -> tuple[int, dict[str, int]]:
    """One batch: (events taken, executions created by each consumer)."""
    events = event_store.take(conn, BATCH)
    if not events:
        return 0, {}
    created = {consumer.name: consumer.handle(conn, config, events) for consumer in consumers}
    event_store.consumed(conn, [event.id for event in events])
    return len(events), created


class EventConsumer(service.Service):
    def __init__(self, config: Config, db: Database, consumers: tuple[EventConsumerKind, ...],
                 on_new: Callable[[], object]) -> None:
        self.config = config
        self.consumers = consumers
        self.db = db
        self.on_new = on_new
        self._loop = task.LoopingCall(self.tick)

    async def _tick(self) -> None:
        for _ in range(MAX_BATCHES_PER_TICK):
            taken, created = await self.db.run(consume, self.config, self.consumers)
            if any(created.values()):
                made = ", ".join(f"{count} {name}" for name, count in created.items())
                log.info("events enqueued executions: {made}", made=made)
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
