"""SQL for project members (users and groups) and the roles they hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import (
    project_member,
    user,
    usergroup,
)
from harbor_twisted.db.listing import Listing, listed, valid_id
from harbor_twisted.db.results import inserted_id


def add_member(
    conn: Connection, project_id: int, entity_type: str, entity_id: int, role_id: int
) -> int:
    now = utcnow()
    result = conn.execute(
        insert(project_member).values(
            project_id=project_id,
            entity_type=entity_type,
            entity_id=entity_id,
            role_id=role_id,
            creation_time=now,
            update_time=now,
        )
    )
    return inserted_id(result)


def member_roles(
    conn: Connection, project_id: int, user_id: int | None, group_ids: frozenset[int]
) -> list[int]:
    """Roles held in a project directly by the user and through any of their groups."""
    conditions = []
    if user_id is not None:
        conditions.append(
            (project_member.c.entity_type == "u") & (project_member.c.entity_id == user_id)
        )
    if group_ids:
        conditions.append(
            (project_member.c.entity_type == "g")
            & (project_member.c.entity_id.in_(sorted(group_ids)))
        )
    if not conditions:
        return []
    condition = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    rows = conn.execute(
        select(project_member.c.role_id).where(project_member.c.project_id == project_id, condition)
    )
    return [row.role_id for row in rows]


@dataclass(frozen=True)
class MemberRecord:
    id: int
    project_id: int
    entity_id: int
    entity_type: str  # u | g
    entity_name: str
    role_id: int


@dataclass(frozen=True)
class GroupRecord:
    id: int
    group_name: str
    group_type: int
    ldap_group_dn: str | None


_MEMBER_USER = user.alias("member_user")


_MEMBER_NAME = func.coalesce(_MEMBER_USER.c.username, usergroup.c.group_name, "")


MEMBER_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": project_member.c.id,
    "entityname": _MEMBER_NAME,
    "entity_type": project_member.c.entity_type,
    "role_id": project_member.c.role_id,
}


_MEMBERS = select(
    project_member.c.id, project_member.c.project_id, project_member.c.entity_id,
    project_member.c.entity_type, _MEMBER_NAME.label("entity_name"), project_member.c.role_id,
).select_from(
    project_member.outerjoin(
        _MEMBER_USER,
        and_(project_member.c.entity_type == "u", _MEMBER_USER.c.id == project_member.c.entity_id),
    ).outerjoin(
        usergroup,
        and_(project_member.c.entity_type == "g", usergroup.c.id == project_member.c.entity_id),
    )
)


def _member_record(row: Any) -> MemberRecord:
    return MemberRecord(
        row.id, row.project_id, row.entity_id, row.entity_type, row.entity_name, row.role_id
    )


def list_members(
    conn: Connection, project_id: int, listing: Listing
) -> tuple[list[MemberRecord], int]:
    stmt = _MEMBERS.where(project_member.c.project_id == project_id)
    rows, total = listed(conn, stmt, MEMBER_COLUMNS, listing, project_member.c.id)
    return [_member_record(row) for row in rows], total


def get_member(conn: Connection, project_id: int, member_id: int) -> MemberRecord | None:
    if not valid_id(member_id):
        return None
    row = conn.execute(
        _MEMBERS.where(project_member.c.project_id == project_id, project_member.c.id == member_id)
    ).first()
    return None if row is None else _member_record(row)


def find_member(
    conn: Connection, project_id: int, entity_type: str, entity_id: int
) -> MemberRecord | None:
    row = conn.execute(
        _MEMBERS.where(
            project_member.c.project_id == project_id,
            project_member.c.entity_type == entity_type,
            project_member.c.entity_id == entity_id,
        )
    ).first()
    return None if row is None else _member_record(row)


def set_member_role(conn: Connection, member_id: int, role_id: int) -> None:
    conn.execute(
        update(project_member)
        .where(project_member.c.id == member_id)
        .values(role_id=role_id, update_time=utcnow())
    )


def delete_member(conn: Connection, member_id: int) -> None:
    conn.execute(delete(project_member).where(project_member.c.id == member_id))


def member_role_counts(conn: Connection, project_id: int) -> dict[int, int]:
    rows: Any = conn.execute(
        select(project_member.c.role_id, func.count())
        .where(project_member.c.project_id == project_id)
        .group_by(project_member.c.role_id)
    )
    return {role_id: count for role_id, count in rows}


def find_group(
    conn: Connection, *, group_id: int | None = None, ldap_group_dn: str | None = None
) -> GroupRecord | None:
    stmt = select(usergroup)
    if group_id is not None:
        if not valid_id(group_id):
            return None
        stmt = stmt.where(usergroup.c.id == group_id)
    else:
        stmt = stmt.where(func.lower(usergroup.c.ldap_group_dn) == (ldap_group_dn or "").lower())
    row = conn.execute(stmt.limit(1)).first()
    if row is None:
        return None
    return GroupRecord(row.id, row.group_name, row.group_type, row.ldap_group_dn)
