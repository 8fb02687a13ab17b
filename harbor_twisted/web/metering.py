"""Request metrics: in flight, counted by route and status, latency, bytes in and out.

Recorded on the reactor in constant time per request (no per-chunk work beyond adding a
length): label children are looked up once and kept, and every label value comes from a
bounded set — route names and templates, known methods, status codes — never from the raw
path, so a client cannot grow the number of series.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.python.failure import Failure
from twisted.web import server

from harbor_twisted.common import metrics

KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"))
CLIENT_CLOSED = "499"  # nginx's code for a client that left before its answer was sent
# core requests the API did not name (its 404s, the token service, portal pages), by prefix
_SURFACES = (("/api/", "/api/*"), ("/service/token", "/service/token"), ("/c/", "/c/*"),
             ("/harbor", "/harbor/*"), ("/v2", "/v2/*"))


def surface_of(path: bytes) -> str:
    """The operation label of a request no route named: its surface, by path prefix."""
    text = path.decode("latin-1")
    if text == "/":
        return "/"
    for prefix, name in _SURFACES:
        if text.startswith(prefix):
            return name
    return "other"


class HttpMeter:
    """Records the requests of one process into the families of common/metrics.py."""

    def __init__(self) -> None:
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def _child(self, family: Any, *values: str) -> Any:
        key = (family, values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*values) if values else family
        return child

    def begin(self, handler: str | None) -> None:
        if handler is None:
            self._child(metrics.CORE_IN_FLIGHT).inc()
        else:
            self._child(metrics.REGISTRY_IN_FLIGHT, handler).inc()

    def end(self, handler: str | None, operation: str, method: str, code: str,
            seconds: float, received: int, sent: int) -> None:
        if handler is None:
            self._child(metrics.CORE_IN_FLIGHT).dec()
            self._child(metrics.CORE_REQUESTS, method, code, operation).inc()
            self._child(metrics.CORE_DURATION, method, operation).observe(seconds)
            return
        self._child(metrics.REGISTRY_IN_FLIGHT, handler).dec()
        self._child(metrics.REGISTRY_REQUESTS, code, handler, method).inc()
        self._child(metrics.REGISTRY_DURATION, handler, method).observe(seconds)
        self._child(metrics.REGISTRY_REQUEST_SIZE, handler).observe(received)
        self._child(metrics.REGISTRY_RESPONSE_SIZE, handler).observe(sent)


class MeteredRequest(server.Request):
    """A request that reports itself to a meter once it is answered or abandoned.

    ``begin_metering`` is called when the headers are in (the route is known then); the
    registry names its route there, the API its template in ``operation`` later.
    """

    def __init__(self, channel: Any, *args: Any, meter: HttpMeter | None = None) -> None:
        super().__init__(channel, *args)
        self.meter = meter
        self.started = time.perf_counter()
        self.received_bytes = 0
        self.handler: str | None = None  # the registry route's name; None: a core request
        self.operation: str | None = None  # the API route template, when the API matched one
        self._metering = False
        self._method = "other"
        self._path = b""

    def begin_metering(self, handler: str | None, method: bytes, raw_path: bytes) -> None:
        """Called from ``gotLength``: method and path are known, the body is still to come
        (twisted sets ``method`` and ``path`` only once the body is in)."""
        if self.meter is None:
            return
        self.handler = handler
        text = method.decode("latin-1")
        self._method = text if text in KNOWN_METHODS else "other"
        self._path = raw_path
        self._metering = True
        self.meter.begin(handler)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - twisted's name
        self.received_bytes += len(data)
        super().handleContentChunk(data)

    def finish(self) -> None:
        super().finish()
        self._end_metering(str(self.code))

    def connectionLost(self, reason: Failure) -> None:  # noqa: N802 - twisted's name
        code = str(self.code) if self.startedWriting else CLIENT_CLOSED
        super().connectionLost(reason)
        self._end_metering(code)

    def _end_metering(self, code: str) -> None:
        if not self._metering or self.meter is None:
            return
        self._metering = False
        operation = self.operation or surface_of(self._path)
        self.meter.end(self.handler, operation, self._method, code,
                       time.perf_counter() - self.started, self.received_bytes,
                       self.sentLength)


def name_operation(request: object, template: str) -> None:
    """The API names the route template a request matched (the ``operation`` label)."""
    if isinstance(request, MeteredRequest):
        request.operation = template
