"""The S3 driver in a running registry, against a real Ceph RADOS Gateway: the bucket's
layout, an upload resumed by another host after a kill, expiry, GC and redirects.

(The conformance suite also runs on S3: the `registry` fixture's sqlite-s3 variant.)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import time

import pytest
import requests

from tests.rest.test_gc import _delete_artifact, push, run_gc
from tests.support.ceph_rgw import S3Account
from tests.support.oci import push_blob, sha256, unique_repo
from tests.support.server import RegistryServer, admin_http, start_server

MiB = 1024 * 1024


def _keys(account: S3Account, prefix: str, kind: str) -> list[str]:
    listed = account.client().list_objects_v2(Bucket=account.bucket, Prefix=f"{prefix}/{kind}/")
    return [item["Key"] for item in listed.get("Contents", [])]


def _blob_key(prefix: str, digest: str) -> str:
    algorithm, hexdigest = digest.split(":")
    return f"{prefix}/blobs/{algorithm}/{hexdigest[:2]}/{hexdigest}"


def _on_s3(start_registry, account: S3Account, prefix: str | None = None, **settings: str
           ) -> tuple[RegistryServer, str]:
    prefix = prefix or "t-" + secrets.token_hex(4)
    return start_registry(account.env(s3_prefix=prefix, **settings)), prefix


@pytest.fixture
def second_host():
    """Start another host on a first one's database (so with its admin password)."""
    started: list[RegistryServer] = []

    def start(first: RegistryServer, env: dict[str, str], data_dir) -> RegistryServer:
        server = start_server(data_dir, first.database_url, env,
                              admin_password=first.admin_password)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _start(url: str, repo: str) -> str:
    response = admin_http.post(f"{url}/v2/{repo}/blobs/uploads/", timeout=10)
    assert response.status_code == 202
    return response.headers["Location"]


def test_blobs_are_stored_once_under_their_digest_and_uploads_leave_nothing(
        start_registry, s3_account):
    server, prefix = _on_s3(start_registry, s3_account)
    small, large = os.urandom(50_000), os.urandom(12 * MiB + 7)  # large: 3 parts of 5 MiB
    for data in (small, large):
        push_blob(server.url, unique_repo("s3"), data)
        push_blob(server.url, unique_repo("s3"), data)  # deduplicated
    assert sorted(_keys(s3_account, prefix, "blobs")) == sorted(
        _blob_key(prefix, sha256(d)) for d in (small, large))
    assert _keys(s3_account, prefix, "uploads") == []
    stored = s3_account.client().get_object(Bucket=s3_account.bucket,
                                            Key=_blob_key(prefix, sha256(large)))
    assert stored["Body"].read() == large
    repo = unique_repo("s3")
    push_blob(server.url, repo, large)
    tail = admin_http.get(f"{server.url}/v2/{repo}/blobs/{sha256(large)}",
                          headers={"Range": f"bytes={10 * MiB}-"}, timeout=30)
    assert tail.status_code == 206 and tail.content == large[10 * MiB:]


def test_an_upload_killed_mid_patch_is_resumed_by_another_host(start_registry, s3_account,
                                                               second_host, tmp_path):
    """Host one dies in the middle of a chunk; host two (its own data directory, the same
    database and bucket) finds the whole parts stored, takes the rest and re-hashes."""
    prefix = "t-" + secrets.token_hex(4)
    env = s3_account.env(s3_prefix=prefix)
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    one = start_registry(env, data_dir=tmp_path / "host1", database_url=database)
    location = _start(one.url, "library/crash")
    data = os.urandom(23 * MiB)
    address, port = one.host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)), timeout=10)
    token = one.auth_header(location)["Authorization"]
    sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:17 * MiB])
    deadline = time.monotonic() + 30  # until the first three parts are in the bucket
    while len(_keys(s3_account, prefix, "uploads")) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    one.process.send_signal(signal.SIGKILL)
    one.process.wait(timeout=10)
    sock.close()
    two = second_host(one, env, tmp_path / "host2")
    status = admin_http.get(two.url + location, timeout=10)
    assert status.status_code == 204
    held = int(status.headers["Range"].split("-")[1]) + 1
    assert held == 15 * MiB  # whole parts only: the spool died with the host
    rest = admin_http.patch(two.url + location, data=data[held:],
                            headers={"Content-Range": f"{held}-{len(data) - 1}"}, timeout=60)
    assert rest.status_code == 202
    done = admin_http.put(two.url + location, params={"digest": sha256(data)}, timeout=60)
    assert done.status_code == 201, done.text
    pulled = admin_http.get(f"{two.url}/v2/library/crash/blobs/{sha256(data)}", timeout=60)
    assert pulled.content == data
    assert _keys(s3_account, prefix, "uploads") == []


def test_small_chunks_are_durable_at_each_answer(start_registry, s3_account, second_host,
                                                 tmp_path):
    """Docker-sized PATCHes below the part size: each answer means the bytes are in the
    bucket, so a second host continues after every one of them."""
    prefix = "t-" + secrets.token_hex(4)
    env = s3_account.env(s3_prefix=prefix)
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    first = start_registry(env, data_dir=tmp_path / "host1", database_url=database)
    hosts = [first, second_host(first, env, tmp_path / "host2")]
    location = _start(hosts[0].url, "library/chunks")
    data = os.urandom(6 * MiB)
    chunks = [data[i:i + 700_000] for i in range(0, len(data), 700_000)]
    offset = 0
    for number, chunk in enumerate(chunks):
        host = hosts[number % 2]
        response = admin_http.patch(
            host.url + location, data=chunk, timeout=30,
            headers={"Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        assert response.status_code == 202, response.text
        offset += len(chunk)
        assert response.headers["Range"] == f"0-{offset - 1}"
    done = admin_http.put(hosts[1].url + location, params={"digest": sha256(data)}, timeout=60)
    assert done.status_code == 201, done.text
    assert admin_http.get(f"{hosts[0].url}/v2/library/chunks/blobs/{sha256(data)}",
                          timeout=60).content == data


def test_stale_uploads_and_abandoned_multipart_uploads_expire(start_registry, s3_account):
    server, prefix = _on_s3(start_registry, s3_account, upload_expiry_seconds="1",
                            upload_sweep_interval_seconds="1")
    client = s3_account.client()
    abandoned = client.create_multipart_upload(Bucket=s3_account.bucket,
                                               Key=f"{prefix}/blobs/sha256/00/abandoned")
    location = _start(server.url, "library/expiry")
    assert admin_http.patch(server.url + location, data=b"abc", timeout=10).status_code == 202
    assert _keys(s3_account, prefix, "uploads")

    def open_multipart_ids() -> list[str]:
        uploads = client.list_multipart_uploads(Bucket=s3_account.bucket, Prefix=prefix)
        return [u["UploadId"] for u in uploads.get("Uploads", [])]

    # the sweep removes the upload's objects, then aborts stale multipart uploads: wait for both
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
            _keys(s3_account, prefix, "uploads") or abandoned["UploadId"] in open_multipart_ids()):
        time.sleep(0.3)
    assert _keys(s3_account, prefix, "uploads") == []
    assert admin_http.get(server.url + location, timeout=10).status_code == 404
    assert abandoned["UploadId"] not in open_multipart_ids()


def test_gc_deletes_the_objects_of_unreferenced_blobs(start_registry, s3_account):
    server, prefix = _on_s3(start_registry, s3_account, gc_grace_minutes="0",
                            job_poll_seconds="1")
    repo = unique_repo("s3gc")
    shared = os.urandom(40_000)
    gone = push(server, repo, "old", [shared, os.urandom(30_000)], "old")
    kept = push(server, repo, "new", [shared, os.urandom(20_000)], "new")
    _delete_artifact(server, gone)
    run_gc(server)
    stored = set(_keys(s3_account, prefix, "blobs"))
    for digest in kept.blobs:
        assert _blob_key(prefix, digest) in stored
    for digest in set(gone.blobs) - set(kept.blobs):
        assert _blob_key(prefix, digest) not in stored


def test_redirect_mode_sends_pulls_to_a_presigned_url(start_registry, s3_account):
    server, _ = _on_s3(start_registry, s3_account, blob_serving="redirect")
    repo, data = unique_repo("s3"), os.urandom(100_000)
    push_blob(server.url, repo, data)
    answer = admin_http.get(f"{server.url}/v2/{repo}/blobs/{sha256(data)}", timeout=30,
                            allow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["Location"].startswith(s3_account.endpoint + "/")
    assert "X-Amz-Signature=" in answer.headers["Location"]
    assert requests.get(answer.headers["Location"], timeout=30).content == data
    unsigned = answer.headers["Location"].split("?", 1)[0]
    assert requests.get(unsigned, timeout=30).status_code == 403  # the bucket is private


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_key_file_others_can_read_is_refused_at_start(start_registry, s3_account, tmp_path,
                                                        mode):
    exposed = tmp_path / "secret_key"
    exposed.write_text(s3_account.secret_key_file.read_text())
    exposed.chmod(mode)
    with pytest.raises(RuntimeError, match="readable by its owner only"):
        start_registry(s3_account.env(s3_secret_key_file=str(exposed)))


def _rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status", encoding="ascii"):  # noqa: SIM115
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _spooled_bytes(pid: int) -> int:
    """What the process holds in spool files (unlinked temporary files under s3-spool)."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if "s3-spool" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                total += os.stat(f"/proc/{pid}/fd/{fd}").st_size
        except FileNotFoundError:
            continue
    return total


def test_a_streamed_layer_keeps_memory_and_spool_bounded(start_registry, s3_account):
    """Docker's way (one chunked PATCH, no length): 80 MiB through 5 MiB parts, the server's
    RSS flat and its spool never above two parts and a read."""
    server, _ = _on_s3(start_registry, s3_account)
    block, blocks = os.urandom(MiB), 80
    digest = hashlib.sha256()
    baseline, peak_rss, peak_spool = _rss_kib(server.pid), 0, 0

    def body():
        nonlocal peak_rss, peak_spool
        for _ in range(blocks):
            digest.update(block)
            peak_rss = max(peak_rss, _rss_kib(server.pid))
            peak_spool = max(peak_spool, _spooled_bytes(server.pid))
            for i in range(0, MiB, 32 * 1024):
                yield block[i:i + 32 * 1024]

    location = _start(server.url, "library/stream")
    assert admin_http.patch(server.url + location, data=body(), timeout=300).status_code == 202
    done = admin_http.put(server.url + location,
                          params={"digest": "sha256:" + digest.hexdigest()}, timeout=300)
    assert done.status_code == 201, done.text
    assert peak_spool <= 2 * 5 * MiB + MiB, f"spool peaked at {peak_spool / MiB:.1f} MiB"
    assert peak_spool > 0
    assert (peak_rss - baseline) < 50 * 1024, f"RSS grew by {(peak_rss - baseline) // 1024} MiB"
