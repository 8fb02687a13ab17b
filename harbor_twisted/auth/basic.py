"""Parsing ``Authorization: Basic …`` headers (the token service and the API share it)."""

from __future__ import annotations

import base64
import binascii


class CredentialsError(ValueError):
    """The header is not usable Basic credentials; ``wrong_scheme`` tells the two cases apart."""

    def __init__(self, message: str, wrong_scheme: bool = False) -> None:
        super().__init__(message)
        self.wrong_scheme = wrong_scheme


def parse_basic(value: str) -> tuple[str, str]:
    """User name and password from a Basic header value."""
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise CredentialsError("only Basic credentials are accepted here", wrong_scheme=True)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CredentialsError("malformed Basic credentials") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise CredentialsError("malformed Basic credentials")
    return username, password
