"""The metrics listener: Prometheus's text format at one path of a port of its own.

As Harbor does (``metric: port/path`` in harbor.yml), metrics are not on the service's port:
the service's port faces clients through nginx, this one faces the monitoring system. Each
scrape is built in a thread: with several workers it reads every worker's files.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import threads
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http, resource, server
from twisted.web.iweb import IRequest

from harbor_twisted.common import metrics

log = Logger(namespace="harbor_twisted.web.metrics")


class MetricsResource(resource.Resource):
    isLeaf = True  # noqa: N815 - twisted's name

    def __init__(self, path: str, before_scrape: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.path = path.encode("ascii")
        self.before_scrape = before_scrape  # this process's request tallies, handed over

    def render_GET(self, request: IRequest) -> bytes | int:  # noqa: N802 - twisted's name
        if request.path != self.path:
            request.setResponseCode(http.NOT_FOUND)
            return b"not found\n"
        if self.before_scrape is not None:
            self.before_scrape()
        d = threads.deferToThread(metrics.scrape)
        d.addCallbacks(self._answer, self._failed, callbackArgs=(request,),
                       errbackArgs=(request,))
        return server.NOT_DONE_YET

    def _answer(self, body: bytes, request: IRequest) -> None:
        if getattr(request, "_disconnected", False):
            return
        request.setHeader(b"Content-Type", metrics.CONTENT_TYPE.encode("ascii"))
        request.setHeader(b"Content-Length", str(len(body)).encode("ascii"))
        if request.method != b"HEAD":
            request.write(body)
        request.finish()

    def _failed(self, failure: Failure, request: IRequest) -> None:
        log.failure("collecting metrics failed", failure)
        if getattr(request, "_disconnected", False):
            return
        request.setResponseCode(http.INTERNAL_SERVER_ERROR)
        request.finish()


class MetricsSite(server.Site):
    noisy = False

    def log(self, request: http.Request) -> None:
        """No access lines: a scrape every few seconds would fill the log."""


def metrics_site(path: str, before_scrape: Callable[[], None] | None = None) -> MetricsSite:
    return MetricsSite(MetricsResource(path, before_scrape))
