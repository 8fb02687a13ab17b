"""SQL for LDAP onboarding: users (``auth_source`` 'ldap', no password) and LDAP groups
(``usergroup`` rows of type 1 found by DN), each creation audited in the caller's
transaction.

Group DNs are compared case-insensitively on their canonical form (see
``harbor_twisted.ldap.dn``); rows are stored canonical so a plain ``lower()`` finds them,
and rows someone stored in another spelling are still matched, by a scan, before a
duplicate would be made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select

from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import audit_store, user_store
from harbor_twisted.db.audit_store import AuditRecord
from harbor_twisted.db.identity_models import usergroup
from harbor_twisted.db.results import inserted_id
from harbor_twisted.db.user_store import UserRow

LDAP_GROUP = 1
FIELD_MAX = 255


class NotAnLdapUser(Exception):
    """A database user already holds the name an LDAP user would be onboarded under."""


@dataclass(frozen=True)
class LdapProfile:
    """What the directory says about a user."""

    username: str
    dn: str
    email: str | None
    realname: str


@dataclass(frozen=True)
class LdapGroupRef:
    dn: str
    name: str


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:FIELD_MAX]


def onboard_user(
    conn: Connection, profile: LdapProfile, audit: Callable[[str, dict], AuditRecord]
) -> tuple[UserRow, bool]:
    """Create the user on first sight, else bring its DN, email and real name up to date.

    ``audit(operation, detail)`` makes the audit record of a creation or an update.
    Returns the row and whether it was created.
    """
    email, realname = _clip(profile.email), _clip(profile.realname) or ""
    row = user_store.get_user_by_name(conn, profile.username)
    if row is None:
        user_store.create_user(
            conn, profile.username, password_hash=None, email=email, realname=realname,
            auth_source="ldap", ldap_dn=profile.dn, comment="onboarded from LDAP",
        )
        audit_store.write_audit(conn, [audit("create", {"source": "ldap", "dn": profile.dn})])
        created = user_store.get_user_by_name(conn, profile.username)
        assert created is not None
        return created, True
    if row.auth_source != "ldap":
        raise NotAnLdapUser(f"{profile.username} is a database user")
    changes = {name: value for name, value in
               (("ldap_dn", profile.dn), ("email", email), ("realname", realname))
               if getattr(row, name) != value}
    if changes:
        user_store.update_user(conn, row.id, **changes)
        audit_store.write_audit(conn, [audit("update", {"changed": sorted(changes)})])
        row = user_store.get_user_by_name(conn, profile.username) or row
    return row, False


def _rows_by_key(
    conn: Connection, keys: set[str], normalize: Callable[[str], str]
) -> dict[str, int]:
    rows = conn.execute(
        select(usergroup.c.id, usergroup.c.ldap_group_dn).where(
            usergroup.c.group_type == LDAP_GROUP,
            func.lower(usergroup.c.ldap_group_dn).in_(sorted(keys)),
        )
    )
    found = {normalize(row.ldap_group_dn): row.id for row in rows}
    missing = keys - set(found)
    if missing:  # spelled another way by someone else: compare canonical forms
        every = conn.execute(
            select(usergroup.c.id, usergroup.c.ldap_group_dn).where(
                usergroup.c.group_type == LDAP_GROUP, usergroup.c.ldap_group_dn.is_not(None)
            )
        )
        for row in every:
            key = normalize(row.ldap_group_dn)
            if key in missing:
                found.setdefault(key, row.id)
    return found


def onboard_groups(
    conn: Connection,
    groups: Iterable[LdapGroupRef],
    normalize: Callable[[str], str],
    audit: Callable[[LdapGroupRef], AuditRecord],
) -> dict[str, int]:
    """The usergroup id of each group (by ``normalize``d DN), creating missing rows."""
    wanted = {normalize(group.dn): group for group in groups}
    if not wanted:
        return {}
    ids = _rows_by_key(conn, set(wanted), normalize)
    now = utcnow()
    for key, group in wanted.items():
        if key in ids:
            continue
        result = conn.execute(insert(usergroup).values(
            group_name=_clip(group.name) or key[:FIELD_MAX], group_type=LDAP_GROUP,
            ldap_group_dn=group.dn, creation_time=now, update_time=now,
        ))
        ids[key] = inserted_id(result)
        audit_store.write_audit(conn, [audit(group)])
    return ids
