"""The one asynchronous resource every HTTP surface builds on.

twisted.web calls ``render`` synchronously; a surface's work is a coroutine. This base runs
the coroutine (``NOT_DONE_YET``), turns what it raises into the surface's own error answer
(Harbor JSON for the API and the portal's sessions, HTML pages for the portal's pages, OCI
errors for the registry, the token service's JSON), logs faults of ours with their
traceback, and writes the answer — a body, or a producer that streams one (blob downloads) —
unless the client has gone away.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.iweb import IRequest

from harbor_twisted.db.availability import RETRY_AFTER_SECONDS, database_unavailable
from harbor_twisted.web.http import Response

log = Logger(namespace="harbor_twisted.web")


class AsyncResource(resource.Resource):
    """A leaf resource answering every method through :meth:`handle`.

    Subclasses give ``handle`` (the work), ``error_response`` (their error format for the
    exceptions they know; None for any other, which becomes ``internal_error``) and may add
    headers to every answer in ``finish_headers``.
    """

    isLeaf = True  # noqa: N815 - twisted's name
    surface = "HTTP"  # names the surface in log lines

    def render(self, request: IRequest) -> int:
        defer.ensureDeferred(self._answer_request(request))
        return server.NOT_DONE_YET

    async def handle(self, request: IRequest) -> Response:
        raise NotImplementedError

    def error_response(self, error: Exception) -> Response | None:
        """The answer for an error the surface expects; None for a fault of ours."""
        return None

    def internal_error(self) -> Response:
        """The answer for a fault of ours: no details (they are in the log)."""
        return Response(500, {"Content-Type": "text/plain; charset=utf-8"}, b"internal error")

    def unavailable(self) -> Response:
        """The answer while the database is away (``Retry-After`` is added to it)."""
        return Response(503, {"Content-Type": "text/plain; charset=utf-8"},
                        b"the database is unavailable; retry later")

    def finish_headers(self, request: IRequest, response: Response) -> None:
        """Headers every answer of this surface carries (override to add some)."""

    async def _answer_request(self, request: IRequest) -> None:
        try:
            response = await self.handle(request)
        except Exception as error:
            known = self.error_response(error)
            if known is None and database_unavailable(error):
                log.warn("{surface} request {method} {uri}: database unavailable: {error}",
                         surface=self.surface, method=request.method, uri=request.uri,
                         error=str(error).splitlines()[0][:200])
                known = self.unavailable()
                known.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            if known is None:
                log.failure("{surface} request {method} {uri} failed", Failure(),
                            surface=self.surface, method=request.method, uri=request.uri)
                known = self.internal_error()
            response = known
        try:
            write_response(request, response, self.finish_headers)
        except Exception:  # the client went away mid-answer: nothing left to tell it
            log.failure("writing the {surface} answer failed", Failure(), surface=self.surface)


def write_response(request: IRequest, response: Response,
                   finish_headers: Callable[[IRequest, Response], None] | None = None) -> None:
    """Status, headers and body (or the producer's stream); nothing if the client left."""
    if getattr(request, "_disconnected", False) or getattr(request, "finished", False):
        if response.producer is not None:
            response.producer.stopProducing()
        return
    request.setResponseCode(response.status)
    if finish_headers is not None:
        finish_headers(request, response)
    for name, value in response.headers.items():
        request.setHeader(name.encode("latin-1"), value.encode("latin-1", "replace"))
    if response.producer is not None:
        request.setHeader(b"Content-Length", str(response.content_length).encode())
        response.producer.start(request)
        return
    if response.content_length is not None and not response.body:
        request.setHeader(b"Content-Length", str(response.content_length).encode())
    else:
        request.setHeader(b"Content-Length", str(len(response.body)).encode())
        if response.body and request.method != b"HEAD":
            request.write(response.body)
    request.finish()
