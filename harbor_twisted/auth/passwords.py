"""Password and secret hashing (argon2id), and the password policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~20 ms a check.
# The library default (64 MiB, 3 passes, 4 lanes) cost ~0.75 s per docker token request
# on a busy 2-core host, and docker asks for a token on every push and pull.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when a user does not exist, so a login costs the same either way and
# response times do not reveal which user names exist.
DUMMY_HASH = _HASHER.hash("not-a-real-password")

MIN_LENGTH = 8
MAX_LENGTH = 128


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; the message says what is missing."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_policy(password: str) -> None:
    """Harbor's rule: 8 to 128 characters with at least one upper case, lower case and digit."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordPolicyError(
            f"the password must be {MIN_LENGTH} to {MAX_LENGTH} characters long"
        )
    missing = [
        label
        for label, pattern in (
            ("an upper case letter", r"[A-Z]"),
            ("a lower case letter", r"[a-z]"),
            ("a digit", r"[0-9]"),
        )
        if not re.search(pattern, password)
    ]
    if missing:
        raise PasswordPolicyError("the password needs " + ", ".join(missing))
