"""Clients that vanish mid-transfer leave no file handle, thread, lock or upload behind."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.faults.process_stats import open_files, thread_count, threads_waiting_on_file_locks
from tests.support.oci import push_blob, sha256, unique_repo
from tests.support.server import admin_http

DISCONNECTS = 1000
MAX_THREADS = 16  # the reactor and the bounded pools: disk 4, database 4, job service
BODY = 4 * 1024 * 1024  # announced; a third of it is sent before the client goes away


def _connect(server) -> socket.socket:
    address, port = server.host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    return sock


def _vanish(sock: socket.socket) -> None:
    """Go away without a FIN handshake, as a killed client does (RST)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


class Transfers:
    """The three ways a transfer is cut short, each as one raw HTTP exchange."""

    def __init__(self, server, repo: str, blob_digest: str) -> None:
        self.server = server
        self.repo = repo
        self.blob_digest = blob_digest
        self.shared = self.new_upload()  # one session many requests give up on
        self.chunk = os.urandom(BODY // 3)
        self.answered_early = 0  # PATCHes of the shared upload refused while it was busy

    def new_upload(self) -> str:
        response = admin_http.post(f"{self.server.url}/v2/{self.repo}/blobs/uploads/", timeout=10)
        assert response.status_code == 202
        return response.headers["Location"]

    def _start(self, method: str, path: str, length: int | None = None) -> socket.socket:
        token = self.server.auth_header(path.split("?")[0])["Authorization"]
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
        if length is not None:
            head += f"Content-Length: {length}\r\n"
        sock = _connect(self.server)
        sock.sendall(head.encode() + b"\r\n")
        return sock

    def mid_patch(self, location: str) -> None:
        sock = self._start("PATCH", location, BODY)
        if location == self.shared:
            self._send_unless_answered(sock)
        else:
            sock.sendall(self.chunk)
        _vanish(sock)

    def _send_unless_answered(self, sock: socket.socket) -> None:
        """Send the third of the body, unless the server answers first: the abandoned PATCH
        before this one may still hold the shared upload (its writer closes in a disk
        thread), and then the server refuses this one at once and closes the connection."""
        try:
            sock.sendall(self.chunk)
        except (BrokenPipeError, ConnectionResetError):
            try:
                answer = sock.recv(65536)
            except ConnectionResetError:
                answer = b""  # the reset discarded the answer; nothing more to check
            assert not answer.startswith(b"HTTP/1.1 5"), answer[:500]
            self.answered_early += 1

    def mid_monolithic(self) -> None:
        path = f"/v2/{self.repo}/blobs/uploads/?digest={sha256(os.urandom(8))}"
        sock = self._start("POST", path, BODY)
        sock.sendall(self.chunk)
        _vanish(sock)

    def mid_download(self) -> None:
        sock = self._start("GET", f"/v2/{self.repo}/blobs/{self.blob_digest}")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        _vanish(sock)

    def ways(self) -> list[Callable[[], None]]:
        return [
            lambda: self.mid_patch(self.shared),
            lambda: self.mid_patch(self.new_upload()),
            self.mid_monolithic,
            self.mid_download,
        ]


def _settled(pid: int, baseline_fds: int) -> dict[int, str]:
    """The process's descriptors once it has caught up with the disconnects."""
    deadline = time.monotonic() + 20
    while True:
        held = open_files(pid)
        if len(held) <= baseline_fds or time.monotonic() > deadline:
            return held
        time.sleep(0.2)


def test_a_thousand_disconnects_leave_nothing_behind(start_registry):
    server = start_registry({"HT_UPLOAD_EXPIRY_SECONDS": "10",
                             "HT_UPLOAD_SWEEP_INTERVAL_SECONDS": "1"})
    repo = unique_repo("vanish")
    blob = os.urandom(16 * 1024 * 1024)  # larger than any socket buffer: the GET is cut short
    digest = push_blob(server.url, repo, blob)
    transfers = Transfers(server, repo, digest)
    ways = transfers.ways()
    # warm up, 8 at a time so the thread pools grow: token cache, lock files, threads
    with ThreadPoolExecutor(8) as clients:
        list(clients.map(lambda way: way(), [w for w in ways if w != ways[0]] * 8))
    time.sleep(1)
    baseline = open_files(server.pid)

    started = time.monotonic()
    threads: list[int] = []
    for _half in range(2):
        for i in range(DISCONNECTS // 2):
            ways[i % len(ways)]()
        threads.append(thread_count(server.pid))
    took = time.monotonic() - started
    # a refusal is a race lost to the previous abandoned PATCH, not the rule
    assert transfers.answered_early < DISCONNECTS // 8, transfers.answered_early

    held = _settled(server.pid, len(baseline))
    leaked = {fd: target for fd, target in held.items() if baseline.get(fd) != target}
    assert len(held) <= len(baseline), f"descriptors left behind: {leaked}"
    # the pools (disk, database, jobs) are bounded; a thread per lost client is not
    assert thread_count(server.pid) <= threads[0] + 1 <= MAX_THREADS, threads
    assert not threads_waiting_on_file_locks(server.pid)
    # no lock left: the session every fourth request gave up on takes a chunk and completes
    location = transfers.shared
    status = admin_http.get(server.url + location, timeout=10)
    assert status.status_code == 204
    size = int(status.headers["Range"].split("-")[1]) + 1
    tail = b"tail"
    patched = admin_http.patch(server.url + location, data=tail, timeout=10,
                               headers={"Content-Range": f"{size}-{size + len(tail) - 1}"})
    assert patched.status_code == 202, patched.text
    # and nothing half-done remains: what was kept of the abandoned uploads expires
    deadline = time.monotonic() + 60
    uploads = server.data_dir / "uploads"
    while any(uploads.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(uploads.iterdir()), sorted(p.name for p in uploads.iterdir())[:5]
    pulled = admin_http.get(f"{server.url}/v2/{repo}/blobs/{digest}", timeout=30)
    assert sha256(pulled.content) == digest
    print(f"{DISCONNECTS} disconnects in {took:.1f}s; fds {len(baseline)} -> {len(held)}; "
          f"{transfers.answered_early} refused while busy")
