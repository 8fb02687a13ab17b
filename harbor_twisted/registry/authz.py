"""Registry-side access checks: a bearer token verified locally, or Basic credentials.

Tokens are RS256 JWTs verified against the configured public key (see auth/jwt.py), cached
until they expire; the registry never calls the core for them. Basic credentials (as Harbor
accepts on every /v2/ route, for curl and scripts) are checked with the identity service the
token service uses - same database, same verified-credential cache, same permission matrix -
and turned into the grant a token for the same user and scope would carry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.asymmetric import rsa
from twisted.web.iweb import IRequest

from harbor_twisted.auth import jwt
from harbor_twisted.auth.basic import CredentialsError, parse_basic
from harbor_twisted.common.client_address import client_address
from harbor_twisted.common.names import Route, is_valid_name
from harbor_twisted.config import Config
from harbor_twisted.core.errors import Unauthenticated
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.registry_access import scope_actions
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.web.http import header, request_base_url

CACHE_SIZE = 4096
BASIC_GRANT_SECONDS = 60  # a Basic grant serves one request; this only bounds it


@dataclass(frozen=True)
class Needed:
    """The access a request needs: ``actions`` on ``type:name``."""

    type: str
    name: str
    actions: tuple[str, ...]

    def scope(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


@dataclass(frozen=True)
class Grant:
    subject: str
    access: frozenset[tuple[str, str, str]]  # (type, name, action)
    expires: float
    read_only: bool = False  # the system was in read-only mode when the token was issued

    def allows(self, needed: Needed) -> bool:
        return all(
            (needed.type, needed.name, action) in self.access
            or (needed.type, needed.name, "*") in self.access
            for action in needed.actions
        )


def needed_access(route: Route, method: bytes) -> Needed | None:
    """What a registry request needs; None means any valid token (the base endpoint)."""
    if route.kind == "base":
        return None
    if route.kind == "catalog":
        return Needed("registry", "catalog", ("*",))
    if method in (b"GET", b"HEAD") and route.kind in ("blob", "manifest", "tags", "referrers"):
        return Needed("repository", route.name, ("pull",))
    if method == b"DELETE" and route.kind in ("blob", "manifest"):
        return Needed("repository", route.name, ("delete",))
    return Needed("repository", route.name, ("pull", "push"))


def mount_source(route: Route, method: bytes, query: bytes) -> list[Needed]:
    """A cross-repository mount's source, whose pull scope the challenge names too (as
    Docker Distribution's does), so a token fetched from the challenge can mount."""
    if route.kind != "upload_start" or method != b"POST":
        return []
    try:
        values = parse_qs(query.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return []
    source = (values.get("from") or [""])[0]
    if not values.get("mount") or not is_valid_name(source) or source == route.name:
        return []
    return [Needed("repository", source, ("pull",))]


class RegistryAuthorizer:
    def __init__(
        self,
        config: Config,
        public_key: rsa.RSAPublicKey,
        identity: IdentityService | None = None,
    ) -> None:
        self.config = config
        self.public_key = public_key
        # Checks Basic credentials; without it only tokens are accepted.
        self.identity = identity
        self._cache: OrderedDict[str, Grant] = OrderedDict()
        # The system's read-only mode as this process knows it now (None: only the token's
        # claim tells). Set, it refuses writes at once even with tokens issued before.
        self.read_only: Callable[[], bool] | None = None

    def _grant_for(self, token: str) -> Grant:
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None and cached.expires + jwt.LEEWAY_SECONDS > now:
            self._cache.move_to_end(token)
            return cached
        claims = jwt.decode(
            token, self.public_key, self.config.token_issuer, self.config.token_service, now
        )
        grant = Grant(
            str(claims.get("sub") or ""),
            _access(claims),
            float(claims["exp"]),
            claims.get("harbor_read_only") is True,
        )
        self._cache[token] = grant
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return grant

    def basic_credentials(self, request: IRequest) -> tuple[str, str] | None:
        """Basic credentials the identity service must check (off the reactor), or None
        when the request carries a token, nothing, or Basic is not accepted here."""
        value = header(request, "authorization") or ""
        if self.identity is None or value.partition(" ")[0].lower() != "basic":
            return None
        try:
            return parse_basic(value)
        except CredentialsError:
            return "", ""  # refused by the identity service like a wrong password

    async def authorize_any(self, request: IRequest, route: Route, query: bytes) -> Grant:
        """``authorize`` for a token, ``authorize_basic`` for Basic credentials."""
        credentials = self.basic_credentials(request)
        if credentials is None:
            return self.authorize(request, route, query)
        return await self.authorize_basic(request, route, query, credentials)

    def authorize(self, request: IRequest, route: Route, query: bytes = b"") -> Grant:
        """The request's grant if its token suffices; raises the 401 challenge otherwise."""
        wanted = _wanted(route, request.method, query)
        authorization = header(request, "authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._challenge(request, wanted, None)
        try:
            grant = self._grant_for(token.strip())
        except jwt.TokenInvalid as exc:
            raise self._challenge(request, wanted, "invalid_token", str(exc)) from None
        return self._check(request, wanted, grant)

    async def authorize_basic(
        self, request: IRequest, route: Route, query: bytes, credentials: tuple[str, str]
    ) -> Grant:
        """The grant a token for these credentials and this request's scopes would carry.

        Authentication is the token service's (audited as a login the same way); wrong
        credentials answer the same challenge as no credentials.
        """
        assert self.identity is not None
        wanted = _wanted(route, request.method, query)
        try:
            principal = await self.identity.authenticate(
                *credentials, client_address(self.config, request)
            )
        except Unauthenticated as error:  # the directory did not answer, say
            raise self._challenge(request, wanted, None, message=error.message) from None
        if principal is None:
            raise self._challenge(request, wanted, None, message="invalid user name or password")
        access: set[tuple[str, str, str]] = set()
        for item in wanted:
            actions = await scope_actions(
                self.identity, principal, item.type, item.name, item.actions
            )
            access.update((item.type, item.name, action) for action in actions)
        grant = Grant(principal.name, frozenset(access), time.time() + BASIC_GRANT_SECONDS)
        return self._check(request, wanted, grant)

    def _check(self, request: IRequest, wanted: list[Needed], grant: Grant) -> Grant:
        if not wanted:
            return grant
        needed = wanted[0]
        writes = bool(set(needed.actions) & {"push", "delete"})
        live = None if self.read_only is None else self.read_only()
        if writes and (live or (live is None and grant.read_only and not grant.allows(needed))):
            raise RegistryError(
                "DENIED",
                "the registry is in read-only mode: pulls work, pushes and deletes are "
                "refused until an administrator turns read-only mode off",
            )
        if not grant.allows(needed):
            # a token from a read-only period, now over: the challenge fetches a fresh one
            raise self._challenge(request, wanted, "insufficient_scope")
        return grant

    def _challenge(
        self, request: IRequest, wanted: list[Needed], error: str | None, detail: str = "",
        message: str = "",
    ) -> RegistryError:
        realm = self.config.token_realm or request_base_url(self.config, request) + "/service/token"
        parts = [f'realm="{realm}"', f'service="{self.config.token_service}"']
        if wanted:
            parts.append(f'scope="{" ".join(item.scope() for item in wanted)}"')
        if error is not None:
            parts.append(f'error="{error}"')
        message = message or {
            None: "authentication required",
            "invalid_token": "the token is not valid",
            "insufficient_scope": "the token does not grant the access this request needs",
        }[error]
        return RegistryError(
            "UNAUTHORIZED",
            message,
            [item.__dict__ | {"actions": list(item.actions)} for item in wanted]
            if wanted else detail or None,
            headers={"WWW-Authenticate": "Bearer " + ",".join(parts)},
        )


def _wanted(route: Route, method: bytes, query: bytes) -> list[Needed]:
    """The access the request needs first, then what the challenge names besides."""
    needed = needed_access(route, method)
    return [] if needed is None else [needed, *mount_source(route, method, query)]


def _access(claims: dict[str, Any]) -> frozenset[tuple[str, str, str]]:
    entries: set[tuple[str, str, str]] = set()
    for item in claims.get("access") or []:
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if not isinstance(kind, str) or not isinstance(name, str) or not isinstance(actions, list):
            continue
        entries.update((kind, name, a) for a in actions if isinstance(a, str))
    return frozenset(entries)
