"""Who is calling: Basic credentials checked by the identity service (which caches
verified ones briefly), and from which address (``X-Forwarded-For`` only from a trusted
proxy)."""

from __future__ import annotations

from twisted.web.iweb import IRequest

from harbor_twisted.api.errors import ApiError
from harbor_twisted.auth.basic import CredentialsError, parse_basic
from harbor_twisted.client_address import client_address as client_address
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import ANONYMOUS, Principal


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
