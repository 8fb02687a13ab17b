"""The job service's parts: its own database pool, the workers and the scheduler.

Jobs get their own engine and thread pool so that a long garbage collection never takes
connections the registry's requests are waiting for.
"""

from __future__ import annotations

from twisted.application import internet, service
from twisted.logger import Logger

from harbor_twisted.config import Config
from harbor_twisted.db.engine import Database, make_engine
from harbor_twisted.db.pool_stats import SAMPLE_SECONDS, record_pool_use
from harbor_twisted.jobs.events import EventConsumer
from harbor_twisted.jobs.kinds import JobKinds
from harbor_twisted.jobs.scheduler import Scheduler
from harbor_twisted.jobs.worker import JobWorkers
from harbor_twisted.storage.drivers import open_blob_store

log = Logger(namespace="harbor_twisted.jobs.service")


class JobDatabase(service.Service):
    def __init__(self, config: Config) -> None:
        # a connection per busy worker thread, plus the reactor side (claims, heartbeats)
        size = config.max_job_workers * 2 + 2
        self.db = Database(make_engine(config.effective_database_url, size), 2)

    def startService(self) -> None:  # noqa: N802 - twisted's name
        self.db.start()
        super().startService()

    def stopService(self) -> None:  # noqa: N802 - twisted's name
        super().stopService()
        self.db.stop()


def add_job_service(config: Config, parent: service.MultiService, kinds: JobKinds
                    ) -> JobWorkers:
    """Add database, workers, scheduler and event consumer to ``parent`` (after its schema
    migration), running the given kinds."""
    database = JobDatabase(config)
    database.setServiceParent(parent)
    blobs = open_blob_store(config)
    blobs.prepare()
    workers = JobWorkers(config, database.db, blobs, kinds)
    workers.setServiceParent(parent)
    Scheduler(config, database.db, kinds, on_fired=workers.poll).setServiceParent(parent)
    consumer = EventConsumer(config, database.db, kinds.consumers, on_new=workers.poll)
    consumer.setServiceParent(parent)
    if config.metrics_enabled:
        workers.metrics.sampler(database.db).setServiceParent(parent)
        internet.TimerService(SAMPLE_SECONDS, record_pool_use, "jobs", database.db
                              ).setServiceParent(parent)
    return workers
