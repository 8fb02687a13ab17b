"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread that records
every request it gets and can be told to fail the next few on a path."""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.tls_ca import ServerCertificate


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """``tls``: serve HTTPS with that certificate (its CA decides who trusts it)."""

    def __init__(self, tls: ServerCertificate | None = None) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._failures: dict[str, tuple[int, int]] = {}  # path -> (times left, status)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._record(Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.cert_file, tls.key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def new_path(self) -> str:
        return f"/hook/{uuid.uuid4().hex[:12]}"

    def url(self, path: str) -> str:
        return self.base + path

    def fail(self, path: str, times: int, status: int = 500) -> None:
        with self._lock:
            self._failures[path] = (times, status)

    def _record(self, received: Received) -> int:
        with self._lock:
            self._received.append(received)
            left, status = self._failures.get(received.path, (0, 200))
            if left > 0:
                self._failures[received.path] = (left - 1, status)
                return status
            return 200

    def requests(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if r.path == path]

    def wait(self, path: str, match: Callable[[Received], bool] = lambda r: True,
             count: int = 1, timeout: float = 30.0) -> list[Received]:
        """The requests on ``path`` that ``match``, once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.requests(path) if match(r)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [(r.json.get("type") if r.body else None) for r in self.requests(path)]
                raise AssertionError(f"{path}: {len(found)} of {count} expected requests "
                                     f"after {timeout}s; got types {seen}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running_receiver(tls: ServerCertificate | None = None) -> Iterator[Receiver]:
    """For fixtures: a receiver that is stopped afterwards."""
    receiver = Receiver(tls)
    try:
        yield receiver
    finally:
        receiver.stop()


def of_type(event_type: str) -> Callable[[Received], bool]:
    return lambda r: r.json.get("type") == event_type
