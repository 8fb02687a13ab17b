"""SQL for portal sessions: create, find with the user, slide, end, sweep."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, delete, or_, select, update

from harbor_twisted.db.identity_models import user
from harbor_twisted.db.session_models import session


@dataclass(frozen=True)
class SessionRow:
    id_hash: str
    user_id: int
    username: str
    user_sysadmin: bool  # the user's flag now
    auth_source: str
    login_sysadmin: bool  # what the login granted (LDAP admin groups, for instance)
    group_ids: frozenset[int]
    created: float
    last_seen: float


def create_session(
    conn: Connection, id_hash: str, user_id: int, sysadmin: bool, group_ids: frozenset[int],
    client_ip: str, now: float,
) -> None:
    conn.execute(
        session.insert().values(
            id_hash=id_hash, user_id=user_id, sysadmin=sysadmin,
            group_ids=json.dumps(sorted(group_ids)), client_ip=client_ip[:64],
            created=now, last_seen=now,
        )
    )


def find_session(conn: Connection, id_hash: str) -> SessionRow | None:
    row = conn.execute(
        select(
            session.c.id_hash, session.c.user_id, session.c.sysadmin, session.c.group_ids,
            session.c.created, session.c.last_seen, user.c.username,
            user.c.sysadmin_flag, user.c.auth_source,
        )
        .select_from(session.join(user, user.c.id == session.c.user_id))
        .where(session.c.id_hash == id_hash)
    ).first()
    if row is None:
        return None
    return SessionRow(
        row.id_hash, row.user_id, row.username, bool(row.sysadmin_flag), row.auth_source,
        bool(row.sysadmin), frozenset(int(g) for g in json.loads(row.group_ids or "[]")),
        float(row.created), float(row.last_seen),
    )


def touch_session(conn: Connection, id_hash: str, now: float) -> None:
    conn.execute(update(session).where(session.c.id_hash == id_hash).values(last_seen=now))


def delete_session(conn: Connection, id_hash: str) -> bool:
    return bool(conn.execute(delete(session).where(session.c.id_hash == id_hash)).rowcount)


def sweep_sessions(conn: Connection, idle_before: float, created_before: float) -> int:
    """Remove sessions idle since ``idle_before`` or created before ``created_before``."""
    return int(
        conn.execute(
            delete(session).where(
                or_(session.c.last_seen < idle_before, session.c.created < created_before)
            )
        ).rowcount
        or 0
    )
