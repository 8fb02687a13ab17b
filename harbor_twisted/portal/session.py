"""``/c/login`` and ``/c/log_out``: the portal's session, as Harbor's portal uses it.

``POST /c/login`` takes the form fields ``principal`` and ``password`` and answers 200 with
the ``sid`` cookie (and the CSRF token), or 401; every attempt is audited as a login by the
identity service. A browser's form (``Accept: text/html``) is answered 303 instead: to its
local ``next`` page, or back to the sign-in page saying the login failed.
``GET /c/log_out`` ends the session and clears the cookies.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from twisted.web.iweb import IRequest

from harbor_twisted.common.client_address import client_address
from harbor_twisted.config import Config
from harbor_twisted.core.errors import Unauthenticated
from harbor_twisted.core.sessions import SessionService
from harbor_twisted.portal import request_parts
from harbor_twisted.portal.pages import urls
from harbor_twisted.web import cookies
from harbor_twisted.web.errors import (
    ApiError,
    harbor_error_response,
    harbor_internal_error,
    harbor_unavailable,
    json_response,
)
from harbor_twisted.web.http import Response
from harbor_twisted.web.resource import AsyncResource

MAX_FORM = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


def _form(request: IRequest) -> dict[str, str]:
    """The urlencoded body's fields (first value of each); the query string is ignored, so
    passwords never ride in URLs that proxies log."""
    content_type = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise ApiError(400, f"send the credentials as {FORM_TYPE} (principal, password)")
    content = request.content
    raw = b""
    if content is not None:
        content.seek(0)
        raw = content.read(MAX_FORM + 1)
    if len(raw) > MAX_FORM:
        raise ApiError(413, f"the form exceeds {MAX_FORM} bytes")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "the form is not valid UTF-8 urlencoded data") from None
    return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True)
class SeeOther:
    """Answer 303 to ``location`` (a browser's form)."""

    location: str


def _from_browser(request: IRequest) -> bool:
    """A form a browser sent, which wants pages rather than JSON."""
    return "text/html" in (request.getHeader("accept") or "").lower()


class SessionResource(AsyncResource):
    """The portal's session endpoints; errors answer in Harbor's JSON, as its portal expects
    (a browser's form gets 303s to pages instead)."""

    surface = "portal"

    def __init__(self, sessions: SessionService, config: Config) -> None:
        super().__init__()
        self.sessions = sessions
        self.config = config

    async def handle(self, request: IRequest) -> Response:
        status, body = await self._dispatch(request)
        if isinstance(body, SeeOther):
            return Response(status, {"Location": body.location})
        return json_response(status, body)

    def error_response(self, error: Exception) -> Response | None:
        return harbor_error_response(error)

    def internal_error(self) -> Response:
        return harbor_internal_error()

    def unavailable(self) -> Response:
        return harbor_unavailable()

    def finish_headers(self, request: IRequest, response: Response) -> None:
        request.setHeader(b"Cache-Control", b"no-store")

    async def _dispatch(self, request: IRequest) -> tuple[int, object]:
        action = b"/".join(request.postpath).rstrip(b"/")
        allowed = {b"login": b"POST", b"log_out": b"GET"}.get(action)
        if allowed is None:
            raise ApiError(404, "no such portal endpoint")
        if request.method != allowed:
            raise ApiError(405, f"use {allowed.decode()}", {"Allow": allowed.decode()})
        if action == b"login":
            return await self._login(request)
        return await self._log_out(request)

    async def _login(self, request: IRequest) -> tuple[int, object]:
        form = _form(request)
        if _from_browser(request) and not request_parts.same_origin(self.config, request):
            # another site's page posting our login form (login CSRF)
            raise ApiError(403, "sign in from this registry's own sign-in page")
        browser = _from_browser(request)
        try:
            session = await self.sessions.login(
                form.get("principal", ""), form.get("password", ""),
                client_address(self.config, request), cookies.session_id(request),
            )
        except Unauthenticated:  # the directory did not answer: a form goes back
            if not browser:
                raise
            session = None
        if session is None:
            if browser:
                return 303, SeeOther(urls.with_query(
                    urls.SIGN_IN, failed=1, next=form.get("next"),
                    principal=form.get("principal", "")[:255]))
            raise ApiError(401, "invalid user name or password")
        cookies.set_session(self.config, request, session)
        if browser:
            return 303, SeeOther(urls.safe_next(form.get("next")))
        return 200, None

    async def _log_out(self, request: IRequest) -> tuple[int, object]:
        await self.sessions.logout(cookies.session_id(request))
        cookies.clear_session(self.config, request)
        return 200, None
