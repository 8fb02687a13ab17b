"""What a robot account may be: names, secrets, the access it may hold, expiry. No database."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from harbor_twisted.auth import passwords
from harbor_twisted.core.errors import Invalid
from harbor_twisted.db.robot_store import PROJECT, SYSTEM, RobotRow

NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")  # Harbor's validateName: no '+', no '$'
NAME_MAX = 255
DAY = 86400
NEVER = -1

# expires_at is a 32-bit INTEGER column (PostgreSQL): expiry must come before 2038-01-19.
MAX_EXPIRES_AT = 2**31 - 1
SECRET_BYTES = 24  # token_urlsafe: 32 characters

# (resource -> actions) a project permission may hold: the part of Harbor's robot permission
# list (common/rbac/const.go, PoliciesMap["Project"]) that this service enforces, minus
# managing the project itself.
ROBOT_ACCESS: dict[str, frozenset[str]] = {
    "repository": frozenset({"pull", "push", "delete", "list", "read", "update"}),
    "artifact": frozenset({"read", "list", "create", "delete"}),
    "tag": frozenset({"create", "list", "delete"}),
    "project": frozenset({"read"}),
    "metadata": frozenset({"read", "list"}),
    "log": frozenset({"list"}),
}


@dataclass(frozen=True)
class Access:
    resource: str
    action: str
    effect: str = "allow"


@dataclass(frozen=True)
class Permission:
    """Harbor's ``RobotPermission``: ``kind`` project, ``namespace`` a project name or "*"."""

    kind: str
    namespace: str
    access: tuple[Access, ...]


@dataclass(frozen=True)
class RobotRequest:
    """The fields of ``RobotCreate`` (POST) and ``Robot`` (PUT) that can be set."""

    name: str
    level: str
    duration: int
    permissions: tuple[Permission, ...]
    description: str = ""
    disable: bool = False


def check_name(name: str) -> None:
    if not name or len(name) > NAME_MAX or not NAME.fullmatch(name):
        raise Invalid("robot name is not in lower case or contains illegal characters: use "
                      "lower case letters, digits and single separators (. _ -) between them")


def generate_secret() -> str:
    """A random secret that also meets Harbor's policy (upper, lower, digit)."""
    while True:
        secret = secrets.token_urlsafe(SECRET_BYTES)
        try:
            passwords.check_policy(secret)
        except passwords.PasswordPolicyError:
            continue
        return secret


def check_secret(secret: str) -> None:
    try:
        passwords.check_policy(secret)
    except passwords.PasswordPolicyError:
        raise Invalid("the secret must be 8 to 128 characters long with at least 1 uppercase "
                      "letter, 1 lowercase letter and 1 number") from None


def _check_access(namespace: str, access: tuple[Access, ...]) -> None:
    if not access:
        raise Invalid(f"permission for {namespace!r}: access must not be empty")
    for item in access:
        allowed = ROBOT_ACCESS.get(item.resource)
        if allowed is None or item.action not in allowed:
            supported = "; ".join(f"{r}: {', '.join(sorted(a))}"
                                  for r, a in sorted(ROBOT_ACCESS.items()))
            raise Invalid(f"robot permission {item.resource}/{item.action} is not supported "
                          f"(supported: {supported})")
        if item.effect != "allow":
            raise Invalid("only the effect 'allow' is supported in robot permissions")
    pairs = {(a.resource, a.action) for a in access}
    if ("repository", "push") in pairs and ("repository", "pull") not in pairs:
        raise Invalid(f"permission for {namespace!r}: repository push needs repository pull")


def check_request(request: RobotRequest, new: bool = True) -> None:
    """Harbor's rules (``robot.go`` validate) plus ours on what may be granted; an update
    names the robot as shown (with its prefix) and is checked against it instead."""
    if new:
        check_name(request.name)
    if request.level not in (SYSTEM, PROJECT):
        raise Invalid(f"bad request error level input: {request.level!r} "
                      "(must be system or project)")
    if request.duration < NEVER:
        raise Invalid("duration must be -1 (never expires), 0 (the system default) or a "
                      "number of days")
    if not request.permissions:
        raise Invalid("bad request empty permission: permissions are required")
    if request.level == PROJECT and len(request.permissions) != 1:
        raise Invalid("a project robot has exactly one permission, for its project")
    seen = set()
    for permission in request.permissions:
        if permission.kind == SYSTEM:
            raise Invalid("system-level permissions (kind 'system') are not supported yet; "
                          "grant project permissions (kind 'project')")
        if permission.kind != PROJECT:
            raise Invalid(f"unknown permission kind {permission.kind!r} (use 'project')")
        if not permission.namespace:
            raise Invalid("permission namespace is required: a project name, or '*'")
        if request.level == PROJECT and permission.namespace == "*":
            raise Invalid("a project robot's permission must name its project, not '*'")
        if permission.namespace in seen:
            raise Invalid(f"project {permission.namespace!r} appears in two permissions")
        seen.add(permission.namespace)
        _check_access(permission.namespace, permission.access)


def expiry(duration: int, default_days: int, start: int) -> tuple[int, int]:
    """(duration, expires_at) as Harbor computes them: -1 never, 0 the system default."""
    if duration == 0:
        duration = default_days
    if duration == NEVER:
        return NEVER, NEVER
    expires_at = start + duration * DAY
    if expires_at > MAX_EXPIRES_AT:
        raise Invalid("duration too long: robot accounts must expire before 2038-01-19 "
                      "(use -1 for one that never expires)")
    return duration, expires_at


def is_expired(row: RobotRow, now: float) -> bool:
    return row.expires_at != NEVER and row.expires_at <= now
