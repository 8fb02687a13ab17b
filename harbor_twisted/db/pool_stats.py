"""How busy a database pool is, read from SQLAlchemy's and twisted's own counters (in memory,
no query): for the ``harbor_database_*`` gauges."""

from __future__ import annotations

from dataclasses import dataclass

from harbor_twisted.common import metrics
from harbor_twisted.db.engine import Database

SAMPLE_SECONDS = 5.0


@dataclass(frozen=True)
class PoolUse:
    connections_in_use: int
    connections_idle: int
    connections_max: int
    threads_busy: int
    calls_queued: int


def pool_use(db: Database) -> PoolUse:
    pool = db.engine.pool
    in_use = _count(pool, "checkedout")
    idle = _count(pool, "checkedin")
    size = _count(pool, "size")
    return PoolUse(in_use, idle, size, len(db.pool.working), db.pool.q.qsize())


def _count(pool: object, name: str) -> int:
    """QueuePool's counters; a pool class without one (StaticPool) counts 0."""
    method = getattr(pool, name, None)
    return int(method()) if callable(method) else 0


def record_pool_use(name: str, db: Database) -> None:
    """Set the ``harbor_database_*`` gauges of pool ``name`` (on the reactor: memory only)."""
    use = pool_use(db)
    for state, value in (("in_use", use.connections_in_use), ("idle", use.connections_idle),
                         ("max", use.connections_max)):
        metrics.DB_CONNECTIONS.labels(name, state).set(value)
    metrics.DB_THREADS.labels(name, "busy").set(use.threads_busy)
    metrics.DB_THREADS.labels(name, "queued").set(use.calls_queued)
