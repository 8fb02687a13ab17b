"""How a replication job reaches this installation's own registry: over HTTP like any
remote, with a short-lived token it signs itself (no stored credentials are needed)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from harbor_twisted.auth import jwt, keys
from harbor_twisted.common.local_urls import local_url
from harbor_twisted.config import Config
from harbor_twisted.replication.client import RegistryClient

SUBJECT = "harbor-replication"
TOKEN_SECONDS = 600
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

    return RegistryClient(local_url(config), minter=mint, trusted_ca_file=config.trusted_ca_file)
