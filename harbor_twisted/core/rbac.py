"""Harbor's roles and the permission matrix — the one place that decides who may do what.

Both the token service (registry scopes) and the REST API ask :func:`allowed`. The matrix
is Harbor's (``src/common/rbac/project/rbac_role.go``), see harbor-reference.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

from harbor_twisted.core.errors import Forbidden, Unauthenticated

if TYPE_CHECKING:
    from harbor_twisted.db.user_store import UserRow


class Role(IntEnum):
    PROJECT_ADMIN = 1
    DEVELOPER = 2
    GUEST = 3
    MAINTAINER = 4
    LIMITED_GUEST = 5


ROLE_NAMES = {
    Role.PROJECT_ADMIN: "projectAdmin",
    Role.DEVELOPER: "developer",
    Role.GUEST: "guest",
    Role.MAINTAINER: "maintainer",
    Role.LIMITED_GUEST: "limitedGuest",
}

_ALL = frozenset(Role)
_PA = frozenset({Role.PROJECT_ADMIN})
_PA_M = frozenset({Role.PROJECT_ADMIN, Role.MAINTAINER})
_PA_M_D = frozenset({Role.PROJECT_ADMIN, Role.MAINTAINER, Role.DEVELOPER})
_READERS = frozenset({Role.PROJECT_ADMIN, Role.MAINTAINER, Role.DEVELOPER, Role.GUEST})

# (resource, action) -> roles allowed in a project
PROJECT_MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("project", "read"): _ALL,
    ("project", "update"): _PA,
    ("project", "delete"): _PA,
    ("metadata", "read"): _ALL,
    ("metadata", "update"): _PA,
    ("repository", "pull"): _ALL,
    ("repository", "list"): _ALL,
    ("repository", "read"): _ALL,
    ("repository", "push"): _PA_M_D,
    ("repository", "update"): _PA_M_D,
    ("repository", "delete"): _PA_M,
    ("artifact", "list"): _ALL,
    ("artifact", "read"): _ALL,
    ("artifact", "create"): _PA_M_D,
    ("artifact", "delete"): _PA_M,
    ("tag", "list"): _ALL,
    ("tag", "create"): _PA_M_D,
    ("tag", "delete"): _PA_M,
    ("member", "list"): _READERS,
    ("member", "read"): _READERS,
    ("member", "create"): _PA,
    ("member", "update"): _PA,
    ("member", "delete"): _PA,
    ("robot", "list"): _READERS,
    ("robot", "read"): _READERS,
    ("robot", "create"): _PA,
    ("robot", "update"): _PA,
    ("robot", "delete"): _PA,
    ("webhook", "list"): _PA_M,
    ("webhook", "read"): _PA_M,
    ("webhook", "create"): _PA,
    ("webhook", "update"): _PA,
    ("webhook", "delete"): _PA,
    ("tag-retention", "list"): _PA_M_D,
    ("tag-retention", "read"): _PA_M_D,
    ("tag-retention", "create"): _PA_M_D,
    ("tag-retention", "update"): _PA_M_D,
    ("tag-retention", "delete"): _PA_M_D,
    ("immutable-tag", "list"): _PA_M,
    ("immutable-tag", "create"): _PA_M,
    ("immutable-tag", "update"): _PA_M,
    ("immutable-tag", "delete"): _PA_M,
    ("log", "list"): _PA,
}

# What anyone (even anonymous) may do in a public project.
PUBLIC_READ = frozenset(
    {
        ("project", "read"),
        ("metadata", "read"),
        ("repository", "pull"),
        ("repository", "list"),
        ("repository", "read"),
        ("artifact", "list"),
        ("artifact", "read"),
        ("tag", "list"),
    }
)

WRITE_ACTIONS = frozenset({"push", "delete", "create", "update"})


@dataclass(frozen=True)
class RobotGrant:
    """One permission of a robot account: an action on a resource in a namespace."""

    namespace: str  # project name, or "*" for every project (system robots)
    resource: str
    action: str


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, a robot or nobody (anonymous)."""

    kind: str  # user | robot | anonymous
    name: str = ""
    user_id: int | None = None
    sysadmin: bool = False
    group_ids: frozenset[int] = frozenset()
    robot_grants: tuple[RobotGrant, ...] = field(default=())

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Principal("anonymous")


def allowed(
    principal: Principal,
    resource: str,
    action: str,
    *,
    project_name: str,
    project_public: bool,
    roles: Iterable[Role],
    read_only: bool = False,
) -> bool:
    """May ``principal`` do ``action`` on ``resource`` in this project?

    ``roles`` are the principal's roles in the project (direct and through groups).
    """
    if read_only and (action in WRITE_ACTIONS) and resource in ("repository", "artifact",
                                                                  "tag"):
        return False
    if principal.kind == "robot":
        return _robot_allows(principal, resource, action, project_name)
    if principal.sysadmin:
        return True
    if project_public and (resource, action) in PUBLIC_READ:
        return True
    permitted = PROJECT_MATRIX.get((resource, action), frozenset())
    return any(role in permitted for role in roles)


def _robot_allows(principal: Principal, resource: str, action: str, project_name: str) -> bool:
    for grant in principal.robot_grants:
        if grant.namespace not in ("*", project_name):
            continue
        if grant.resource != resource:
            continue
        if grant.action in (action, "*"):
            return True
    return False


def registry_actions(
    principal: Principal,
    requested: Iterable[str],
    *,
    project_name: str,
    project_public: bool,
    roles: Iterable[Role],
    read_only: bool,
) -> list[str]:
    """The subset of ``requested`` registry actions (pull, push, delete, *) to grant."""
    role_list = list(roles)
    wanted = set(requested)
    if "*" in wanted:
        wanted = {"pull", "push", "delete"}
    granted = [
        action
        for action in ("pull", "push", "delete")
        if action in wanted
        and allowed(
            principal,
            "repository",
            action,
            project_name=project_name,
            project_public=project_public,
            roles=role_list,
            read_only=read_only,
        )
    ]
    return granted


def principal_for(row: UserRow, group_ids: frozenset[int] = frozenset()) -> Principal:
    """The principal of a user row (a database or onboarded LDAP user)."""
    return Principal("user", row.username, row.id, row.sysadmin, group_ids)


def require_signed_in(principal: Principal) -> None:
    if principal.anonymous:
        raise Unauthenticated("authentication required")


def require_sysadmin(principal: Principal, may: str = "do this") -> None:
    """401 for anonymous callers, 403 unless a system administrator: "only system
    administrators may <may>"."""
    require_signed_in(principal)
    if not principal.sysadmin:
        raise Forbidden(f"only system administrators may {may}")
