"""The Docker token service at ``/service/token`` (GET with Basic auth, and the OAuth2 POST).

Grants are the intersection of what was asked and what the permission matrix allows; an
empty grant is not an error. Wrong credentials answer 401. With ``offline_token=true`` (GET)
or ``access_type=offline`` (POST) a refresh token is returned too: a JWT of its own audience
that the POST ``grant_type=refresh_token`` form exchanges for new access tokens.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from twisted.web.iweb import IRequest

from harbor_twisted.auth import jwt
from harbor_twisted.auth.basic import CredentialsError, parse_basic
from harbor_twisted.auth.keys import SigningKey
from harbor_twisted.auth.scopes import Scope, parse_scopes
from harbor_twisted.common.client_address import client_address
from harbor_twisted.config import Config
from harbor_twisted.core.errors import Unauthenticated
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import ANONYMOUS, Principal
from harbor_twisted.core.registry_access import scope_actions
from harbor_twisted.web.http import Response
from harbor_twisted.web.resource import AsyncResource

REFRESH_AUDIENCE_SUFFIX = "#refresh"
READ_ONLY_CLAIM = "harbor_read_only"
REFRESH_LIFETIME = 30 * 24 * 3600


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message}]}


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status, {"Content-Type": "application/json"}, json.dumps(body).encode())


class TokenError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class TokenIssuer:
    def __init__(self, config: Config, key: SigningKey, identity: IdentityService) -> None:
        self.config = config
        self.key = key
        self.identity = identity

    def access_token(self, principal: Principal, access: list[dict[str, Any]]) -> dict[str, Any]:
        now = int(time.time())
        minutes = int(self.identity.settings.get("token_expiration") or 30)
        claims = {
            "iss": self.config.token_issuer,
            "sub": principal.name,
            "aud": self.config.token_service,
            "exp": now + minutes * 60,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        if self.identity.read_only:
            # Lets the registry explain a refused write instead of a bare 401.
            claims[READ_ONLY_CLAIM] = True
        token = jwt.encode(claims, self.key)
        issued_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return {
            "token": token,
            "access_token": token,
            "expires_in": minutes * 60,
            "issued_at": issued_at,
        }

    def refresh_token(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "iss": self.config.token_issuer,
            "sub": principal.name,
            "aud": self.config.token_service + REFRESH_AUDIENCE_SUFFIX,
            "exp": now + REFRESH_LIFETIME,
            "nbf": now - 1,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [],
        }
        return jwt.encode(claims, self.key)

    def subject_of_refresh_token(self, token: str) -> str:
        claims = jwt.decode(
            token,
            self.key.public_key,
            self.config.token_issuer,
            self.config.token_service + REFRESH_AUDIENCE_SUFFIX,
        )
        return str(claims.get("sub") or "")

    async def grant(self, principal: Principal, scopes: list[Scope]) -> list[dict[str, Any]]:
        access: list[dict[str, Any]] = []
        for scope in scopes:
            actions = await self._actions_for(principal, scope)
            if actions:
                access.append({"type": scope.type, "name": scope.name, "actions": actions})
        return access

    async def _actions_for(self, principal: Principal, scope: Scope) -> list[str]:
        return await scope_actions(
            self.identity, principal, scope.type, scope.name, list(scope.actions)
        )


def _basic_credentials(request: IRequest) -> tuple[str, str] | None:
    value = request.getHeader("authorization")
    if not value:
        return None
    try:
        return parse_basic(value)
    except CredentialsError as error:
        raise TokenError(401 if error.wrong_scheme else 400, "UNAUTHORIZED", str(error)) from None


def _arg(request: IRequest, name: str) -> str | None:
    values = request.args.get(name.encode())
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        raise TokenError(400, "UNSUPPORTED", f"{name} is not UTF-8") from None


def _args(request: IRequest, name: str) -> list[str]:
    try:
        return [v.decode("utf-8") for v in request.args.get(name.encode(), [])]
    except UnicodeDecodeError:
        raise TokenError(400, "UNSUPPORTED", f"{name} is not UTF-8") from None


class TokenResource(AsyncResource):
    surface = "token"

    def __init__(self, issuer: TokenIssuer) -> None:
        super().__init__()
        self.issuer = issuer

    async def handle(self, request: IRequest) -> Response:
        if request.method in (b"GET", b"HEAD"):
            body = await self._get(request)
        elif request.method == b"POST":
            body = await self._post(request)
        else:
            raise TokenError(405, "UNSUPPORTED", "use GET or POST")
        return _json(200, body)

    def error_response(self, error: Exception) -> Response | None:
        if isinstance(error, Unauthenticated):  # the directory did not answer, say
            return _json(401, _error_body("UNAUTHORIZED", error.message))
        if not isinstance(error, TokenError):
            return None
        response = _json(error.status, _error_body(error.code, error.message))
        if error.status == 405:
            response.headers["Allow"] = "GET, HEAD, POST"
        return response

    def internal_error(self) -> Response:
        return _json(500, _error_body("UNKNOWN", "internal error"))

    def unavailable(self) -> Response:
        return _json(503, _error_body("UNAVAILABLE", "the database is unavailable; retry later"))

    def finish_headers(self, request: IRequest, response: Response) -> None:
        request.setHeader(b"Cache-Control", b"no-store")

    def _check_service(self, service: str | None) -> None:
        if service is not None and service != self.issuer.config.token_service:
            raise TokenError(400, "UNSUPPORTED", f"unknown service {service[:100]!r}")

    async def _get(self, request: IRequest) -> dict[str, Any]:
        self._check_service(_arg(request, "service"))
        credentials = _basic_credentials(request)
        principal = ANONYMOUS
        if credentials is not None:
            found = await self.issuer.identity.authenticate(
                *credentials, client_address(self.issuer.config, request)
            )
            if found is None:
                raise TokenError(401, "UNAUTHORIZED", "invalid user name or password")
            principal = found
        return await self._respond(
            principal, _args(request, "scope"), _arg(request, "offline_token") == "true"
        )

    async def _post(self, request: IRequest) -> dict[str, Any]:
        self._check_service(_arg(request, "service"))
        grant_type = _arg(request, "grant_type")
        offline = _arg(request, "access_type") == "offline"
        if grant_type == "password":
            principal = await self.issuer.identity.authenticate(
                _arg(request, "username") or "",
                _arg(request, "password") or "",
                client_address(self.issuer.config, request),
            )
        elif grant_type == "refresh_token":
            principal = await self._from_refresh_token(_arg(request, "refresh_token") or "")
        else:
            raise TokenError(400, "UNSUPPORTED", "grant_type must be password or refresh_token")
        if principal is None:
            raise TokenError(401, "UNAUTHORIZED", "invalid credentials")
        return await self._respond(principal, _args(request, "scope"), offline)

    async def _from_refresh_token(self, token: str) -> Principal | None:
        try:
            subject = self.issuer.subject_of_refresh_token(token)
        except jwt.TokenInvalid:
            return None
        return await self.issuer.identity.principal_by_name(subject) if subject else None

    async def _respond(
        self, principal: Principal, scope_values: list[str], offline: bool
    ) -> dict[str, Any]:
        access = await self.issuer.grant(principal, parse_scopes(scope_values))
        body = self.issuer.access_token(principal, access)
        # Robots get none: docker would keep it instead of the secret, and each token
        # request must check the robot's secret, disable flag and expiry again.
        if offline and principal.kind == "user":
            body["refresh_token"] = self.issuer.refresh_token(principal)
        return body
