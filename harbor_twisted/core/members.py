"""Project members: users and groups holding one of Harbor's five roles in a project.

Who may list and change members is the permission matrix's decision (``member`` resource);
each change is audited in its own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.core.audit import Actor, listed
from harbor_twisted.core.errors import Conflict, Invalid, NotFound
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.projects import ProjectRef, authorize
from harbor_twisted.core.rbac import ROLE_NAMES, Principal, Role
from harbor_twisted.db import audit_store, member_store, user_store
from harbor_twisted.db.listing import Listing
from harbor_twisted.db.member_store import MemberRecord
from harbor_twisted.ldap import dn as ldap_dn


@dataclass(frozen=True)
class MemberRequest:
    """A user by id or name, or a group by id or LDAP DN, and the role to give."""

    role_id: int
    user_id: int | None = None
    username: str | None = None
    group_id: int | None = None
    ldap_group_dn: str | None = None


def check_role(role_id: int) -> Role:
    if role_id not in Role._value2member_map_:
        raise Invalid(
            "role_id must be 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) "
            "or 5 (limitedGuest)"
        )
    return Role(role_id)


def role_name(role_id: int) -> str:
    return ROLE_NAMES.get(Role(role_id), "") if role_id in Role._value2member_map_ else ""


def _entity(conn: Connection, request: MemberRequest) -> tuple[str, int, str]:
    """(entity_type, entity_id, name) of the user or group the request names."""
    if request.user_id is not None or request.username is not None:
        if request.user_id is not None:
            row = user_store.get_user_row(conn, request.user_id)
            label = f"id {request.user_id}"
        else:
            row = user_store.get_user_by_name(conn, request.username or "")
            label = repr(request.username)
        if row is None:
            raise NotFound(f"user {label} not found")
        return "u", row.id, row.username
    if request.group_id is not None:
        group = member_store.find_group(conn, group_id=request.group_id)
    else:
        dn = ldap_dn.canonical(request.ldap_group_dn or "")  # stored canonical at onboarding
        group = member_store.find_group(conn, ldap_group_dn=dn)
    if group is None:
        raise NotFound("user group not found (LDAP groups appear once onboarded)")
    return "g", group.id, group.group_name


def _member(conn: Connection, project_id: int, member_id: int) -> MemberRecord:
    found = member_store.get_member(conn, project_id, member_id)
    if found is None:
        raise NotFound(f"member {member_id} not found in this project")
    return found


def _audit(
    conn: Connection, actor: Actor, operation: str, project: str, member: MemberRecord,
    project_id: int, role_id: int,
) -> None:
    detail = {"project": project, "entity_type": member.entity_type,
              "role_id": role_id, "role_name": role_name(role_id)}
    audit_store.write_audit(
        conn,
        [actor.record(operation, "project_member", f"{project}:{member.entity_name}",
                      project_id, detail)],
    )


class MemberService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db

    async def list(
        self, principal: Principal, ref: ProjectRef, listing: Listing
    ) -> tuple[list[MemberRecord], int]:
        def run(conn: Connection) -> tuple[list[MemberRecord], int]:
            project = authorize(conn, principal, ref, "member", "list").project
            return listed(member_store.list_members, conn, project.id, listing)

        return await self.db.run(run)

    async def get(self, principal: Principal, ref: ProjectRef, member_id: int) -> MemberRecord:
        def run(conn: Connection) -> MemberRecord:
            project = authorize(conn, principal, ref, "member", "read").project
            return _member(conn, project.id, member_id)

        return await self.db.run(run)

    async def create(self, actor: Actor, ref: ProjectRef, request: MemberRequest) -> int:
        role = check_role(request.role_id)
        named = [request.user_id is not None or request.username is not None,
                 request.group_id is not None or request.ldap_group_dn is not None]
        if named.count(True) != 1:
            raise Invalid("give exactly one of member_user (user_id or username) "
                          "and member_group (id or ldap_group_dn)")

        def run(conn: Connection) -> int:
            project = authorize(conn, actor.principal, ref, "member", "create").project
            entity_type, entity_id, name = _entity(conn, request)
            kind = "user" if entity_type == "u" else "group"
            if member_store.find_member(conn, project.id, entity_type, entity_id):
                raise Conflict(f"the {kind} {name} is already a member of project "
                               f"{project.name}")
            try:
                member_id = member_store.add_member(
                    conn, project.id, entity_type, entity_id, int(role)
                )
            except IntegrityError:
                raise Conflict(f"the {kind} {name} is already a member") from None
            member = MemberRecord(member_id, project.id, entity_id, entity_type, name, int(role))
            _audit(conn, actor, "create", project.name, member, project.id, int(role))
            return member_id

        member_id = await self.db.run(run)
        self.identity.forget_credentials()
        return member_id

    async def update(self, actor: Actor, ref: ProjectRef, member_id: int, role_id: int) -> None:
        role = check_role(role_id)

        def run(conn: Connection) -> None:
            project = authorize(conn, actor.principal, ref, "member", "update").project
            member = _member(conn, project.id, member_id)
            if member.role_id == int(role):
                return
            member_store.set_member_role(conn, member_id, int(role))
            _audit(conn, actor, "update", project.name, member, project.id, int(role))

        await self.db.run(run)
        self.identity.forget_credentials()

    async def delete(self, actor: Actor, ref: ProjectRef, member_id: int) -> None:
        def run(conn: Connection) -> None:
            project = authorize(conn, actor.principal, ref, "member", "delete").project
            member = _member(conn, project.id, member_id)
            member_store.delete_member(conn, member_id)
            _audit(conn, actor, "delete", project.name, member, project.id, member.role_id)

        await self.db.run(run)
        self.identity.forget_credentials()
