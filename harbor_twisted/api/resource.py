"""The twisted.web side: one leaf resource under ``/api`` that routes, authenticates, runs
the endpoint off the reactor's critical path (``NOT_DONE_YET``) and writes JSON.

Bad input of any kind answers 4xx with Harbor's error body; only a fault of ours is a 500,
logged with its traceback and answered without details.
"""

from __future__ import annotations

import json
import re
import uuid

from twisted.web.iweb import IRequest

from harbor_twisted.api import auth
from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.config import Config
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.sessions import SessionService
from harbor_twisted.web import cookies
from harbor_twisted.web.errors import (
    ApiError,
    harbor_error_response,
    harbor_internal_error,
    harbor_unavailable,
)
from harbor_twisted.web.http import Response
from harbor_twisted.web.metering import name_operation
from harbor_twisted.web.resource import AsyncResource

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ApiResource(AsyncResource):
    surface = "API"

    def __init__(
        self, router: Router, identity: IdentityService, config: Config,
        sessions: SessionService | None = None,
    ) -> None:
        super().__init__()
        self.router = router
        self.identity = identity
        self.config = config
        self.sessions = sessions  # portal sessions (``sid`` cookie), when the portal is served

    async def handle(self, request: IRequest) -> Response:
        return _response(await self._dispatch(request))

    def error_response(self, error: Exception) -> Response | None:
        return harbor_error_response(error)

    def internal_error(self) -> Response:
        return harbor_internal_error()

    def unavailable(self) -> Response:
        return harbor_unavailable()

    def finish_headers(self, request: IRequest, response: Response) -> None:
        request_id = request.getHeader("x-request-id") or ""
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        request.setHeader(b"X-Request-Id", request_id.encode())

    async def _dispatch(self, request: IRequest) -> Reply:
        try:
            raw_path = request.path.decode("ascii")
        except UnicodeDecodeError:
            raise ApiError(400, "the path must be percent-encoded ASCII") from None
        method = request.method.decode("ascii", "replace")
        route, handler, params = self.router.match(method, raw_path)
        name_operation(request, self.router.prefix + route.template)
        caller = await auth.caller_of(self.identity, self.sessions, request)
        if caller.session is not None:
            cookies.attach_csrf(self.config, request, caller.session,
                                cookie=request.method == b"GET")
        auth.check_csrf(request, caller)
        call = Call(request, params, caller.principal, auth.client_address(self.config, request))
        return await handler(call)


def _response(reply: Reply) -> Response:
    response = Response(reply.status, dict(reply.headers))
    if reply.data is not None:
        response.body = reply.data
    elif reply.text is not None:
        response.body = reply.text.encode("utf-8")
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
    elif reply.body is not None:
        response.body = json.dumps(reply.body).encode()
        response.headers["Content-Type"] = "application/json"
    return response
