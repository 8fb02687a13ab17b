"""How a replication job reaches this installation's own registry: over HTTP like any
remote, with a short-lived token it signs itself (no stored credentials are needed)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from harbor_twisted.auth import jwt, keys
from harbor_twisted.config import Config
from harbor_twisted.replication.client import RegistryClient

SUBJECT = "harbor-replication"
TOKEN_SECONDS = 600
bound_port: int | None = None  # set when this process's listening port is known


def local_url(config: Config) -> str:
    if config.registry_url:  # a separate registry process (the job service's setting)
        return config.registry_url.rstrip("/")
    if config.external_url:
        return config.external_url.rstrip("/")
    host = config.listen_address
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{bound_port or config.port}"


def _access(scopes: list[str]) -> list[dict[str, Any]]:
    access = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind and name:
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
    return access


def local_client(config: Config) -> RegistryClient:
    key = keys.load_or_create(config.effective_secrets_dir, key_path=config.token_signing_key,
                              cert_path=config.token_signing_cert)

    def mint(scopes: list[str]) -> str:
        now = int(time.time())
        return jwt.encode({
            "iss": config.token_issuer, "sub": SUBJECT, "aud": config.token_service,
            "exp": now + TOKEN_SECONDS, "nbf": now - 1, "iat": now, "jti": uuid.uuid4().hex,
            "access": _access(scopes),
        }, key)

    return RegistryClient(local_url(config), minter=mint)
