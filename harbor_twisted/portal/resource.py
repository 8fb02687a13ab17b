"""The one twisted.web resource that runs the portal's page handlers (mounted at ``/`` and
``/harbor``): routes, resolves the session, checks the CSRF token of every POST, maps the
core's refusals to clear pages, and sets the security headers.

It is deliberately thin so the shared web base can take its place."""

from __future__ import annotations

import mimetypes
from importlib import resources as package_files
from urllib.parse import unquote

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.iweb import IRequest

from harbor_twisted.client_address import client_address
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
from harbor_twisted.portal import cookies, request_parts, routes
from harbor_twisted.portal.pages import urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect
from harbor_twisted.portal.render import render
from harbor_twisted.portal.services import PortalServices

log = Logger(namespace="harbor_twisted.portal")

CSRF_FIELD = "_csrf"
SECURITY_HEADERS = {
    b"Content-Security-Policy": b"default-src 'self'; img-src 'self' data:; "
                               b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                               b"object-src 'none'",
    b"X-Frame-Options": b"DENY",
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"same-origin",
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


def _static_files() -> dict[str, tuple[bytes, bytes]]:
    """The portal's CSS and script, read once from the package."""
    found: dict[str, tuple[bytes, bytes]] = {}
    for item in package_files.files("harbor_twisted.portal").joinpath("static").iterdir():
        if item.is_file() and not item.name.startswith("."):
            kind = mimetypes.guess_type(item.name)[0] or "application/octet-stream"
            found[item.name] = (item.read_bytes(), kind.encode())
    return found


class PortalResource(resource.Resource):
    isLeaf = True  # noqa: N815 - twisted's name

    def __init__(self, services: PortalServices) -> None:
        super().__init__()
        self.services = services
        self.config: Config = services.config
        self.static = _static_files()

    def render(self, request: IRequest) -> int:
        defer.ensureDeferred(self._respond(request))
        return server.NOT_DONE_YET

    async def _respond(self, request: IRequest) -> None:
        session: Session | None = None
        try:
            path = _page_path(request)
            if path.startswith("/static/"):
                self._static(request, path.removeprefix("/static/"))
                return
            session = await self.services.sessions.resolve(cookies.session_id(request))
            outcome = await self._run(request, path, session)
        except PageError as error:
            outcome = _error_page(error.status, error.message)
        except Unauthenticated:
            outcome = Redirect(urls.sign_in())
        except ServiceError as error:
            status = next((s for kind, s in STATUS_OF.items() if isinstance(error, kind)), 400)
            outcome = _error_page(status, error.message)
        except Exception:
            log.failure("portal request {method} {path} failed", Failure(),
                        method=request.method, path=request.path)
            outcome = _error_page(500, "The portal failed to answer; the log says why.")
        try:
            self._write(request, outcome, session)
        except Exception:  # the client went away mid-answer
            log.failure("writing the portal page failed", Failure())
            if not request.finished and not getattr(request, "_disconnected", False):
                request.finish()

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

    def _static(self, request: IRequest, name: str) -> None:
        found = self.static.get(name)
        if found is None:
            self._write(request, _error_page(404, "There is no such file."), None)
            return
        body, kind = found
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", kind)
        request.setHeader(b"Cache-Control", b"public, max-age=3600")
        for name_, value in SECURITY_HEADERS.items():
            request.setHeader(name_, value)
        request.setHeader(b"Content-Length", str(len(body)).encode())
        request.write(body)
        request.finish()

    def _write(self, request: IRequest, outcome: Page | Redirect,
               session: Session | None) -> None:
        if request.finished or getattr(request, "_disconnected", False):
            return
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        request.setHeader(b"Cache-Control", b"no-store")
        if request_parts.read_flash(request) is not None:
            request.addCookie(request_parts.FLASH_COOKIE, "", path="/", max_age="0",
                              httpOnly=True, sameSite="lax",
                              secure=cookies.secure(self.config, request))
        if isinstance(outcome, Redirect):
            self._redirect(request, outcome)
            body = b""
        else:
            status, body = _rendered(outcome, session)
            request.setResponseCode(status)
            request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Content-Length", str(len(body)).encode())
        if body and request.method != b"HEAD":
            request.write(body)
        request.finish()

    def _redirect(self, request: IRequest, outcome: Redirect) -> None:
        request.setResponseCode(303)
        request.setHeader(b"Location", outcome.location.encode("utf-8"))
        if outcome.end_session:
            cookies.clear_session(self.config, request)
        if outcome.flash is not None:
            request.addCookie(request_parts.FLASH_COOKIE,
                              request_parts.encode_flash(outcome.flash), path="/",
                              httpOnly=True, sameSite="lax",
                              secure=cookies.secure(self.config, request))


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
