"""The job service's metrics: task outcomes and run times by type (recorded as tasks end, in
memory), and the queue's depth and age (sampled from the database every few seconds, off
the reactor, only while metrics are on)."""

from __future__ import annotations

import os
import socket

from twisted.application import internet
from twisted.internet import defer
from twisted.logger import Logger

from harbor_twisted.common import metrics
from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.engine import Database
from harbor_twisted.db.job_store import PENDING
from harbor_twisted.db.queue_stats import queued_by_kind
from harbor_twisted.jobs.kinds import JobKinds

log = Logger(namespace="harbor_twisted.jobs.metrics")
QUEUE_SAMPLE_SECONDS = 10.0
RETRY = "Retry"  # an attempt failed and the task waits for its next one


class JobMetrics:
    def __init__(self, kinds: JobKinds) -> None:
        self.kinds = kinds

    def type_of(self, job_name: str) -> str:
        """Harbor's job type: the kind's vendor type (GARBAGE_COLLECTION, REPLICATION…)."""
        kind = self.kinds.kinds.get(job_name)
        return kind.vendor if kind is not None and kind.vendor else job_name.upper()

    def task_done(self, job_name: str, status: str, seconds: float) -> None:
        labels = (self.type_of(job_name), RETRY if status == PENDING else status)
        metrics.TASKS.labels(*labels).inc()
        metrics.TASK_TIME.labels(*labels).observe(seconds)

    def announce(self, pool_size: int) -> None:
        node = f"{socket.gethostname()}:{os.getpid()}"
        metrics.JOBSERVICE_INFO.labels(node, "default", str(pool_size)).set(1)

    async def sample_queue(self, db: Database) -> None:
        queued = {q.job_name: q for q in await db.run(queued_by_kind)}
        now = utcnow()
        for name in set(self.kinds.kinds) | set(queued):
            entry = queued.get(name)
            waiting = 0 if entry is None else entry.waiting
            age = 0.0 if entry is None else max((now - entry.oldest_due).total_seconds(), 0.0)
            metrics.QUEUE_SIZE.labels(self.type_of(name)).set(waiting)
            metrics.QUEUE_LATENCY.labels(self.type_of(name)).set(age)

    def sampler(self, db: Database) -> internet.TimerService:
        return internet.TimerService(QUEUE_SAMPLE_SECONDS, self._sample_logged, db)

    def _sample_logged(self, db: Database) -> defer.Deferred[None]:
        d = defer.ensureDeferred(self.sample_queue(db))
        d.addErrback(lambda failure: log.failure("sampling the job queue failed", failure))
        return d
