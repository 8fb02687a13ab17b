"""The twisted.web side: one leaf resource under ``/api`` that routes, authenticates, runs
the endpoint off the reactor's critical path (``NOT_DONE_YET``) and writes JSON.

Bad input of any kind answers 4xx with Harbor's error body; only a fault of ours is a 500,
logged with its traceback and answered without details.
"""

from __future__ import annotations

import json
import re
import uuid

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.iweb import IRequest

from harbor_twisted.api import auth
from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.errors import ApiError, error_document, from_service_error
from harbor_twisted.api.routing import Router
from harbor_twisted.config import Config
from harbor_twisted.core.errors import ServiceError
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.sessions import SessionService
from harbor_twisted.portal import cookies

log = Logger(namespace="harbor_twisted.api")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class ApiResource(resource.Resource):
    isLeaf = True  # noqa: N815 - twisted's name

    def __init__(
        self, router: Router, identity: IdentityService, config: Config,
        sessions: SessionService | None = None,
    ) -> None:
        super().__init__()
        self.router = router
        self.identity = identity
        self.config = config
        self.sessions = sessions  # portal sessions (``sid`` cookie), when the portal is served

    def render(self, request: IRequest) -> int:
        defer.ensureDeferred(self._respond(request))
        return server.NOT_DONE_YET

    async def _respond(self, request: IRequest) -> None:
        try:
            reply = await self._dispatch(request)
        except ServiceError as error:
            reply = _error_reply(from_service_error(error))
        except ApiError as error:
            reply = _error_reply(error)
        except Exception:
            log.failure("API request {method} {path} failed", Failure(),
                        method=request.method, path=request.path)
            reply = _error_reply(ApiError(500, "internal error"))
        try:
            _write(request, reply)
        except Exception:  # the client went away mid-answer: nothing left to tell it
            log.failure("writing the API answer failed", Failure())

    async def _dispatch(self, request: IRequest) -> Reply:
        try:
            raw_path = request.path.decode("ascii")
        except UnicodeDecodeError:
            raise ApiError(400, "the path must be percent-encoded ASCII") from None
        method = request.method.decode("ascii", "replace")
        _, handler, params = self.router.match(method, raw_path)
        caller = await auth.caller_of(self.identity, self.sessions, request)
        if caller.session is not None:
            cookies.attach_csrf(self.config, request, caller.session,
                                cookie=request.method == b"GET")
        auth.check_csrf(request, caller)
        call = Call(request, params, caller.principal, auth.client_address(self.config, request))
        return await handler(call)


def _error_reply(error: ApiError) -> Reply:
    return Reply(error.status, error_document(error.code, error.message),
                 headers=dict(error.headers))


def _write(request: IRequest, reply: Reply) -> None:
    if request.finished or getattr(request, "_disconnected", False):
        return
    if reply.text is not None:
        payload, content_type = reply.text.encode("utf-8"), b"text/plain; charset=utf-8"
    elif reply.body is not None:
        payload, content_type = json.dumps(reply.body).encode(), b"application/json"
    else:
        payload, content_type = b"", None
    request.setResponseCode(reply.status)
    request_id = request.getHeader("x-request-id") or ""
    if not _REQUEST_ID.fullmatch(request_id):
        request_id = uuid.uuid4().hex
    request.setHeader(b"X-Request-Id", request_id.encode())
    for name, value in reply.headers.items():
        request.setHeader(name.encode("latin-1"), value.encode("latin-1", "replace"))
    if content_type is not None:
        request.setHeader(b"Content-Type", content_type)
    request.setHeader(b"Content-Length", str(len(payload)).encode())
    if payload:
        request.write(payload)
    request.finish()
