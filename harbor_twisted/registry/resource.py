"""The /v2/ resource: routes each request to its handler and writes the answer.

The route was matched and validated, and the token checked, when the request's headers
arrived (see request.py); Basic credentials of a request without an upload body are checked
here, off the reactor; then the handler runs and its answer, or the registry error it
raised, is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from twisted.web.iweb import IRequest

from harbor_twisted.common.names import Route
from harbor_twisted.registry import blobs, listing, manifests, uploads
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.storage.base import LockTimeout
from harbor_twisted.storage.digests import InvalidDigest, parse_digest
from harbor_twisted.web.http import API_VERSION_HEADER, Response
from harbor_twisted.web.resource import AsyncResource

LOCK_RETRY_AFTER_SECONDS = 10  # a blob's lock held past the wait: a commit elsewhere, soon done

Handler = Callable[[RegistryApp, RegistryRequest, Route], Awaitable[Response]]


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


class RegistryResource(AsyncResource):
    """Routes on the raw path (see common/names.py) and answers every request itself."""

    surface = "registry"

    def __init__(self, app: RegistryApp) -> None:
        super().__init__()
        self.app = app

    async def handle(self, request: IRequest) -> Response:
        if not isinstance(request, RegistryRequest):
            raise TypeError("the registry answers RegistryRequests only (see services.py)")
        return await self._dispatch(request)

    def error_response(self, error: Exception) -> Response | None:
        if isinstance(error, LockTimeout):  # another host holds the blob's lock that long
            error = RegistryError("UNAVAILABLE", f"{error}; retry later", status=503,
                                  headers={"Retry-After": str(LOCK_RETRY_AFTER_SECONDS)})
        if not isinstance(error, RegistryError):
            return None
        response = Response(error.status, dict(error.headers), error.body())
        response.headers["Content-Type"] = "application/json"
        return response

    def internal_error(self) -> Response:
        error = RegistryError("UNKNOWN", "internal error; the registry logged the details")
        return Response(500, {"Content-Type": "application/json"}, error.body())

    def unavailable(self) -> Response:
        error = RegistryError("UNAVAILABLE", "the registry's database is unavailable; retry later",
                              status=503)
        return Response(503, {"Content-Type": "application/json"}, error.body())

    def finish_headers(self, request: IRequest, response: Response) -> None:
        request.setHeader(*API_VERSION_HEADER)

    async def _dispatch(self, request: RegistryRequest) -> Response:
        if request.authorizing is not None:
            await request.authorizing
        if request.auth_error is not None:
            raise request.auth_error
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
            request.grant = await self.app.authorizer.authorize_any(
                request, route, request.raw_query
            )
        return await handler(self.app, request, route)
