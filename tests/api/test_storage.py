"""Uploads, storage layout, deduplication, mounts, crash safety and expiry."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.support.oci import (
    OCI_MANIFEST,
    descriptor,
    error_code,
    push_blob,
    push_image,
    sha256,
    sha512,
    unique_repo,
)
from tests.support.server import admin_http


def _blob_file(data_dir: Path, digest: str) -> Path:
    algorithm, hex_digest = digest.split(":")
    return data_dir / "blobs" / algorithm / hex_digest[:2] / hex_digest


def _start(url: str, repo: str) -> str:
    response = admin_http.post(f"{url}/v2/{repo}/blobs/uploads/", timeout=10)
    assert response.status_code == 202
    assert response.headers["Docker-Upload-UUID"] in response.headers["Location"]
    return response.headers["Location"]


def test_docker_style_chunked_patch_then_empty_put(registry):
    repo = unique_repo("storage")
    location = _start(registry.url, repo)
    data = os.urandom(300_000)

    def body():
        for i in range(0, len(data), 70_000):
            yield data[i:i + 70_000]

    patched = admin_http.patch(registry.url + location, data=body(), timeout=30)
    assert patched.status_code == 202
    assert patched.headers["Range"] == f"0-{len(data) - 1}"
    done = admin_http.put(registry.url + location, params={"digest": sha256(data)}, timeout=30)
    assert done.status_code == 201
    assert done.headers["Docker-Content-Digest"] == sha256(data)
    fetched = admin_http.get(f"{registry.url}/v2/{repo}/blobs/{sha256(data)}", timeout=30)
    assert fetched.content == data


@pytest.mark.filesystem_layout  # test_storage_s3.py checks the bucket's layout
def test_blob_is_stored_once_under_its_digest_and_the_upload_is_gone(registry):
    data = os.urandom(50_000)
    first, second = unique_repo("dedup"), unique_repo("dedup")
    push_blob(registry.url, first, data)
    push_blob(registry.url, second, data)
    path = _blob_file(registry.data_dir, sha256(data))
    assert path.read_bytes() == data
    matches = list((registry.data_dir / "blobs").rglob(sha256(data).split(":")[1]))
    assert matches == [path]
    assert not [p for p in (registry.data_dir / "uploads").iterdir() if (p / "data").exists()
                and (p / "repository").read_text() in (first, second)]


def test_cross_repository_mount(registry):
    data = os.urandom(1000)
    source, target = unique_repo("mount"), unique_repo("mount")
    push_blob(registry.url, source, data)
    mounted = admin_http.post(f"{registry.url}/v2/{target}/blobs/uploads/",
                            params={"mount": sha256(data), "from": source}, timeout=10)
    assert mounted.status_code == 201
    assert mounted.headers["Location"].endswith(f"/v2/{target}/blobs/{sha256(data)}")
    assert mounted.headers["Docker-Content-Digest"] == sha256(data)
    head = admin_http.head(f"{registry.url}/v2/{target}/blobs/{sha256(data)}", timeout=10)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "1000"


def test_mount_of_a_blob_the_source_lacks_falls_back_to_an_upload(registry):
    data = os.urandom(100)
    source, target = unique_repo("mount"), unique_repo("mount")
    push_blob(registry.url, unique_repo("elsewhere"), data)
    for params in ({"mount": sha256(data), "from": source}, {"mount": sha256(data)}):
        response = admin_http.post(f"{registry.url}/v2/{target}/blobs/uploads/", params=params,
                                 timeout=10)
        assert response.status_code == 202
        assert "Docker-Upload-UUID" in response.headers


def test_blob_delete_unlinks_only_that_repository(registry):
    data = os.urandom(100)
    one, two = unique_repo("del"), unique_repo("del")
    push_blob(registry.url, one, data)
    push_blob(registry.url, two, data)
    deleted = admin_http.delete(f"{registry.url}/v2/{one}/blobs/{sha256(data)}", timeout=10)
    assert deleted.status_code == 202
    assert admin_http.head(f"{registry.url}/v2/{one}/blobs/{sha256(data)}",
                         timeout=10).status_code == 404
    assert admin_http.get(f"{registry.url}/v2/{two}/blobs/{sha256(data)}",
                        timeout=10).content == data


def test_sha512_monolithic_chunked_and_manifest(registry):
    repo = unique_repo("sha512")
    data = os.urandom(20_000)
    push_blob(registry.url, repo, data, sha512(data))
    chunked = os.urandom(10_000)
    location = _start(registry.url, repo)
    admin_http.patch(registry.url + location, data=chunked[:4000],
                   headers={"Content-Range": "0-3999"}, timeout=10)
    done = admin_http.put(registry.url + location, params={"digest": sha512(chunked)},
                        data=chunked[4000:], timeout=10)
    assert done.status_code == 201, done.text
    assert done.headers["Docker-Content-Digest"] == sha512(chunked)
    got = admin_http.get(f"{registry.url}/v2/{repo}/blobs/{sha512(chunked)}", timeout=10)
    assert got.content == chunked
    config = b"{}"
    push_blob(registry.url, repo, config)
    manifest = (
        b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":'
        + str(descriptor("application/vnd.oci.empty.v1+json", config)).replace("'", '"').encode()
        + b',"layers":[{"mediaType":"x","digest":"' + sha512(data).encode() + b'","size":'
        + str(len(data)).encode() + b"}]}"
    )
    reference = sha512(manifest)
    put = admin_http.put(f"{registry.url}/v2/{repo}/manifests/{reference}", data=manifest,
                       headers={"Content-Type": OCI_MANIFEST}, timeout=10)
    assert put.status_code == 201, put.text
    assert put.headers["Docker-Content-Digest"] == reference
    fetched = admin_http.get(f"{registry.url}/v2/{repo}/manifests/{reference}", timeout=10)
    assert fetched.content == manifest
    assert fetched.headers["Docker-Content-Digest"] == reference


def test_manifest_size_must_match_the_stored_blob(registry):
    repo = unique_repo("size")
    config = b"{}"
    push_blob(registry.url, repo, config)
    wrong = descriptor("application/vnd.oci.empty.v1+json", config)
    wrong["size"] = 3
    manifest = ('{"schemaVersion":2,"config":' + str(wrong).replace("'", '"')
                + ',"layers":[]}').encode()
    response = admin_http.put(f"{registry.url}/v2/{repo}/manifests/t", data=manifest,
                            headers={"Content-Type": OCI_MANIFEST}, timeout=10)
    assert response.status_code == 400
    assert error_code(response.content) == "MANIFEST_INVALID"


def test_accept_negotiation_by_tag(registry):
    image = push_image(registry.url, unique_repo("accept"))
    url = f"{registry.url}/v2/{image.repo}/manifests/latest"
    docker_only = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}
    refused = admin_http.get(url, headers=docker_only, timeout=10)
    assert refused.status_code == 404
    assert error_code(refused.content) == "MANIFEST_UNKNOWN"
    for accept in (OCI_MANIFEST, "*/*", f"{OCI_MANIFEST};q=0.9, text/plain"):
        ok = admin_http.get(url, headers={"Accept": accept}, timeout=10)
        assert ok.status_code == 200
        assert ok.headers["Content-Type"] == OCI_MANIFEST
    by_digest = admin_http.get(f"{registry.url}/v2/{image.repo}/manifests/{image.digest}",
                             headers=docker_only, timeout=10)
    assert by_digest.status_code == 200


def test_range_download(registry):
    repo = unique_repo("range")
    data = os.urandom(5000)
    digest = push_blob(registry.url, repo, data)
    url = f"{registry.url}/v2/{repo}/blobs/{digest}"
    part = admin_http.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/5000"
    tail = admin_http.get(url, headers={"Range": "bytes=-10"}, timeout=10)
    assert tail.content == data[-10:]


def test_big_download_whole_and_ranged_is_byte_exact(registry):
    """Bigger than the socket buffers and than one sendfile turn of a disk thread."""
    repo = unique_repo("bigpull")
    data = os.urandom(20 * 1024 * 1024 + 17)
    digest = push_blob(registry.url, repo, data)
    url = f"{registry.url}/v2/{repo}/blobs/{digest}"
    whole = admin_http.get(url, timeout=60)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == digest.split(":")[1]
    start, end = 3_000_001, 19_000_000
    part = admin_http.get(url, headers={"Range": f"bytes={start}-{end}"}, timeout=60)
    assert part.status_code == 206
    assert part.content == data[start:end + 1]


def test_stalled_downloads_hold_no_disk_thread(registry):
    """Clients that stop reading big blobs (more of them than there are disk threads)
    leave the registry free to serve others, and their downloads finish once they read."""
    repo = unique_repo("stalled")
    big = os.urandom(24 * 1024 * 1024)
    big_digest = push_blob(registry.url, repo, big)
    url = f"{registry.url}/v2/{repo}/blobs/{big_digest}"
    stalled = []
    try:
        for _ in range(6):
            response = admin_http.get(url, stream=True, timeout=30)
            assert response.status_code == 200
            stalled.append(response)
        time.sleep(0.5)  # their socket buffers fill; the registry waits for room
        small = os.urandom(100_000)
        small_digest = push_blob(registry.url, repo, small)
        answered = admin_http.get(f"{registry.url}/v2/{repo}/blobs/{small_digest}", timeout=10)
        assert answered.content == small
        for response in stalled:
            hasher = hashlib.sha256()
            for chunk in response.iter_content(1024 * 1024):
                hasher.update(chunk)
            assert hasher.hexdigest() == big_digest.split(":")[1]
    finally:
        for response in stalled:
            response.close()


def _private(start_registry, **env: str):
    return start_registry({f"HT_{k.upper()}": v for k, v in env.items()})


def test_stale_uploads_expire_with_their_files(start_registry):
    server = _private(start_registry, upload_expiry_seconds="1",
                      upload_sweep_interval_seconds="1")
    location = _start(server.url, "library/expiry")
    admin_http.patch(server.url + location, data=b"abc", timeout=10)
    upload_id = location.rsplit("/", 1)[1]
    assert (server.data_dir / "uploads" / upload_id / "data").exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not (server.data_dir / "uploads" / upload_id).exists():
            break
        time.sleep(0.2)
    assert not (server.data_dir / "uploads" / upload_id).exists()
    assert admin_http.get(server.url + location, timeout=10).status_code == 404


def test_upload_resumes_after_a_killed_process(start_registry, tmp_path):
    data_dir = tmp_path / "crash"
    server = start_registry(data_dir=data_dir)
    location = _start(server.url, "library/crash")
    data = os.urandom(2_000_000)
    address, port = server.host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)), timeout=10)
    token = server.auth_header(location)["Authorization"]
    sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:1_200_000])
    time.sleep(0.5)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    sock.close()
    restarted = start_registry(data_dir=data_dir)
    status = admin_http.get(restarted.url + location, timeout=10)
    assert status.status_code == 204
    held = int(status.headers["Range"].split("-")[1]) + 1
    assert 0 < held <= 1_200_000
    assert not _blob_file(data_dir, sha256(data)).exists()
    rest = admin_http.patch(restarted.url + location, data=data[held:],
                          headers={"Content-Range": f"{held}-{len(data) - 1}"}, timeout=30)
    assert rest.status_code == 202
    done = admin_http.put(restarted.url + location, params={"digest": sha256(data)}, timeout=30)
    assert done.status_code == 201, done.text
    assert _blob_file(data_dir, sha256(data)).read_bytes() == data


def test_x_accel_redirect_mode_answers_a_proxy_with_the_header_and_no_body(start_registry):
    server = _private(start_registry, blob_serving="x-accel-redirect",
                      x_accel_prefix="/_internal")
    data = os.urandom(4096)
    digest = push_blob(server.url, "library/accel", data)
    # a client that did not come through the proxy (replication on loopback) gets the bytes
    direct = admin_http.get(f"{server.url}/v2/library/accel/blobs/{digest}", timeout=10)
    assert direct.status_code == 200
    assert "X-Accel-Redirect" not in direct.headers
    assert direct.content == data
    response = admin_http.get(f"{server.url}/v2/library/accel/blobs/{digest}", timeout=10,
                              headers={"X-Forwarded-For": "192.0.2.7"})
    assert response.status_code == 200
    assert response.content == b""
    hex_digest = digest.split(":")[1]
    expected = f"/_internal/sha256/{hex_digest[:2]}/{hex_digest}"
    assert response.headers["X-Accel-Redirect"] == expected
    assert response.headers["Docker-Content-Digest"] == digest
    assert (server.data_dir / "blobs" / expected.removeprefix("/_internal/")).read_bytes() == data
    head = admin_http.head(f"{server.url}/v2/library/accel/blobs/{digest}", timeout=10)
    assert head.headers["Content-Length"] == "4096"


def test_locations_use_the_external_url(start_registry):
    server = _private(start_registry, external_url="https://registry.example.com")
    response = admin_http.post(f"{server.url}/v2/library/ext/blobs/uploads/", timeout=10)
    assert response.headers["Location"].startswith(
        "https://registry.example.com/v2/library/ext/blobs/uploads/")


def test_forwarded_headers_only_from_trusted_proxies(start_registry):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "reg.example.org"}
    trusted = _private(start_registry, trusted_proxies="127.0.0.1")
    response = admin_http.post(f"{trusted.url}/v2/library/fwd/blobs/uploads/", headers=forwarded,
                             timeout=10)
    assert response.headers["Location"].startswith("https://reg.example.org/v2/library/fwd/")
    untrusted = _private(start_registry, trusted_proxies="10.0.0.0/8")
    response = admin_http.post(f"{untrusted.url}/v2/library/fwd/blobs/uploads/", headers=forwarded,
                             timeout=10)
    assert response.headers["Location"].startswith("/v2/library/fwd/blobs/uploads/")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_large_upload_keeps_memory_flat(start_registry):
    server = start_registry()
    size = 256 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    baseline = _rss_kib(server.pid)
    peak = baseline

    def body():
        nonlocal peak
        for i in range(size // len(block)):
            digest.update(block)
            if i % 16 == 0:
                peak = max(peak, _rss_kib(server.pid))
            yield block

    location = _start(server.url, "library/memory")
    assert admin_http.patch(server.url + location, data=body(), timeout=120).status_code == 202
    done = admin_http.put(server.url + location, params={"digest": "sha256:" + digest.hexdigest()},
                        timeout=120)
    assert done.status_code == 201
    peak = max(peak, _rss_kib(server.pid))
    assert (peak - baseline) < 50 * 1024, f"RSS grew by {(peak - baseline) // 1024} MiB"


def test_registry_auth_none_is_an_open_registry(start_registry):
    server = _private(start_registry, registry_auth="none")
    data = os.urandom(64)
    response = requests.post(f"{server.url}/v2/open/repo/blobs/uploads/",
                             params={"digest": sha256(data)}, data=data, timeout=10)
    assert response.status_code == 201
    assert requests.get(f"{server.url}/v2/open/repo/blobs/{sha256(data)}",
                        timeout=10).content == data
