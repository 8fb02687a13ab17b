"""SQL for switching the authentication mode: which users move, and moving them."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db.identity_models import user
from harbor_twisted.db.user_store import UserRow, get_user_row


def users_of_source(conn: Connection, auth_source: str) -> list[UserRow]:
    """Every user whose credentials live in ``auth_source`` (``db`` or ``ldap``), by id."""
    ids: list[int] = list(conn.execute(
        select(user.c.id).where(user.c.auth_source == auth_source).order_by(user.c.id)
    ).scalars())
    rows = [get_user_row(conn, user_id) for user_id in ids]
    return [row for row in rows if row is not None]


def link_to_directory(conn: Connection, user_id: int, username: str, dn: str) -> None:
    """Make a database user a directory user: same id, the directory's spelling of the name,
    its entry's DN, and no local password any more."""
    conn.execute(
        update(user)
        .where(user.c.id == user_id, user.c.auth_source == "db")
        .values(username=username, auth_source="ldap", ldap_dn=dn, password_hash=None,
                update_time=utcnow())
    )


def make_local(conn: Connection, user_id: int) -> None:
    """Make a directory user a database user without a password (it needs a reset)."""
    conn.execute(
        update(user)
        .where(user.c.id == user_id, user.c.auth_source == "ldap")
        .values(auth_source="db", ldap_dn=None, password_hash=None, update_time=utcnow())
    )
