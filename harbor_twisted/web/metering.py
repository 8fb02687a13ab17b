"""Request metrics: in flight, counted by route and status, latency, bytes in and out.

Tallied on the reactor in constant time per request (no per-chunk work beyond adding a
length) and handed to prometheus_client once a second (``HttpMeter``). Every label value
comes from a bounded set — route names and templates, known methods, status codes — never
from the raw path, so a client cannot grow the number of series.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from typing import Any

from twisted.python.failure import Failure
from twisted.web import server

from harbor_twisted.common import metrics

KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"))
METER_FLUSH_SECONDS = 1.0
DURATIONS = metrics.DURATION_BUCKETS
SIZES = metrics.SIZE_BUCKETS
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


class _Histogram:
    """Observations not yet handed to a prometheus histogram: their sum, and a count per
    bucket (not cumulative, as prometheus_client keeps them)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.total = 0.0
        self.counts = [0] * (len(bounds) + 1)

    def observe(self, value: float) -> None:
        self.total += value
        self.counts[bisect.bisect_left(self.bounds, value)] += 1

    def hand_to(self, child: Any) -> None:
        # prometheus_client has no bulk observe: its histogram child's sum and bucket
        # values (the bound +Inf last) take the batch; pinned to prometheus-client < 1
        child._sum.inc(self.total)
        for index, count in enumerate(self.counts):
            if count:
                child._buckets[index].inc(count)


class _Tally:
    """The requests of one label set (method, code and route) since the last flush."""

    __slots__ = ("count", "duration", "received", "sent")

    def __init__(self) -> None:
        self.count = 0
        self.duration = _Histogram(DURATIONS)
        self.received = _Histogram(SIZES)
        self.sent = _Histogram(SIZES)


class HttpMeter:
    """Tallies the requests of one process and hands them to the families of
    common/metrics.py once a second (``flush``) and before each scrape of this process.

    Updating a prometheus_client histogram costs microseconds (a lock, a scan of the buckets,
    with several workers a write to a mapped file); per request that was 25-50 µs for the
    registry's five families. A tally is one dict lookup and a few additions, so requests
    pay a few µs and the flush the rest, once per label set per second.
    """

    def __init__(self) -> None:
        self._in_flight: dict[str | None, int] = {}
        self._tallies: dict[tuple[str | None, str, str, str], _Tally] = {}

    def begin(self, handler: str | None) -> None:
        self._in_flight[handler] = self._in_flight.get(handler, 0) + 1

    def end(self, handler: str | None, operation: str, method: str, code: str,
            seconds: float, received: int, sent: int) -> None:
        self._in_flight[handler] -= 1
        key = (handler, operation, method, code)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally()
        tally.count += 1
        tally.duration.observe(seconds)
        if handler is not None:
            tally.received.observe(received)
            tally.sent.observe(sent)

    def flush(self) -> None:
        """Hand the tallies to prometheus_client (on the reactor: memory, or a worker's own
        mapped files, never a blocking call)."""
        for handler, count in self._in_flight.items():
            if handler is None:
                metrics.CORE_IN_FLIGHT.set(count)
            else:
                metrics.REGISTRY_IN_FLIGHT.labels(handler).set(count)
        tallies = list(self._tallies.items())
        self._tallies.clear()
        for (handler, operation, method, code), tally in tallies:
            if handler is None:
                metrics.CORE_REQUESTS.labels(method, code, operation).inc(tally.count)
                tally.duration.hand_to(metrics.CORE_DURATION.labels(method, operation))
                continue
            metrics.REGISTRY_REQUESTS.labels(code, handler, method).inc(tally.count)
            tally.duration.hand_to(metrics.REGISTRY_DURATION.labels(handler, method))
            tally.received.hand_to(metrics.REGISTRY_REQUEST_SIZE.labels(handler))
            tally.sent.hand_to(metrics.REGISTRY_RESPONSE_SIZE.labels(handler))


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
