"""What the real clients need to reach the registry under test."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


# Harbor grants nothing in a project that does not exist, and only `library` exists at first.
PROJECT = "library"


def new_repository(kind: str) -> str:
    """A repository name of its own for one test: the registry is shared by all test modules."""
    return f"{PROJECT}/e2e/{kind}-{secrets.token_hex(4)}"
