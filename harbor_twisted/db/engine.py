"""Engine creation and the thread-pool runner: database work never runs on the reactor.

``Database.run(fn, *args)`` runs ``fn(connection, *args)`` inside one transaction in a
dedicated thread pool and returns a Deferred with its result (the Buildbot pattern): rows
are read inside the thread, never handed out as live cursors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, create_engine, event
from twisted.internet import defer, reactor
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

T = TypeVar("T")
_reactor = cast(IReactorFromThreads, reactor)  # the global reactor runs thread pools


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # read pages through a shared memory map rather than a read() each: listings walk
    # index ranges of 100,000 entries (pages past the map are read as before)
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.close()


def make_engine(url: str, pool_size: int = 8) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=0,
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True)


class Database:
    def __init__(self, engine: Engine, threads: int = 8) -> None:
        self.engine = engine
        self.pool = ThreadPool(minthreads=1, maxthreads=threads, name="database")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def start(self) -> None:
        self.pool.start()

    def stop(self) -> None:
        self.pool.stop()
        self.engine.dispose()

    def run(self, fn: Callable[..., T], *args: Any) -> defer.Deferred[T]:
        """Run ``fn(conn, *args)`` in one transaction, off the reactor thread."""
        return deferToThreadPool(_reactor, self.pool, self.run_sync, fn, *args)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        with self.engine.begin() as conn:
            return fn(conn, *args)
