"""Compact JWS tokens signed with RS256, and a verifier that trusts only its own key.

The verifier ignores every key hint a token carries (``x5c``, ``jwk``, ``jku``, ``kid``
beyond an equality check): those are for other verifiers. Only ``alg: RS256`` is accepted.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from harbor_twisted.auth.keys import SigningKey

LEEWAY_SECONDS = 60
MAX_TOKEN_LENGTH = 64 * 1024


class TokenInvalid(ValueError):
    """The token is malformed, forged, expired or not meant for us."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise TokenInvalid("token is not base64url") from None


def encode(claims: dict[str, Any], key: SigningKey) -> str:
    header = {"typ": "JWT", "alg": "RS256", "kid": key.kid, "x5c": [key.certificate_der_b64]}
    signing_input = (
        _b64encode(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64encode(signature)


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment))
    except (UnicodeDecodeError, ValueError):
        raise TokenInvalid(f"token {what} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenInvalid(f"token {what} is not a JSON object")
    return value


def decode(
    token: str,
    public_key: rsa.RSAPublicKey,
    issuer: str,
    audience: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify signature, algorithm, issuer, audience and validity window; return the claims."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise TokenInvalid("malformed token")
    header_segment, claims_segment, signature_segment = token.split(".")
    header = _json_object(header_segment, "header")
    if header.get("alg") != "RS256":
        raise TokenInvalid("only RS256 tokens are accepted")
    signature = _b64decode(signature_segment)
    try:
        public_key.verify(
            signature,
            f"{header_segment}.{claims_segment}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise TokenInvalid("bad token signature") from None
    claims = _json_object(claims_segment, "claims")
    _check_claims(claims, issuer, audience, time.time() if now is None else now)
    return claims


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"token claim {name} missing or not a number")
    return float(value)


def _check_claims(claims: dict[str, Any], issuer: str, audience: str, now: float) -> None:
    if claims.get("iss") != issuer:
        raise TokenInvalid("token issuer is not trusted")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise TokenInvalid("token is for another service")
    if now > _number(claims, "exp") + LEEWAY_SECONDS:
        raise TokenInvalid("token expired")
    if "nbf" in claims and now + LEEWAY_SECONDS < _number(claims, "nbf"):
        raise TokenInvalid("token not yet valid")
    access = claims.get("access", [])
    if not isinstance(access, list) or not all(isinstance(item, dict) for item in access):
        raise TokenInvalid("token access claim is malformed")
