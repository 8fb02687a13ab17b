"""The /v2/ resource: routes each request to its handler and writes the answer.

The route was matched and validated, and the token checked, when the request's headers
arrived (see request.py); here the handler runs and its answer, or the registry error it
raised, is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.iweb import IRequest

from harbor_twisted.registry import blobs, listing, manifests, uploads
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.http import API_VERSION_HEADER, Response
from harbor_twisted.registry.names import Route
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.storage.digests import InvalidDigest, parse_digest

Handler = Callable[[RegistryApp, RegistryRequest, Route], Awaitable[Response]]
log = Logger(namespace="harbor_twisted.registry")


async def _base(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    return Response(200, {"Content-Type": "application/json"}, b"{}")


HANDLERS: dict[tuple[str, bytes], Handler] = {
    ("base", b"GET"): _base,
    ("base", b"HEAD"): _base,
    ("catalog", b"GET"): listing.catalog,
    ("upload_start", b"POST"): uploads.start_upload,
    ("upload", b"GET"): uploads.upload_status,
    ("upload", b"PATCH"): uploads.patch_upload,
    ("upload", b"PUT"): uploads.put_upload,
    ("upload", b"DELETE"): uploads.cancel_upload,
    ("manifest", b"GET"): manifests.get_manifest,
    ("manifest", b"HEAD"): manifests.get_manifest,
    ("manifest", b"PUT"): manifests.put_manifest,
    ("manifest", b"DELETE"): manifests.delete_manifest,
    ("tags", b"GET"): listing.list_tags,
    ("referrers", b"GET"): listing.referrers,
}


async def _blob(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    try:
        digest = parse_digest(route.argument)
    except InvalidDigest as exc:
        raise RegistryError("DIGEST_INVALID", str(exc), {"digest": route.argument[:160]}) from None
    if request.method == b"DELETE":
        return await blobs.delete_blob(app, request, route, digest)
    return await blobs.head_or_get_blob(app, request, route, digest)


for _method in (b"GET", b"HEAD", b"DELETE"):
    HANDLERS[("blob", _method)] = _blob


class RegistryResource(resource.Resource):
    """Routes on the raw path (see names.py) and answers every request itself."""

    isLeaf = True  # noqa: N815 - twisted's name

    def __init__(self, app: RegistryApp) -> None:
        super().__init__()
        self.app = app

    def render(self, request: IRequest) -> int:
        if not isinstance(request, RegistryRequest):
            raise TypeError("the registry answers RegistryRequests only (see services.py)")
        defer.ensureDeferred(self._answer(request))
        return server.NOT_DONE_YET

    async def _answer(self, request: RegistryRequest) -> None:
        try:
            response = await self._dispatch(request)
        except RegistryError as error:
            response = Response(error.status, dict(error.headers), error.body())
            response.headers["Content-Type"] = "application/json"
        except Exception:
            log.failure(
                "unexpected error answering {method} {uri}",
                Failure(),
                method=request.method,
                uri=request.uri,
            )
            error = RegistryError("UNKNOWN", "internal error; the registry logged the details")
            response = Response(500, {"Content-Type": "application/json"}, error.body())
        _write(request, response)

    async def _dispatch(self, request: RegistryRequest) -> Response:
        if request.body_error is not None:
            raise request.body_error
        route = request.route
        if route is None:
            raise RegistryError("UNSUPPORTED", "no such registry endpoint", status=404)
        handler = HANDLERS.get((route.kind, request.method))
        if handler is None:
            raise RegistryError(
                "UNSUPPORTED",
                f"{request.method.decode('latin-1')[:16]} is not supported here",
                status=405,
            )
        if request.route_error is not None:
            raise request.route_error
        if self.app.authorizer is not None and request.grant is None:
            request.grant = self.app.authorizer.authorize(request, route)
        return await handler(self.app, request, route)


def _write(request: RegistryRequest, response: Response) -> None:
    if request._disconnected or request.finished:
        if response.producer is not None:
            response.producer.stopProducing()
        return
    request.setResponseCode(response.status)
    request.setHeader(*API_VERSION_HEADER)
    for name, value in response.headers.items():
        request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
    if response.producer is not None:
        request.setHeader(b"Content-Length", str(response.content_length).encode())
        response.producer.start(request)
        return
    if response.content_length is not None and not response.body:
        request.setHeader(b"Content-Length", str(response.content_length).encode())
    else:
        request.setHeader(b"Content-Length", str(len(response.body)).encode())
        if request.method != b"HEAD":
            request.write(response.body)
    request.finish()
