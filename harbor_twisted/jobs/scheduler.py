"""The cron scheduler: every few seconds, enqueue the schedules that are due.

Any number of processes may run it; ``schedule_store.fire_due_schedules`` makes each due time
fire once (compare-and-set on ``next_run`` plus a unique (schedule, due time) pair).
"""

from __future__ import annotations

from twisted.application import service
from twisted.internet import defer, task
from twisted.logger import Logger

from harbor_twisted.common.cron import next_after
from harbor_twisted.config import Config
from harbor_twisted.db import schedule_store
from harbor_twisted.db.engine import Database
from harbor_twisted.jobs.kinds import JobKinds

log = Logger(namespace="harbor_twisted.jobs.scheduler")


class Scheduler(service.Service):
    def __init__(self, config: Config, db: Database, kinds: JobKinds,
                 on_fired: object = None) -> None:
        self.kinds = kinds
        self.config = config
        self.db = db
        self.on_fired = on_fired
        self._loop = task.LoopingCall(self.tick)

    def _job_for(self, vendor_type: str) -> tuple[str, int]:
        return self.kinds.for_vendor(vendor_type), self.config.job_retry_limit

    async def _tick(self) -> None:
        fired = await self.db.run(schedule_store.fire_due_schedules, next_after, self._job_for)
        for execution_id in fired:
            log.info("schedule fired: execution {id}", id=execution_id)
        if fired and callable(self.on_fired):
            self.on_fired()

    def tick(self) -> defer.Deferred[None]:
        d = defer.ensureDeferred(self._tick())
        d.addErrback(lambda f: log.failure("firing schedules failed", f))
        return d

    def startService(self) -> None:  # noqa: N802 - twisted's name
        super().startService()
        self._loop.start(self.config.job_scheduler_seconds, now=True)

    def stopService(self) -> None:  # noqa: N802 - twisted's name
        super().stopService()
        if self._loop.running:
            self._loop.stop()
