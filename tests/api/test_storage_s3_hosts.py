"""Two hosts on one bucket and one PostgreSQL database, against the real Ceph RGW and
PostgreSQL: an upload has one writer across hosts, a killed host's upload is resumed by
the other, and GC on one host waits for a commit on the other.

Host A is a registry process, host B an all-in-one (so garbage collection runs on B);
each has its own data directory, so only the database's advisory locks are shared.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from harbor_twisted.storage.advisory_locks import DIGEST_NAMESPACE
from tests.rest.test_gc import run_gc
from tests.support.auth import TokenAuth
from tests.support.ceph_rgw import S3Account
from tests.support.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256
from tests.support.postgres import PostgresCluster
from tests.support.server import RegistryServer, admin_http, start_server

MiB = 1024 * 1024


@pytest.fixture
def two_hosts(postgres_cluster: PostgresCluster, s3_account: S3Account, tmp_path
              ) -> Iterator[tuple[RegistryServer, RegistryServer, str]]:
    """(A, B, the bucket prefix): B starts first (it migrates the schema)."""
    prefix = "hosts-" + secrets.token_hex(4)
    env = s3_account.env(s3_prefix=prefix, gc_grace_minutes="0", job_poll_seconds="1")
    database = postgres_cluster.create_database("hosts")
    b = start_server(tmp_path / "host-b", database, env)
    started = [b]
    try:
        a = start_server(tmp_path / "host-a", database, env, command="registry",
                         admin_password=b.admin_password)
        started.append(a)
        a.auth = TokenAuth(b.url, "admin", b.admin_password)  # A has no token service
        a.session.auth = a.auth
        yield a, b, prefix
    finally:
        for server in started:
            server.stop()


def _upload_keys(account: S3Account, prefix: str) -> list[str]:
    listed = account.client().list_objects_v2(Bucket=account.bucket, Prefix=f"{prefix}/uploads/")
    return [item["Key"] for item in listed.get("Contents", [])]


def _blob_stored(account: S3Account, prefix: str, digest: str) -> bool:
    algorithm, hexdigest = digest.split(":")
    key = f"{prefix}/blobs/{algorithm}/{hexdigest[:2]}/{hexdigest}"
    return bool(account.client().list_objects_v2(Bucket=account.bucket, Prefix=key)
                .get("KeyCount"))


def _start_upload(server: RegistryServer, repo: str) -> str:
    response = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/", timeout=10)
    assert response.status_code == 202, response.text
    return response.headers["Location"]


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_an_upload_written_on_a_is_busy_on_b_and_b_resumes_it_after_a_dies(
        two_hosts, s3_account):
    a, b, prefix = two_hosts
    location = _start_upload(a, "library/failover")
    data = os.urandom(23 * MiB)
    address, port = a.host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)), timeout=10)
    token = a.auth_header(location)["Authorization"]
    sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:17 * MiB])
    _until(lambda: len(_upload_keys(s3_account, prefix)) >= 4, 30,  # owner + 3 whole parts
           "A to store three parts")
    # A failover while A still writes: B must not append (no Content-Range: B would write
    # at the end of what it sees, if nothing stopped it).
    meanwhile = admin_http.patch(b.url + location, data=b"x" * 1000, timeout=10)
    assert meanwhile.status_code == 409, meanwhile.text
    assert "another request is writing" in meanwhile.text
    a.process.send_signal(signal.SIGKILL)
    a.process.wait(timeout=10)
    sock.close()
    status = admin_http.get(b.url + location, timeout=10)
    assert status.status_code == 204
    held = int(status.headers["Range"].split("-")[1]) + 1
    assert held == 15 * MiB  # A's whole parts; B's refused bytes are nowhere

    def resumed() -> bool:  # A's session ends as its socket closes: no wait for a timeout
        rest = admin_http.patch(b.url + location, data=data[held:], timeout=60,
                                headers={"Content-Range": f"{held}-{len(data) - 1}"})
        assert rest.status_code in (202, 409), rest.text
        return rest.status_code == 202

    _until(resumed, 5, "A's lock to go with its process")
    done = admin_http.put(b.url + location, params={"digest": sha256(data)}, timeout=60)
    assert done.status_code == 201, done.text
    pulled = admin_http.get(f"{b.url}/v2/library/failover/blobs/{sha256(data)}", timeout=60)
    assert pulled.content == data
    assert _upload_keys(s3_account, prefix) == []


def _advisory(database: str, granted: bool) -> int:
    """Digest locks held (or waited for) in the database, by any host."""
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :ns AND objsubid = 2 AND granted = :granted"),
                {"ns": DIGEST_NAMESPACE, "granted": granted}).scalar_one()
    finally:
        engine.dispose()


def test_gc_on_b_waits_for_a_commit_on_a_and_keeps_its_blob(two_hosts, s3_account):
    """A's commit is held between the blob's object and its committed row (the test holds
    the upload's row, which A's transaction deletes): exactly when GC sees an object no
    row names. GC on B must wait for A's digest lock and then find the row."""
    a, b, prefix = two_hosts
    repo = "library/race"
    layer = os.urandom(200_000)
    location = _start_upload(a, repo)
    assert admin_http.patch(a.url + location, data=layer, timeout=30).status_code == 202
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    engine = create_engine(a.database_url)
    blocker = engine.connect()
    committed: dict[str, int] = {}
    try:
        blocker.execute(text("SELECT uuid FROM upload WHERE uuid = :id FOR UPDATE"),
                        {"id": upload_id})

        def complete() -> None:
            committed["status"] = admin_http.put(
                a.url + location, params={"digest": sha256(layer)}, timeout=120).status_code

        completing = threading.Thread(target=complete)
        completing.start()
        _until(lambda: _blob_stored(s3_account, prefix, sha256(layer)), 30,
               "A to store the blob's object")
        time.sleep(1.1)  # older than the GC's start, whatever the clocks' resolution
        collected: dict[str, dict] = {}
        collecting = threading.Thread(target=lambda: collected.update(run=run_gc(b)))
        collecting.start()
        # GC on B sees the object with no row: it waits for the digest's lock that A holds
        # (without a lock shared by the hosts it would delete the object and finish)
        _until(lambda: _advisory(a.database_url, granted=False) == 1
               or not collecting.is_alive(), 60, "GC on B to wait or finish")
        gc_waited = collecting.is_alive()
        assert "status" not in committed  # A was in its window all along
    finally:
        blocker.rollback()  # A's row commits; then its lock goes, then GC looks again
        blocker.close()
        engine.dispose()
    completing.join(60)
    collecting.join(120)
    assert committed["status"] == 201
    assert collected["run"]["job_status"] == "Success"
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    pushed = admin_http.post(f"{a.url}/v2/{repo}/blobs/uploads/", params={"digest": sha256(config)},
                             data=config, timeout=30)
    assert pushed.status_code == 201
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
    }).encode()
    assert admin_http.put(f"{a.url}/v2/{repo}/manifests/v1", data=manifest, timeout=30,
                          headers={"Content-Type": OCI_MANIFEST}).status_code == 201
    for host in (a, b):  # the manifest's blobs are all there, from either host
        pulled = admin_http.get(f"{host.url}/v2/{repo}/blobs/{sha256(layer)}", timeout=30)
        assert pulled.status_code == 200, f"a manifest names a blob GC deleted: {pulled.text}"
        assert pulled.content == layer
    assert _blob_stored(s3_account, prefix, sha256(layer))
    assert gc_waited  # so GC did consider the object, and kept it for the row it found
