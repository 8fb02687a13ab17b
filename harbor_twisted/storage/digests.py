"""Content digests: parsing, validation and incremental hashing (sha256 and sha512)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

HEX_LENGTH = {"sha256": 64, "sha512": 128}
DEFAULT_ALGORITHM = "sha256"

# The OCI grammar: algorithm-component (separator algorithm-component)* ":" encoded.
_DIGEST_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class InvalidDigest(ValueError):
    """Not a digest, or a digest with an algorithm we do not support."""


@dataclass(frozen=True, order=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_digest(text: str) -> Digest:
    """Parse ``algorithm:hex`` strictly; anything unsafe for a file path is refused."""
    if not isinstance(text, str) or len(text) > 150 or not _DIGEST_GRAMMAR.match(text):
        raise InvalidDigest(f"invalid digest {text[:160]!r}")
    algorithm, hex_part = text.split(":", 1)
    expected = HEX_LENGTH.get(algorithm)
    if expected is None:
        raise InvalidDigest(f"unsupported digest algorithm {algorithm!r} (use sha256 or sha512)")
    if len(hex_part) != expected or not re.fullmatch(r"[0-9a-f]+", hex_part):
        raise InvalidDigest(f"invalid {algorithm} digest: expected {expected} lowercase hex digits")
    return Digest(algorithm, hex_part)


def new_hasher(algorithm: str = DEFAULT_ALGORITHM) -> Any:
    return hashlib.new(algorithm)


def digest_bytes(data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> Digest:
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())
