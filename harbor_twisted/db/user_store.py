"""SQL for users: login lookups, the admin's bootstrap and the /users API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import (
    project,
    project_member,
    user,
)
from harbor_twisted.db.listing import Listing, listed, valid_id
from harbor_twisted.db.results import inserted_id


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    email: str | None
    realname: str
    comment: str
    password_hash: str | None
    sysadmin: bool
    auth_source: str
    ldap_dn: str | None


_USER_BY_NAME = select(user).where(user.c.username == bindparam("username"))


def _user(row: Any) -> UserRow | None:
    if row is None:
        return None
    return UserRow(
        row.id,
        row.username,
        row.email,
        row.realname,
        row.comment,
        row.password_hash,
        bool(row.sysadmin_flag),
        row.auth_source,
        row.ldap_dn,
    )


def get_user_by_name(conn: Connection, username: str) -> UserRow | None:
    return _user(conn.execute(_USER_BY_NAME, {"username": username}).first())


def create_user(
    conn: Connection,
    username: str,
    *,
    password_hash: str | None,
    email: str | None = None,
    realname: str = "",
    comment: str = "",
    sysadmin: bool = False,
    auth_source: str = "db",
    ldap_dn: str | None = None,
) -> int:
    now = utcnow()
    result = conn.execute(
        insert(user).values(
            username=username,
            email=email,
            realname=realname,
            comment=comment,
            password_hash=password_hash,
            sysadmin_flag=sysadmin,
            auth_source=auth_source,
            ldap_dn=ldap_dn,
            creation_time=now,
            update_time=now,
        )
    )
    return inserted_id(result)


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(
        update(user)
        .where(user.c.id == user_id)
        .values(password_hash=password_hash, update_time=utcnow())
    )


def count_users_besides(conn: Connection, username: str) -> int:
    return conn.execute(
        select(func.count()).select_from(user).where(user.c.username != username)
    ).scalar_one()


@dataclass(frozen=True)
class UserRecord:
    """A user as the API shows it (never the password hash)."""

    id: int
    username: str
    email: str | None
    realname: str
    comment: str
    sysadmin: bool
    auth_source: str
    creation_time: datetime
    update_time: datetime


USER_COLUMNS: dict[str, ColumnElement[Any]] = {
    "user_id": user.c.id,
    "username": user.c.username,
    "email": user.c.email,
    "realname": user.c.realname,
    "sysadmin_flag": user.c.sysadmin_flag,
    "creation_time": user.c.creation_time,
    "update_time": user.c.update_time,
}


def _user_record(row: Any) -> UserRecord:
    return UserRecord(
        row.id, row.username, row.email, row.realname, row.comment, bool(row.sysadmin_flag),
        row.auth_source, row.creation_time, row.update_time,
    )


def get_user_row(conn: Connection, user_id: int) -> UserRow | None:
    if not valid_id(user_id):
        return None
    return _user(conn.execute(select(user).where(user.c.id == user_id)).first())


def get_user_record(conn: Connection, user_id: int) -> UserRecord | None:
    if not valid_id(user_id):
        return None
    row = conn.execute(select(user).where(user.c.id == user_id)).first()
    return None if row is None else _user_record(row)


def list_users(conn: Connection, listing: Listing) -> tuple[list[UserRecord], int]:
    rows, total = listed(conn, select(user), USER_COLUMNS, listing, user.c.id)
    return [_user_record(row) for row in rows], total


def email_in_use(conn: Connection, email: str, except_user_id: int | None = None) -> bool:
    stmt = select(user.c.id).where(func.lower(user.c.email) == email.lower())
    if except_user_id is not None:
        stmt = stmt.where(user.c.id != except_user_id)
    return conn.execute(stmt.limit(1)).first() is not None


def update_user(conn: Connection, user_id: int, **values: Any) -> None:
    """Set profile columns (email, realname, comment, sysadmin_flag) and the update time."""
    conn.execute(update(user).where(user.c.id == user_id).values(**values, update_time=utcnow()))


def delete_user(conn: Connection, user_id: int) -> None:
    """Remove the user, their memberships, and their name as owner of projects."""
    conn.execute(
        delete(project_member).where(
            project_member.c.entity_type == "u", project_member.c.entity_id == user_id
        )
    )
    conn.execute(update(project).where(project.c.owner_id == user_id).values(owner_id=None))
    conn.execute(delete(user).where(user.c.id == user_id))
