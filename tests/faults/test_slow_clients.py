"""Slow and idle clients: closed after ``idle_timeout_seconds``, never in anyone's way."""

from __future__ import annotations

import os
import socket
import threading
import time

from tests.faults.process_stats import rss_kib, tcp_connections
from tests.support.oci import push_blob, sha256, unique_repo
from tests.support.server import admin_http

IDLE_CONNECTIONS = 500
MEMORY_BOUND_KIB = 64 * 1024  # 500 connections and a pull may cost this much, no more


def _connect(server) -> socket.socket:
    address, port = server.host.rsplit(":", 1)
    return socket.create_connection((address, int(port)), timeout=30)


def _seconds_until_closed(sock: socket.socket) -> float:
    """How long until the server closes ``sock`` (it must not answer anything)."""
    started = time.monotonic()
    assert sock.recv(4096) == b"", "the server answered a request that was never sent"
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed_after_the_idle_timeout(start_registry):
    server = start_registry({"HT_IDLE_TIMEOUT_SECONDS": "2"})
    silent, half_sent = _connect(server), _connect(server)
    half_sent.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    assert 1.5 <= _seconds_until_closed(silent) < 10
    assert _seconds_until_closed(half_sent) < 10
    silent.close()
    half_sent.close()


def _slow_upload(server, repo: str, data: bytes, outcome: dict[str, object]) -> None:
    """PATCH ``data`` one byte a second, then read the answer."""
    location = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/", timeout=10)
    token = server.auth_header(location.headers["Location"])["Authorization"]
    sock = _connect(server)
    sock.sendall(f"PATCH {location.headers['Location']} HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: {token}\r\nContent-Length: {len(data)}\r\n\r\n".encode())
    for byte in data:
        time.sleep(1)
        sock.sendall(bytes([byte]))
    outcome["answer"] = sock.recv(4096).split(b"\r\n\r\n")[0].decode()
    sock.close()


def test_idle_connections_and_a_byte_a_second_upload_block_no_one(start_registry):
    idle_timeout = 8
    server = start_registry({"HT_IDLE_TIMEOUT_SECONDS": str(idle_timeout)})
    repo = unique_repo("slow")
    blob = os.urandom(8 * 1024 * 1024)
    push_blob(server.url, repo, os.urandom(1024))  # warm up: token, database, first upload
    baseline = rss_kib(server.pid)

    slow: dict[str, object] = {}
    slow_bytes = b"x" * (idle_timeout + 4)  # lasts longer than the idle timeout
    uploader = threading.Thread(target=_slow_upload, args=(server, repo, slow_bytes, slow))
    uploader.start()
    idle = [_connect(server) for _ in range(IDLE_CONNECTIONS)]
    opened = time.monotonic()

    started = time.monotonic()
    digest = push_blob(server.url, repo, blob)
    pulled = admin_http.get(f"{server.url}/v2/{repo}/blobs/{digest}", timeout=30)
    took = time.monotonic() - started
    assert pulled.status_code == 200
    assert sha256(pulled.content) == digest
    assert time.monotonic() - opened < idle_timeout, "too slow to prove anything: idle sockets"
    assert tcp_connections(server.pid) >= IDLE_CONNECTIONS  # they were all still open
    grown = rss_kib(server.pid) - baseline
    assert grown < MEMORY_BOUND_KIB, f"RSS grew {grown} KiB with {IDLE_CONNECTIONS} idle sockets"
    print(f"push+pull of 8 MiB beside {IDLE_CONNECTIONS} idle sockets: {took:.2f}s; "
          f"RSS +{grown} KiB")

    for sock in idle:  # every idle socket is closed by the server, none answered
        sock.settimeout(idle_timeout + 15)
        assert sock.recv(1) == b""
        sock.close()
    uploader.join(timeout=len(slow_bytes) + 30)
    assert str(slow.get("answer", "")).startswith("HTTP/1.1 202"), slow
    assert f"Range: 0-{len(slow_bytes) - 1}" in str(slow["answer"])
    assert rss_kib(server.pid) - baseline < MEMORY_BOUND_KIB
