"""The portal's pages (mounted at ``/`` and ``/harbor``) on the shared request loop
(web's AsyncResource): routes, resolves the session, checks the CSRF token of every POST,
maps the core's refusals to clear HTML pages (never JSON), and sets the security headers
(CSP and friends) on every answer."""

from __future__ import annotations

import mimetypes
from importlib import resources as package_files
from typing import cast
from urllib.parse import unquote

from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.iweb import IRequest

from harbor_twisted.common.client_address import client_address
from harbor_twisted.config import Config
from harbor_twisted.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    ServiceError,
    Unauthenticated,
)
from harbor_twisted.core.rbac import ANONYMOUS
from harbor_twisted.core.sessions import CSRF_HEADER, Session, csrf_matches
from harbor_twisted.portal import request_parts, routes
from harbor_twisted.portal.pages import urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect
from harbor_twisted.portal.render import render
from harbor_twisted.portal.services import PortalServices
from harbor_twisted.web import cookies
from harbor_twisted.web.http import Response
from harbor_twisted.web.resource import AsyncResource

log = Logger(namespace="harbor_twisted.portal")

CSRF_FIELD = "_csrf"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
STATUS_OF = {Invalid: 400, Forbidden: 403, NotFound: 404, Conflict: 409,
             PreconditionFailed: 412}
HEADINGS = {400: "Bad request", 403: "Not allowed", 404: "Not found", 405: "Not allowed here",
            409: "Conflict", 412: "Not possible now", 500: "Something went wrong"}


class PageError(Exception):
    """Answer with the error page: ``status`` and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The portal's CSS and script, read once from the package."""
    found: dict[str, tuple[bytes, str]] = {}
    for item in package_files.files("harbor_twisted.portal").joinpath("static").iterdir():
        if item.is_file() and not item.name.startswith("."):
            kind = mimetypes.guess_type(item.name)[0] or "application/octet-stream"
            found[item.name] = (item.read_bytes(), kind)
    return found


def _twisted(request: IRequest) -> http.Request:
    """The request as twisted.web's class, whose addCookie takes httpOnly and sameSite."""
    return cast(http.Request, request)


class PortalResource(AsyncResource):
    """Every answer is HTML (or a 303 to a page, or a static file), errors included."""

    surface = "portal pages"

    def __init__(self, services: PortalServices) -> None:
        super().__init__()
        self.services = services
        self.config: Config = services.config
        self.static = _static_files()

    async def handle(self, request: IRequest) -> Response:
        path = _page_path(request)
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        session = await self.services.sessions.resolve(cookies.session_id(request))
        try:
            outcome = await self._run(request, path, session)
        except Exception as error:
            known = _error_outcome(error)
            if known is None:
                raise
            outcome = known
        if request_parts.read_flash(request) is not None:  # shown once: now it is gone
            self._set_flash_cookie(request, "", expire=True)
        if isinstance(outcome, Redirect):
            if outcome.end_session:
                cookies.clear_session(self.config, request)
            if outcome.flash is not None:
                self._set_flash_cookie(request, request_parts.encode_flash(outcome.flash))
        return _response(outcome, session)

    def error_response(self, error: Exception) -> Response | None:
        """Errors met before the session is known (a malformed address): pages too."""
        outcome = _error_outcome(error)
        return None if outcome is None else _response(outcome, None)

    def internal_error(self) -> Response:
        return _response(_error_page(500, "The portal failed to answer; the log says why."),
                         None)

    def finish_headers(self, request: IRequest, response: Response) -> None:
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name.encode(), value.encode())
        request.setHeader(b"Cache-Control", b"no-store")  # a static file's answer overrides

    async def _run(self, request: IRequest, path: str, session: Session | None
                   ) -> Page | Redirect:
        method = request.method.decode("ascii", "replace")
        route, params, known = routes.match(method, path)
        if route is None:
            raise PageError(405 if known else 404,
                            "This page does not take that request." if known
                            else "There is no page at this address.")
        if session is None and not route.public:
            return _to_sign_in(request)
        form: dict[str, str] = {}
        if method == "POST":
            form = self._checked_form(request, session, route.public)
        ctx = PageContext(
            services=self.services,
            principal=session.principal if session else ANONYMOUS,
            session=session, method=method, path=path, params=params,
            query=request_parts.query(request), form=form,
            client_ip=client_address(self.config, request),
            registry_host=request_parts.registry_host(self.config, request),
            flash=request_parts.read_flash(request),
        )
        outcome = await route.handler(ctx)
        if isinstance(outcome, Page):
            outcome.values.setdefault("flash", ctx.flash)
            outcome.values["ctx"] = ctx
        return outcome

    def _checked_form(self, request: IRequest, session: Session | None, public: bool
                      ) -> dict[str, str]:
        try:
            form = request_parts.form(request)
        except request_parts.BadForm as error:
            raise PageError(400, str(error)) from None
        if public and session is None:  # no session to forge for: another site's page?
            if not request_parts.same_origin(self.config, request):
                raise PageError(403, "This form was sent from another site.")
            form.pop(CSRF_FIELD, None)
            return form
        presented = form.pop(CSRF_FIELD, None) or request.getHeader(CSRF_HEADER)
        if session is None or not csrf_matches(session, presented):
            raise PageError(403, "This form was not sent from your current session "
                                 "(its CSRF token does not match). Reload the page and "
                                 "try again.")
        return form

    def _static(self, name: str) -> Response:
        found = self.static.get(name)
        if found is None:
            return _response(_error_page(404, "There is no such file."), None)
        body, kind = found
        return Response(200, {"Content-Type": kind, "Cache-Control": "public, max-age=3600"},
                        body)

    def _set_flash_cookie(self, request: IRequest, value: str, expire: bool = False) -> None:
        _twisted(request).addCookie(
            request_parts.FLASH_COOKIE, value, path="/", max_age="0" if expire else None,
            httpOnly=True, sameSite="lax", secure=cookies.secure(self.config, request))


def _error_outcome(error: Exception) -> Page | Redirect | None:
    """The page (or the sign-in redirect) for a refusal; None for a fault of ours."""
    if isinstance(error, PageError):
        return _error_page(error.status, error.message)
    if isinstance(error, Unauthenticated):
        return Redirect(urls.sign_in())
    if isinstance(error, ServiceError):
        status = next((s for kind, s in STATUS_OF.items() if isinstance(error, kind)), 400)
        return _error_page(status, error.message)
    return None


def _response(outcome: Page | Redirect, session: Session | None) -> Response:
    if isinstance(outcome, Redirect):
        return Response(303, {"Location": outcome.location})
    status, body = _rendered(outcome, session)
    return Response(status, {"Content-Type": "text/html; charset=utf-8"}, body)


def _rendered(page: Page, session: Session | None) -> tuple[int, bytes]:
    """The page as HTML; a template fault answers the error page (then plain text), never
    a request left without an answer."""
    values = {"ctx": None, "flash": None, **page.values, "title": page.title,
              "session": session}
    try:
        return page.status, render(page.template, values)
    except Exception:
        log.failure("rendering {template} failed", Failure(), template=page.template)
    fallback = _error_page(500, "The portal failed to show this page; the log says why.")
    try:
        return 500, render(fallback.template, {**fallback.values, "ctx": None, "flash": None,
                                               "title": fallback.title, "session": None})
    except Exception:
        log.failure("rendering the error page failed", Failure())
        return 500, b"<!doctype html><title>Error</title><p>The portal failed to answer.</p>"


def _page_path(request: IRequest) -> str:
    """The decoded path below ``/harbor`` (``/`` itself is the home page)."""
    try:
        path = unquote(request.path.decode("ascii"), errors="strict")
    except UnicodeDecodeError:
        raise PageError(400, "The address is not valid percent-encoded UTF-8.") from None
    if "\x00" in path:
        raise PageError(400, "The address holds a NUL character.")
    if path == urls.PREFIX or path.startswith(urls.PREFIX + "/"):
        return path.removeprefix(urls.PREFIX)
    return path


def _to_sign_in(request: IRequest) -> Redirect:
    """To the sign-in page, coming back here after; a stale session cookie says why."""
    target = request.uri.decode("ascii", "replace") if request.method == b"GET" else urls.HOME
    location = urls.sign_in(target)
    if cookies.session_id(request):
        location += "&expired=1"
    return Redirect(location, end_session=bool(cookies.session_id(request)))


def _error_page(status: int, message: str) -> Page:
    return Page("error.html", {"status": status, "message": message,
                               "heading": HEADINGS.get(status, "Error")},
                status=status, title=HEADINGS.get(status, "Error"))
