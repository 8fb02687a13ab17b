"""PostgreSQL advisory locks as the storage's cross-host exclusions, on the session's real
PostgreSQL cluster: separate connections exclude each other, the digest lock's wait is
bounded, namespaces keep kinds apart, a killed holder's locks are released; and two S3
stores (the real Ceph RGW) sharing them."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from harbor_twisted.config import Config
from harbor_twisted.storage.advisory_locks import (
    DIGEST_NAMESPACE,
    UPLOAD_NAMESPACE,
    AdvisoryLocks,
    digest_key,
)
from harbor_twisted.storage.base import LockTimeout, UploadBusy, UploadMissing
from harbor_twisted.storage.digests import Digest
from harbor_twisted.storage.drivers import shared_locks
from harbor_twisted.storage.s3 import S3BlobStore
from harbor_twisted.storage.s3_client import S3Settings
from tests.support.ceph_rgw import S3Account
from tests.support.postgres import PostgresCluster

UPLOAD = "0b6a2f4e-5a7c-4d1e-9f3b-2c8d7e6a5b4c"
DIGEST = Digest("sha256", "0b6a2f4e" + "ab" * 28)


@pytest.fixture(scope="module")
def database(postgres_cluster: PostgresCluster) -> str:
    return postgres_cluster.create_database("locks")


@pytest.fixture
def hosts(database: str) -> Iterator[tuple[AdvisoryLocks, AdvisoryLocks]]:
    """Two hosts' locks: each its own pool of connections to the one database."""
    one, two = AdvisoryLocks(database, digest_wait=0.5), AdvisoryLocks(database, digest_wait=5)
    yield one, two
    one.close()
    two.close()


def _eventually(check, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_an_upload_has_one_writer_across_connections(hosts):
    one, two = hosts
    held = one.try_lock_upload(UPLOAD)
    assert held is not None
    assert two.try_lock_upload(UPLOAD) is None
    assert one.try_lock_upload(UPLOAD) is None  # another thread of the same host, too
    held.release()  # synchronous: the next writer finds it free at once
    again = two.try_lock_upload(UPLOAD)
    assert again is not None
    again.release()


def test_a_digest_lock_waits_for_the_holder_and_its_wait_is_bounded(hosts):
    one, two = hosts
    holder = two.lock_digest(DIGEST)
    started = time.monotonic()
    with pytest.raises(LockTimeout):
        one.lock_digest(DIGEST)
    assert 0.4 < time.monotonic() - started < 3
    taken = threading.Event()

    def wait_for_it() -> None:  # another thread of the holder's host: its own connection
        with two.lock_digest(DIGEST):
            taken.set()

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    assert not taken.wait(0.5)  # blocked in PostgreSQL while the holder holds
    holder.release()  # hands the unlock to its thread: no wait here
    assert taken.wait(5)
    waiter.join(5)


def test_kinds_of_lock_do_not_share_keys(hosts, database):
    """A digest and an upload with the same 32 bits are different locks; and they sit in
    the two-int key space, apart from the migration's one-bigint lock."""
    one, two = hosts
    digest = one.lock_digest(DIGEST)
    upload = two.try_lock_upload(UPLOAD)  # same first 32 bits as DIGEST
    assert upload is not None
    engine = create_engine(database)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT classid::bigint, objid::bigint, objsubid FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted ORDER BY classid")).all()
    engine.dispose()
    key = digest_key(DIGEST) & 0xFFFF_FFFF  # pg_locks shows the unsigned oid
    assert sorted(rows) == sorted([(DIGEST_NAMESPACE, key, 2), (UPLOAD_NAMESPACE, key, 2)])
    digest.release()
    upload.release()


_HOLDER = """
import sys, time
from harbor_twisted.storage.advisory_locks import AdvisoryLocks
from harbor_twisted.storage.digests import Digest
from harbor_twisted.storage.drivers import shared_locks
from harbor_twisted.storage.s3 import S3BlobStore
from harbor_twisted.storage.s3_client import S3Settings
from tests.support.ceph_rgw import S3Account
locks = AdvisoryLocks(sys.argv[1])
held = [locks.try_lock_upload(sys.argv[2]), locks.lock_digest(Digest("sha256", sys.argv[3]))]
assert held[0] is not None
print("held", flush=True)
time.sleep(600)
"""


def test_the_locks_of_a_killed_process_are_released(hosts, database):
    one, _ = hosts
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, database, UPLOAD, DIGEST.hex],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert one.try_lock_upload(UPLOAD) is None
        with pytest.raises(LockTimeout):
            one.lock_digest(DIGEST)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        upload = None

        def take_upload() -> bool:
            nonlocal upload
            upload = one.try_lock_upload(UPLOAD)
            return upload is not None

        assert _eventually(take_upload, 5)  # the session ended with the process
        assert upload is not None
        upload.release()
        one.lock_digest(DIGEST).release()
    finally:
        holder.kill()
        holder.wait(10)


def test_the_shared_locks_follow_the_database(tmp_path):
    """PostgreSQL: advisory locks (hosts may share the bucket); SQLite: the driver's flocks."""
    assert isinstance(shared_locks(Config(data=tmp_path, database_url="postgresql+psycopg://h/d")),
                      AdvisoryLocks)  # nothing connects before a lock is taken
    assert shared_locks(Config(data=tmp_path)) is None


def test_s3_hosts_sharing_the_locks_keep_one_writer_and_expire_no_written_upload(
        database, s3_account: S3Account, tmp_path):
    """Two S3 stores (their own spools, the one bucket) with advisory locks in one database."""
    settings = S3Settings(s3_account.endpoint, "us-east-1", s3_account.bucket,
                          "locks-" + secrets.token_hex(4), True, True, None, 5 * 1024 * 1024,
                          s3_account.access_key_file, s3_account.secret_key_file)
    locks = [AdvisoryLocks(database), AdvisoryLocks(database)]
    one, two = (S3BlobStore(settings, tmp_path / name, locks=held)
                for name, held in zip(("one", "two"), locks, strict=True))
    one.prepare()
    try:
        one.create_upload(UPLOAD, "library/a")
        writer = one.open_upload(UPLOAD, "library/a")
        writer.write(b"abc")
        with pytest.raises(UploadBusy):
            two.open_upload(UPLOAD, "library/a")
        assert two.expire_uploads(time.time() + 60, keep=set()) == []  # one writes it
        assert two.upload_size(UPLOAD, "library/a") == 0  # nothing stored before close
        writer.close()
        assert two.upload_size(UPLOAD, "library/a") == 3
        assert two.expire_uploads(time.time() + 60, keep=set()) == [UPLOAD]
        with pytest.raises(UploadMissing):
            one.open_upload(UPLOAD, "library/a")
    finally:
        for held in locks:
            held.close()
