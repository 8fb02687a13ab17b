"""SQL for user groups (LDAP, HTTP and OIDC groups) and the memberships they hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import project_member, usergroup
from harbor_twisted.db.listing import MAX_ID, Listing, Sort
from harbor_twisted.db.listing import listed as listed_rows  # the shared listing engine
from harbor_twisted.db.member_store import GroupRecord
from harbor_twisted.db.results import inserted_id

GROUP_COLUMNS: dict[str, ColumnElement[Any]] = {
    "id": usergroup.c.id,
    "group_name": usergroup.c.group_name,
    "group_type": usergroup.c.group_type,
    "ldap_group_dn": usergroup.c.ldap_group_dn,
    "creation_time": usergroup.c.creation_time,
    "update_time": usergroup.c.update_time,
}


def _record(row: Any) -> GroupRecord:
    return GroupRecord(row.id, row.group_name, row.group_type, row.ldap_group_dn)


def list_groups(
    conn: Connection, listing: Listing, group_type: int | None = None,
    ldap_group_dn: str | None = None,
) -> tuple[list[GroupRecord], int]:
    stmt = select(usergroup)
    if group_type is not None:
        stmt = stmt.where(usergroup.c.group_type == group_type)
    if ldap_group_dn is not None:
        stmt = stmt.where(func.lower(usergroup.c.ldap_group_dn) == ldap_group_dn.lower())
    rows, total = listed_rows(conn, stmt, GROUP_COLUMNS, listing, usergroup.c.id,
                              (Sort("group_name"),))
    return [_record(row) for row in rows], total


def get_group(conn: Connection, group_id: int) -> GroupRecord | None:
    if not 0 < group_id <= MAX_ID:
        return None
    row = conn.execute(select(usergroup).where(usergroup.c.id == group_id)).first()
    return None if row is None else _record(row)


def find_by_name(
    conn: Connection, group_name: str, group_type: int, except_id: int | None = None
) -> GroupRecord | None:
    stmt = select(usergroup).where(
        usergroup.c.group_name == group_name, usergroup.c.group_type == group_type
    )
    if except_id is not None:
        stmt = stmt.where(usergroup.c.id != except_id)
    row = conn.execute(stmt.limit(1)).first()
    return None if row is None else _record(row)


def find_by_dn(conn: Connection, ldap_group_dn: str) -> GroupRecord | None:
    """LDAP DNs compare case-insensitively, as directories do."""
    row = conn.execute(
        select(usergroup)
        .where(func.lower(usergroup.c.ldap_group_dn) == ldap_group_dn.lower())
        .limit(1)
    ).first()
    return None if row is None else _record(row)


def create_group(
    conn: Connection, group_name: str, group_type: int, ldap_group_dn: str | None
) -> int:
    now = utcnow()
    result = conn.execute(
        insert(usergroup).values(
            group_name=group_name, group_type=group_type, ldap_group_dn=ldap_group_dn,
            creation_time=now, update_time=now,
        )
    )
    return inserted_id(result)


def rename_group(conn: Connection, group_id: int, group_name: str) -> None:
    conn.execute(
        update(usergroup)
        .where(usergroup.c.id == group_id)
        .values(group_name=group_name, update_time=utcnow())
    )


def delete_group(conn: Connection, group_id: int) -> int:
    """Remove the group and its project memberships; how many memberships went."""
    removed = conn.execute(
        delete(project_member).where(
            project_member.c.entity_type == "g", project_member.c.entity_id == group_id
        )
    ).rowcount
    conn.execute(delete(usergroup).where(usergroup.c.id == group_id))
    return int(removed or 0)
