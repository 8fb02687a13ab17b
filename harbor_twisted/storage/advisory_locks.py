"""Exclusions across hosts that share a bucket: PostgreSQL advisory locks.

Each held lock is a session-level advisory lock on a connection of its own, checked out of
a small pool for as long as the lock is held. Session-level, not transaction-level: a lock
outlives the statements that use it (an upload's writer holds its lock for a whole request
body; a commit holds the digest's lock while the blob's row commits on another
connection), and a transaction kept open that long would sit "idle in transaction". The
lock dies with its session: a host that is killed (or cut off: TCP keepalives are set on
both ends) loses its connections, PostgreSQL ends their sessions and another host takes
the locks over.

Keys use the two-int form ``(namespace, key)``: that key space is separate from the
one-bigint form (the schema migration's lock), and each kind of lock has a namespace of its
own, so they cannot collide with other advisory locks. ``key`` is 32 bits of the digest (or
of the upload id, random in a version 4 UUID): two digests sharing them share a lock, as
digests share a shard of flocks on the filesystem; of two uploads sharing them (about
k^2/2^33 for k uploads written at once), the later is answered busy while the earlier writes.

Each held lock costs a PostgreSQL session: the database's ``max_connections`` must cover,
per host, its database pools, its uploads being written at once and its commits.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from harbor_twisted.storage.base import LockTimeout
from harbor_twisted.storage.digests import Digest

DIGEST_NAMESPACE = 0x4854_4447  # "HTDG"
UPLOAD_NAMESPACE = 0x4854_5550  # "HTUP"
DIGEST_WAIT_SECONDS = 120.0  # a commit holds its digest for a multipart copy at most
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired
# Dead peers are noticed within about 10 + 3 x 5 s, on the server and on the client.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
             "keepalives_count": 3}
SERVER_KEEPALIVE = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 " \
                   "-c tcp_keepalives_count=3"


def _int32(value: int) -> int:
    """The unsigned 32-bit ``value`` as PostgreSQL's signed int4."""
    return value - (1 << 32) if value >= 1 << 31 else value


def digest_key(digest: Digest) -> int:
    return _int32(int(digest.hex[:8], 16))


def upload_key(upload_id: str) -> int:
    return _int32(int(upload_id.replace("-", "")[:8], 16))


class AdvisoryLock:
    """One held lock and the connection whose session holds it."""

    def __init__(self, conn: Connection, namespace: int, key: int,
                 unlocker: ThreadPoolExecutor | None) -> None:
        self._conn: Connection | None = conn
        self._namespace, self._key = namespace, key
        self._unlocker = unlocker
        self._guard = threading.Lock()

    def release(self) -> None:
        """Unlock and give the connection back; with an unlocker thread, without waiting."""
        with self._guard:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._unlocker is None:
            _unlock(conn, self._namespace, self._key)
        else:
            self._unlocker.submit(_unlock, conn, self._namespace, self._key)

    def __enter__(self) -> AdvisoryLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _unlock(conn: Connection, namespace: int, key: int) -> None:
    """A session that no longer holds the lock (or cannot say) is closed for good, so no
    lock can stay behind on a pooled connection."""
    try:
        held: bool = conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"),
                                  {"ns": namespace, "key": key}).scalar_one()
    except Exception:
        held = False
    if not held:
        conn.invalidate()
    conn.close()


class AdvisoryLocks:
    """Digest and upload locks in the PostgreSQL database at ``database_url``.

    ``lock_digest`` waits in PostgreSQL (``lock_timeout`` bounds it), in the caller's
    thread: callers run it in a disk or job thread, never on the reactor. Its lock is
    released by a thread of its own, so a holder never needs a thread of a pool whose
    threads may all be waiting for that very lock.
    """

    def __init__(self, database_url: str, digest_wait: float = DIGEST_WAIT_SECONDS) -> None:
        self._url = database_url
        self._digest_wait = digest_wait
        self._engine: Engine | None = None
        self._unlocker: ThreadPoolExecutor | None = None
        self._guard = threading.Lock()

    def _connect(self) -> tuple[Connection, ThreadPoolExecutor]:
        with self._guard:
            if self._engine is None:
                options = f"-c lock_timeout={int(self._digest_wait * 1000)} {SERVER_KEEPALIVE}"
                # No overflow bound: a holder must never wait for a connection a waiter has.
                self._engine = create_engine(
                    self._url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=-1,
                    pool_pre_ping=True, connect_args={**KEEPALIVE, "options": options})
                self._unlocker = ThreadPoolExecutor(1, thread_name_prefix="advisory-unlock")
            engine, unlocker = self._engine, self._unlocker
        assert unlocker is not None
        return engine.connect(), unlocker

    def lock_digest(self, digest: Digest) -> AdvisoryLock:
        conn, unlocker = self._connect()
        key = digest_key(digest)
        try:
            conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"),
                         {"ns": DIGEST_NAMESPACE, "key": key})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                conn.invalidate()
                conn.close()
                raise
            conn.close()  # the session is sound and holds nothing
            raise LockTimeout(f"{digest} stayed locked for {self._digest_wait:g} s") from None
        except BaseException:
            conn.invalidate()  # it may hold the lock after all: its session goes
            conn.close()
            raise
        return AdvisoryLock(conn, DIGEST_NAMESPACE, key, unlocker)

    def try_lock_upload(self, upload_id: str) -> AdvisoryLock | None:
        """Released in the caller's thread (a disk thread): once ``release`` returns, the
        next request on the upload, on any host, finds it free."""
        conn, _ = self._connect()
        key = upload_key(upload_id)
        try:
            taken: bool = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                       {"ns": UPLOAD_NAMESPACE, "key": key}).scalar_one()
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if not taken:
            conn.close()
            return None
        return AdvisoryLock(conn, UPLOAD_NAMESPACE, key, None)

    def forget_upload(self, upload_id: str) -> None:
        """Nothing stays behind: the lock is gone with its release."""

    def close(self) -> None:
        """Wait for pending unlocks, then close the pooled connections."""
        with self._guard:
            engine, unlocker = self._engine, self._unlocker
            self._engine = self._unlocker = None
        if unlocker is not None:
            unlocker.shutdown(wait=True)
        if engine is not None:
            engine.dispose()
