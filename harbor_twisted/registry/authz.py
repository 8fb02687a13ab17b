"""Registry-side token checks: verify the bearer token locally, challenge when it falls short.

The registry never calls the core per request: tokens are RS256 JWTs verified against the
configured public key (see auth/jwt.py), cached until they expire.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from twisted.web.iweb import IRequest

from harbor_twisted.auth import jwt
from harbor_twisted.common.names import Route
from harbor_twisted.config import Config
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.web.http import header, request_base_url

CACHE_SIZE = 4096


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


class RegistryAuthorizer:
    def __init__(self, config: Config, public_key: rsa.RSAPublicKey) -> None:
        self.config = config
        self.public_key = public_key
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

    def authorize(self, request: IRequest, route: Route) -> Grant:
        """The request's grant if it suffices; raises the 401 challenge otherwise."""
        needed = needed_access(route, request.method)
        authorization = header(request, "authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._challenge(request, needed, None)
        try:
            grant = self._grant_for(token.strip())
        except jwt.TokenInvalid as exc:
            raise self._challenge(request, needed, "invalid_token", str(exc)) from None
        if needed is None:
            return grant
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
            raise self._challenge(request, needed, "insufficient_scope")
        return grant

    def _challenge(
        self, request: IRequest, needed: Needed | None, error: str | None, detail: str = ""
    ) -> RegistryError:
        realm = self.config.token_realm or request_base_url(self.config, request) + "/service/token"
        parts = [f'realm="{realm}"', f'service="{self.config.token_service}"']
        if needed is not None:
            parts.append(f'scope="{needed.scope()}"')
        if error is not None:
            parts.append(f'error="{error}"')
        message = {
            None: "authentication required",
            "invalid_token": "the token is not valid",
            "insufficient_scope": "the token does not grant the access this request needs",
        }[error]
        return RegistryError(
            "UNAUTHORIZED",
            message,
            [needed.__dict__ | {"actions": list(needed.actions)}] if needed else detail or None,
            headers={"WWW-Authenticate": "Bearer " + ",".join(parts)},
        )


def _access(claims: dict[str, Any]) -> frozenset[tuple[str, str, str]]:
    entries: set[tuple[str, str, str]] = set()
    for item in claims.get("access") or []:
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if not isinstance(kind, str) or not isinstance(name, str) or not isinstance(actions, list):
            continue
        entries.update((kind, name, a) for a in actions if isinstance(a, str))
    return frozenset(entries)
