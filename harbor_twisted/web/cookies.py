"""The portal's cookies: ``sid`` (the session, HttpOnly) and ``__csrf`` (the CSRF token,
readable by the portal's scripts), Secure whenever clients reach us over HTTPS."""

from __future__ import annotations

from typing import cast

from twisted.web import http
from twisted.web.iweb import IRequest

from harbor_twisted.config import Config
from harbor_twisted.core.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, Session
from harbor_twisted.web.http import base_url


def _http(request: IRequest) -> http.Request:
    """The request as twisted.web's class, whose addCookie takes httpOnly and sameSite."""
    return cast(http.Request, request)


def secure(config: Config, request: IRequest) -> bool:
    """HTTPS as clients see it: the external URL, a trusted proxy's word, or TLS here."""
    return base_url(config, request).startswith("https://") or bool(request.isSecure())


def session_id(request: IRequest) -> str | None:
    value = request.getCookie(SESSION_COOKIE.encode())
    if not value:
        return None
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        return None


def set_session(config: Config, request: IRequest, session: Session) -> None:
    _http(request).addCookie(SESSION_COOKIE, session.sid, path="/", httpOnly=True, sameSite="lax",
                      secure=secure(config, request))
    attach_csrf(config, request, session, cookie=True)


def clear_session(config: Config, request: IRequest) -> None:
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        _http(request).addCookie(name, "", path="/", max_age="0", httpOnly=http_only,
                          sameSite="lax", secure=secure(config, request))


def attach_csrf(config: Config, request: IRequest, session: Session, cookie: bool) -> None:
    """Hand the session's CSRF token out as Harbor does: a response header, and on reads a
    ``__csrf`` cookie the portal's scripts can read."""
    token = session.csrf_token
    request.setHeader(CSRF_HEADER, token)
    if cookie:
        _http(request).addCookie(CSRF_COOKIE, token, path="/", sameSite="strict",
                          secure=secure(config, request))
