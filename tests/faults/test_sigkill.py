"""SIGKILL of the all-in-one during 50 concurrent pushes, on SQLite and on PostgreSQL.

Acknowledged means durable: after a restart every blob and manifest a client got a 201 for
is served with its digest, every chunk a client got a 202 for is still in its upload (which
resumes), and what nobody acknowledged leaves nothing half-done: no blob file whose bytes
do not match its name, and abandoned uploads expire.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.support.oci import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, sha256

CLIENTS = 50
CHUNK = 128 * 1024
KILL_AFTER_MANIFESTS = 30  # enough pushes completed for the kill to land among busy ones


@dataclass
class Acknowledged:
    blobs: dict[str, str] = field(default_factory=dict)  # digest -> repository
    manifests: dict[str, tuple[str, str]] = field(default_factory=dict)  # digest -> (repo, tag)
    # a chunked upload cut short: its path, its bytes, how many a 202 acknowledged
    open_uploads: list[tuple[str, bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Pusher:
    """One client pushing images (monolithic and chunked layers, then the manifest) until
    the server goes away."""

    def __init__(self, server, number: int, acked: Acknowledged) -> None:
        self.base = server.url
        self.repo = f"library/kill/c{number}"
        self.session = requests.Session()
        self.session.auth = server.auth  # one token cache, shared safely
        self.acked = acked

    def run(self) -> None:
        try:
            for round_number in range(10_000):
                self.push_image(round_number)
        except (requests.ConnectionError, requests.Timeout, AssertionError):
            return  # the process was killed

    def _blob_url(self) -> str:
        return f"{self.base}/v2/{self.repo}/blobs/uploads/"

    def monolithic(self, data: bytes) -> None:
        response = self.session.post(self._blob_url(), params={"digest": sha256(data)},
                                     data=data, timeout=30)
        assert response.status_code == 201, response.text
        with self.acked.lock:
            self.acked.blobs[sha256(data)] = self.repo

    def chunked(self, data: bytes) -> None:
        started = self.session.post(self._blob_url(), timeout=30)
        assert started.status_code == 202
        path = started.headers["Location"]
        location = self.base + path
        acknowledged = 0
        try:
            for offset in range(0, len(data), CHUNK):
                piece = data[offset:offset + CHUNK]
                patched = self.session.patch(location, data=piece, timeout=30, headers={
                    "Content-Range": f"{offset}-{offset + len(piece) - 1}"})
                assert patched.status_code == 202, patched.text
                acknowledged = offset + len(piece)
            done = self.session.put(location, params={"digest": sha256(data)}, timeout=30)
            assert done.status_code == 201, done.text
        except (requests.ConnectionError, requests.Timeout):
            with self.acked.lock:
                self.acked.open_uploads.append((path, data, acknowledged))
            raise
        with self.acked.lock:
            self.acked.blobs[sha256(data)] = self.repo

    def push_image(self, round_number: int) -> None:
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "repo": self.repo, "round": round_number}).encode()
        layers = [os.urandom(300 * 1024), os.urandom(4 * CHUNK + 1000)]
        self.monolithic(config)
        self.monolithic(layers[0])
        self.chunked(layers[1])
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
        }).encode()
        tag = f"r{round_number}"
        response = self.session.put(f"{self.base}/v2/{self.repo}/manifests/{tag}", data=manifest,
                                    headers={"Content-Type": OCI_MANIFEST}, timeout=30)
        assert response.status_code == 201, response.text
        with self.acked.lock:
            self.acked.manifests[sha256(manifest)] = (self.repo, tag)


def _push_and_kill(server) -> Acknowledged:
    acked = Acknowledged()
    pushers = [Pusher(server, number, acked) for number in range(CLIENTS)]
    threads = [threading.Thread(target=pusher.run) for pusher in pushers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acked.manifests) < KILL_AFTER_MANIFESTS and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=60)
    assert len(acked.manifests) >= KILL_AFTER_MANIFESTS
    return acked


def _served(session: requests.Session, base: str, repo: str, reference: str, kind: str,
            accept: str = "") -> str:
    response = session.get(f"{base}/v2/{repo}/{kind}/{reference}", timeout=30,
                           headers={"Accept": accept} if accept else {})
    assert response.status_code == 200, (repo, reference, response.status_code)
    return sha256(response.content)


def _blob_files_match_their_names(data_dir: Path) -> None:
    for path in (data_dir / "blobs" / "sha256").glob("*/*"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path


def _resume(session: requests.Session, location: str, data: bytes, acknowledged: int) -> None:
    status = session.get(location, timeout=30)
    if status.status_code == 404 and acknowledged == len(data):
        # the closing PUT was in flight: it either completed, blob and all, or left the upload
        blob = location.split("/uploads/")[0] + "/" + sha256(data)
        assert session.head(blob, timeout=30).status_code == 200, "upload gone, blob missing"
        return
    assert status.status_code == 204, (location, status.status_code)
    held = int(status.headers["Range"].split("-")[1]) + 1
    assert acknowledged <= held <= len(data), (acknowledged, held)  # acknowledged bytes stayed
    if held < len(data):
        rest = session.patch(location, data=data[held:], timeout=30,
                             headers={"Content-Range": f"{held}-{len(data) - 1}"})
        assert rest.status_code == 202, rest.text
    done = session.put(location, params={"digest": sha256(data)}, timeout=30)
    assert done.status_code == 201, done.text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_fifty_concurrent_pushes_loses_nothing_acknowledged(
    backend, start_registry, tmp_path, request
):
    database_url = ""
    if backend == "postgresql":
        database_url = request.getfixturevalue("postgres_cluster").create_database()
    data_dir = tmp_path / "killed"
    started = time.monotonic()
    acked = _push_and_kill(start_registry(data_dir=data_dir, database_url=database_url))

    restarted = start_registry(data_dir=data_dir, database_url=database_url)
    session = requests.Session()
    session.auth = restarted.auth
    base = restarted.url
    with ThreadPoolExecutor(8) as pool:
        blobs = pool.map(lambda item: (item[0], _served(session, base, item[1], item[0], "blobs")),
                         acked.blobs.items())
        assert all(digest == served for digest, served in blobs)
        for digest, (repo, tag) in acked.manifests.items():
            assert _served(session, base, repo, tag, "manifests", OCI_MANIFEST) == digest
            assert _served(session, base, repo, digest, "manifests", OCI_MANIFEST) == digest
    _blob_files_match_their_names(data_dir)
    for path, data, acknowledged in acked.open_uploads:
        _resume(session, base + path, data, acknowledged)

    # what nobody will resume expires, files and all
    restarted.stop()
    expiring = start_registry({"HT_UPLOAD_EXPIRY_SECONDS": "1",
                               "HT_UPLOAD_SWEEP_INTERVAL_SECONDS": "1"},
                              data_dir=data_dir, database_url=database_url)
    uploads = data_dir / "uploads"
    deadline = time.monotonic() + 30
    while any(uploads.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not any(uploads.iterdir())
    session.auth = expiring.auth
    for digest, (repo, tag) in list(acked.manifests.items())[:5]:  # expiry took nothing kept
        assert _served(session, expiring.url, repo, tag, "manifests", OCI_MANIFEST) == digest
    print(f"{backend}: {len(acked.blobs)} blobs, {len(acked.manifests)} manifests acknowledged, "
          f"{len(acked.open_uploads)} uploads resumed; {time.monotonic() - started:.1f}s")
