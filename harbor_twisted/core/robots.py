"""Robot accounts, Harbor v2 style: system robots over any projects, project robots in one.

- Full names are ``<prefix><name>`` (system) and ``<prefix><project>+<name>`` (project), with
  the prefix from ``robot_name_prefix`` (default ``robot$``).
- The secret is generated here, returned only by create and refresh, and stored only as an
  argon2 hash; hashing and checking run in the database thread, never on the reactor.
- Who manages robots: system admins for system robots; for project robots the permission
  matrix's ``robot`` resource (Project Admins create, update and delete; members down to
  Guest list and read — Harbor's ``rbac_role.go``). Robots themselves can never be granted
  the ``robot``, ``member`` or ``user`` resources, so they cannot manage accounts.
- Grants are validated against what this service enforces (:data:`ROBOT_ACCESS`), so a robot
  never holds a permission that silently does nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.auth import passwords
from harbor_twisted.common.clock import utcnow
from harbor_twisted.core.audit import Actor, listed
from harbor_twisted.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from harbor_twisted.core.projects import ProjectRef, authorize
from harbor_twisted.core.rbac import Principal, RobotGrant
from harbor_twisted.core.robot_rules import (
    NAME_MAX,
    Access,
    Permission,
    RobotRequest,
    check_request,
    check_secret,
    expiry,
    generate_secret,
    is_expired,
)
from harbor_twisted.db import audit_store, robot_store
from harbor_twisted.db.engine import Database
from harbor_twisted.db.listing import Filter, Listing
from harbor_twisted.db.project_store import ProjectRecord
from harbor_twisted.db.robot_store import PROJECT, SYSTEM, RobotRow

if TYPE_CHECKING:
    from harbor_twisted.core.identity import IdentityService


@dataclass(frozen=True)
class RobotView:
    id: int
    name: str  # full name, with the prefix
    description: str
    level: str
    duration: int
    disabled: bool
    expires_at: int
    permissions: tuple[Permission, ...]
    creation_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class CreatedRobot:
    id: int
    name: str
    secret: str
    creation_time: datetime
    expires_at: int


# -- validation (no database) -----------------------------------------------------------------


# -- rows and views ---------------------------------------------------------------------------


def _stored_permissions(
    conn: Connection, permissions: tuple[Permission, ...]
) -> list[dict[str, Any]]:
    names = {p.namespace for p in permissions if p.namespace != "*"}
    found = robot_store.projects_by_name(conn, names)
    missing = sorted(names - set(found))
    if missing:
        raise NotFound(f"project {missing[0]} not found")
    stored = []
    for p in permissions:
        entry: dict[str, Any] = {"kind": p.kind, "namespace": "*"}
        if p.namespace != "*":
            entry["namespace"], entry["since"] = found[p.namespace]
        entry["access"] = [{"resource": a.resource, "action": a.action, "effect": a.effect}
                           for a in p.access]
        stored.append(entry)
    return stored


Projects = dict[int, tuple[str, str]]  # id -> (name, creation stamp)


def _namespaces(conn: Connection, rows: list[RobotRow]) -> Projects:
    ids = {p.get("namespace") for row in rows for p in row.permissions}
    return robot_store.projects_by_id(conn, {i for i in ids if isinstance(i, int)})


def _permissions(row: RobotRow, projects: Projects) -> tuple[Permission, ...]:
    """The stored permissions with project names; those of deleted projects are left out."""
    result = []
    for stored in row.permissions:
        namespace = stored.get("namespace")
        if namespace == "*":
            name = "*"
        else:
            found = projects.get(namespace) if isinstance(namespace, int) else None
            if found is None or found[1] != stored.get("since"):
                continue
            name = found[0]
        access = tuple(Access(str(a.get("resource", "")), str(a.get("action", "")),
                              str(a.get("effect") or "allow"))
                       for a in stored.get("access", []) if isinstance(a, dict))
        result.append(Permission(str(stored.get("kind") or PROJECT), name, access))
    return tuple(result)


def _view(row: RobotRow, projects: Projects, prefix: str) -> RobotView:
    return RobotView(
        row.id, prefix + row.name, row.description, row.level, row.duration, row.disabled,
        row.expires_at, _permissions(row, projects), row.creation_time, row.update_time,
    )


def grants_of(row: RobotRow, projects: Projects) -> tuple[RobotGrant, ...]:
    return tuple(
        RobotGrant(permission.namespace, access.resource, access.action)
        for permission in _permissions(row, projects)
        for access in permission.access
        if access.effect == "allow"
    )


# -- authentication ---------------------------------------------------------------------------


async def authenticate(
    db: Database, prefix: str, username: str, password: str
) -> Principal | None:
    """The robot's principal for a valid secret, unless it is disabled or expired."""
    return await db.run(_authenticate, prefix, username, password)


def _authenticate(
    conn: Connection, prefix: str, username: str, password: str
) -> Principal | None:
    stored_name = username[len(prefix):]
    row = robot_store.get_robot_by_name(conn, stored_name) if stored_name else None
    if row is None:
        passwords.verify_password(passwords.DUMMY_HASH, password)  # same cost either way
        return None
    if not passwords.verify_password(row.secret_hash, password):
        return None
    if row.disabled or is_expired(row, time.time()):
        return None
    return Principal("robot", username, robot_grants=grants_of(row, _namespaces(conn, [row])))


class RobotAuthenticator:
    """Robot accounts (``robot$…``) for IdentityService; the prefix is a runtime setting."""

    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    async def authenticate(self, username: str, password: str) -> Principal | None:
        prefix = str(self.identity.settings.get("robot_name_prefix") or "robot$")
        return await authenticate(self.identity.db, prefix, username, password)


# -- the service ------------------------------------------------------------------------------


def _unix(moment: datetime) -> int:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _authorize(
    conn: Connection, principal: Principal, level: str, ref: ProjectRef | None, action: str
) -> ProjectRecord | None:
    """System robots are the system admins' alone; project robots follow the matrix."""
    if principal.anonymous:
        raise Unauthenticated("authentication required")
    if level == SYSTEM or ref is None:
        if not principal.sysadmin:
            raise Forbidden(f"only system administrators may {action} system robot accounts")
        return None
    return authorize(conn, principal, ref, "robot", action).project


def _robot(conn: Connection, robot_id: int) -> RobotRow:
    row = robot_store.get_robot(conn, robot_id)
    if row is None:
        raise NotFound(f"robot {robot_id} not found")
    return row


def _ref_of(row: RobotRow) -> ProjectRef | None:
    return ProjectRef(str(row.project_id)) if row.level == PROJECT else None


def _audit(
    conn: Connection, actor: Actor, operation: str, full_name: str, row_level: str,
    project_id: int | None, detail: dict[str, Any],
) -> None:
    record = actor.record(operation, "robot", full_name, project_id,
                          {"level": row_level, **detail})
    audit_store.write_audit(conn, [record])


class RobotService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db

    @property
    def prefix(self) -> str:
        return str(self.identity.settings.get("robot_name_prefix") or "robot$")

    @property
    def default_days(self) -> int:
        return int(self.identity.settings.get("robot_token_duration") or 30)

    # -- reading ---------------------------------------------------------------------------

    async def list(
        self, principal: Principal, listing: Listing
    ) -> tuple[list[RobotView], int]:
        """Harbor's ``q``: ``Level=system`` (the default) or ``Level=project,ProjectID=N``."""
        level, project_id, rest = self._scope(listing)
        listing = replace(listing, filters=rest)
        prefix = self.prefix

        def run(conn: Connection) -> tuple[list[RobotView], int]:
            ref = ProjectRef(str(project_id)) if level == PROJECT else None
            _authorize(conn, principal, level, ref, "list")
            rows, total = listed(robot_store.list_robots, conn, listing, level, project_id)
            names = _namespaces(conn, rows)
            return [_view(row, names, prefix) for row in rows], total

        return await self.db.run(run)

    def _scope(self, listing: Listing) -> tuple[str, int | None, tuple[Filter, ...]]:
        level, project_id, rest = SYSTEM, None, []
        for flt in listing.filters:
            key = flt.key.lower().replace("_", "")
            if key in ("level", "projectid"):
                if flt.kind != "exact":
                    raise Invalid(f"q: {flt.key} takes one exact value")
                value = flt.values[0]
                if key == "level":
                    if value not in (SYSTEM, PROJECT):
                        raise Invalid("bad request error level input: use system or project")
                    level = value
                else:
                    if not value.isdecimal() or len(value) > 18:
                        raise Invalid("Project ID must be int type.")
                    project_id = int(value)
            elif flt.key == "name":
                values = tuple(v.removeprefix(self.prefix) for v in flt.values)
                rest.append(Filter(flt.key, flt.kind, values))
            else:
                rest.append(flt)
        if level == PROJECT and project_id is None:
            raise Invalid("must with project ID when to query project robots "
                          "(q=Level=project,ProjectID=<id>)")
        return level, project_id if level == PROJECT else None, tuple(rest)

    async def get(self, principal: Principal, robot_id: int) -> RobotView:
        prefix = self.prefix

        def run(conn: Connection) -> RobotView:
            row = _robot(conn, robot_id)
            _authorize(conn, principal, row.level, _ref_of(row), "read")
            return _view(row, _namespaces(conn, [row]), prefix)

        return await self.db.run(run)

    # -- changing --------------------------------------------------------------------------

    async def create(self, actor: Actor, request: RobotRequest) -> CreatedRobot:
        check_request(request)
        prefix, default_days = self.prefix, self.default_days
        secret = generate_secret()

        def run(conn: Connection) -> CreatedRobot:
            ref = None
            if request.level == PROJECT:
                ref = ProjectRef(request.permissions[0].namespace, True)
            project = _authorize(conn, actor.principal, request.level, ref, "create")
            name = request.name if project is None else f"{project.name}+{request.name}"
            full_name = prefix + name
            if len(name) > NAME_MAX:
                raise Invalid(f"the robot name {full_name} is too long")
            if robot_store.get_robot_by_name(conn, name) is not None:
                raise Conflict(f"robot account {full_name} already exists")
            permissions = _stored_permissions(conn, request.permissions)
            now = utcnow()
            duration, expires_at = expiry(request.duration, default_days, _unix(now))
            try:
                robot_id = robot_store.create_robot(
                    conn, name=name, description=request.description, level=request.level,
                    project_id=None if project is None else project.id,
                    secret_hash=passwords.hash_password(secret), duration=duration,
                    expires_at=expires_at, disabled=request.disable, permissions=permissions,
                    now=now,
                )
            except IntegrityError:
                raise Conflict(f"robot account {full_name} already exists") from None
            row = _robot(conn, robot_id)
            _audit(conn, actor, "create", full_name, row.level, row.project_id,
                   {"duration": duration, "expires_at": expires_at, "disable": row.disabled})
            return CreatedRobot(robot_id, full_name, secret, row.creation_time, expires_at)

        return await self.db.run(run)

    async def update(self, actor: Actor, robot_id: int, request: RobotRequest) -> None:
        """Harbor's PUT: description, disable, duration and permissions; name and level stay."""
        check_request(request, new=False)
        prefix, default_days = self.prefix, self.default_days

        def run(conn: Connection) -> None:
            row = _robot(conn, robot_id)
            project = _authorize(conn, actor.principal, row.level, _ref_of(row), "update")
            if request.level != row.level or request.name not in _names_of(row, prefix):
                raise Invalid("cannot update the level or name of robot")
            if project is not None and request.permissions[0].namespace != project.name:
                raise Invalid(f"a project robot's permission must name its project "
                              f"({project.name})")
            changes: dict[str, Any] = {}
            permissions = _stored_permissions(conn, request.permissions)
            if permissions != row.permissions:
                changes["permissions"] = permissions
            if request.duration != row.duration:
                changes["duration"], changes["expires_at"] = expiry(
                    request.duration, default_days, _unix(row.creation_time))
            if request.description != row.description:
                changes["description"] = request.description
            if request.disable != row.disabled:
                changes["disabled"] = request.disable
            if not changes:
                return
            robot_store.update_robot(conn, row.id, **changes)
            detail = {key: value for key, value in changes.items() if key != "permissions"}
            if "permissions" in changes:
                detail["permissions"] = "changed"
            _audit(conn, actor, "update", prefix + row.name, row.level, row.project_id, detail)

        await self.db.run(run)
        self.identity.forget_credentials("robot")

    async def refresh_secret(self, actor: Actor, robot_id: int, secret: str | None) -> str:
        """Harbor's PATCH: a given secret (policy-checked) is set and not echoed ("");
        without one a new secret is generated and returned, once."""
        if secret:
            check_secret(secret)
        new_secret = secret or generate_secret()
        prefix = self.prefix

        def run(conn: Connection) -> None:
            row = _robot(conn, robot_id)
            _authorize(conn, actor.principal, row.level, _ref_of(row), "update")
            robot_store.update_robot(conn, row.id,
                                     secret_hash=passwords.hash_password(new_secret))
            _audit(conn, actor, "update", prefix + row.name, row.level, row.project_id,
                   {"secret": "refreshed"})

        await self.db.run(run)
        self.identity.forget_credentials("robot")
        return "" if secret else new_secret

    async def delete(self, actor: Actor, robot_id: int) -> None:
        prefix = self.prefix

        def run(conn: Connection) -> None:
            row = _robot(conn, robot_id)
            _authorize(conn, actor.principal, row.level, _ref_of(row), "delete")
            robot_store.delete_robot(conn, row.id)
            _audit(conn, actor, "delete", prefix + row.name, row.level, row.project_id, {})

        await self.db.run(run)
        self.identity.forget_credentials("robot")


def _names_of(row: RobotRow, prefix: str) -> set[str]:
    """Names a PUT body may carry for this robot: the full name as GET shows it, the stored
    name, or the short name given at creation."""
    return {prefix + row.name, row.name, row.name.split("+", 1)[-1]}
