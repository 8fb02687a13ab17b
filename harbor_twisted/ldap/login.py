"""Directory conversations in a thread, and onboarding a login into the database.

The directory conversation runs in the reactor's thread pool (python-ldap blocks) and is
bounded twice: by the per-operation timeouts in client.py, and by a guard on the Deferred
so a request is answered even if a thread got stuck somewhere we did not foresee.
Users and the groups found at login are onboarded in one transaction (core/ldap_login.py
turns the result into a principal).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection
from twisted.internet import defer, reactor, threads

from harbor_twisted.config import Config
from harbor_twisted.db import ldap_store
from harbor_twisted.db.audit_store import AuditRecord
from harbor_twisted.db.user_store import UserRow
from harbor_twisted.ldap import dn as dns
from harbor_twisted.ldap import settings as ldap_settings
from harbor_twisted.ldap.client import DirectoryUnavailable
from harbor_twisted.ldap.directory import Directory, Login

T = TypeVar("T")
GUARD_FACTOR = 4  # a whole conversation may take this many ldap_timeouts (+ GUARD_SLACK)
GUARD_SLACK = 2.0


async def in_directory(settings: dict[str, Any], config: Config,
                       work: Callable[[Directory], T]) -> T:
    """Run ``work(directory)`` in a thread with these runtime settings.

    Raises DirectoryUnavailable, DirectoryError or LdapConfigError.
    """
    snapshot = dict(settings)
    password = snapshot.pop("ldap_search_password", None)

    def run() -> T:
        if password is None:
            loaded = ldap_settings.load(snapshot, config)
        else:
            loaded = ldap_settings.from_settings(snapshot, password).check()
        return work(Directory(loaded))

    timeout = int(snapshot.get("ldap_timeout") or 5)
    deferred: defer.Deferred[T] = threads.deferToThread(run)
    deferred.addTimeout(timeout * GUARD_FACTOR + GUARD_SLACK, reactor)
    try:
        return await deferred
    except defer.TimeoutError:
        url = snapshot.get("ldap_url") or "the directory"
        raise DirectoryUnavailable(f"{url} did not finish answering in time") from None


def onboard(conn: Connection, login: Login, actor: str, client_ip: str = "") -> tuple[
        UserRow, frozenset[int]]:
    """Create or update the user and its groups; (row, usergroup ids)."""
    user = login.user
    profile = ldap_store.LdapProfile(user.username, user.dn, user.email, user.realname)

    def user_audit(operation: str, detail: dict[str, Any]) -> AuditRecord:
        return AuditRecord(username=actor or user.username, operation=operation,
                           resource_type="user", resource=user.username, client_ip=client_ip,
                           detail=detail)

    def group_audit(group: ldap_store.LdapGroupRef) -> AuditRecord:
        return AuditRecord(username=actor or user.username, operation="create",
                           resource_type="usergroup", resource=group.name, client_ip=client_ip,
                           detail={"ldap_group_dn": group.dn, "onboarded_by_login": user.username})

    row, _ = ldap_store.onboard_user(conn, profile, user_audit)
    groups = [ldap_store.LdapGroupRef(g.dn, g.name) for g in login.groups]
    ids = ldap_store.onboard_groups(conn, groups, dns.key, group_audit)
    return row, frozenset(ids.values())
