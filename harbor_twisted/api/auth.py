"""Who is calling: Basic credentials checked by the identity service (which caches
verified ones briefly) or else the portal's session cookie, and from which address
(``X-Forwarded-For`` only from a trusted proxy).

A request the session cookie authenticates must echo the session's CSRF token in
``X-Harbor-CSRF-Token`` unless it only reads (Harbor's rule); Basic credentials cannot be
sent by another site's page, so they need none."""

from __future__ import annotations

from dataclasses import dataclass

from twisted.web.iweb import IRequest

from harbor_twisted.auth.basic import CredentialsError, parse_basic
from harbor_twisted.common.client_address import client_address as client_address
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import ANONYMOUS, Principal
from harbor_twisted.core.sessions import CSRF_HEADER, Session, SessionService, csrf_matches
from harbor_twisted.web.cookies import session_id
from harbor_twisted.web.errors import ApiError

SAFE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})


@dataclass(frozen=True)
class Caller:
    principal: Principal
    session: Session | None = None  # set when the session cookie authenticated the call


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message)


def basic_credentials(value: str) -> tuple[str, str]:
    try:
        return parse_basic(value)
    except CredentialsError as error:
        raise _unauthorized(str(error)) from None


async def principal_of(identity: IdentityService, request: IRequest) -> Principal:
    """Anonymous without credentials; 401 for credentials that do not verify."""
    value = request.getHeader("authorization")
    if not value:
        return ANONYMOUS
    username, password = basic_credentials(value)
    principal = await identity.authenticate(username, password)
    if principal is None:
        raise _unauthorized("invalid user name or password")
    return principal


async def caller_of(
    identity: IdentityService, sessions: SessionService | None, request: IRequest
) -> Caller:
    """Basic credentials win; else a live session; else anonymous (an expired or unknown
    session cookie is simply ignored, as a browser's stale cookie should be)."""
    if request.getHeader("authorization") or sessions is None:
        return Caller(await principal_of(identity, request))
    session = await sessions.resolve(session_id(request))
    if session is None:
        return Caller(ANONYMOUS)
    return Caller(session.principal, session)


def check_csrf(request: IRequest, caller: Caller) -> None:
    if caller.session is None or request.method in SAFE_METHODS:
        return
    if not csrf_matches(caller.session, request.getHeader(CSRF_HEADER)):
        raise ApiError(403, "CSRF token invalid")
