"""LDAP logins as principals: the directory work in a thread, onboarding in the database.

The directory conversation runs in the reactor's thread pool (python-ldap blocks) and is
bounded twice: by the per-operation timeouts in client.py, and by a guard on the Deferred
so a request is answered even if a thread got stuck somewhere we did not foresee.
Users and the groups found at login are onboarded in one transaction; the principal's
``group_ids`` are those usergroup ids, and membership of ``ldap_group_admin_dn`` makes the
principal a system admin for as long as it lives (Harbor's rule; never stored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from twisted.internet import defer, reactor, threads
from twisted.logger import Logger

from harbor_twisted.core.rbac import Principal
from harbor_twisted.db import ldap_store
from harbor_twisted.db.identity_store import AuditRecord, UserRow
from harbor_twisted.ldap import dn as dns
from harbor_twisted.ldap import settings as ldap_settings
from harbor_twisted.ldap.client import DirectoryError, DirectoryUnavailable
from harbor_twisted.ldap.directory import Directory, Login, Refused
from harbor_twisted.ldap.settings import LdapConfigError

if TYPE_CHECKING:
    from harbor_twisted.core.identity import IdentityService

log = Logger(namespace="harbor_twisted.ldap")

T = TypeVar("T")
GUARD_FACTOR = 4  # a whole conversation may take this many ldap_timeouts (+ GUARD_SLACK)
GUARD_SLACK = 2.0
ONBOARD_ATTEMPTS = 3  # concurrent first logins may race to insert the same rows


async def in_directory(identity: IdentityService, work: Callable[[Directory], T],
                       settings: dict[str, Any] | None = None) -> T:
    """Run ``work(directory)`` in a thread with the current (or given) settings.

    Raises DirectoryUnavailable, DirectoryError or LdapConfigError.
    """
    snapshot = dict(identity.settings if settings is None else settings)
    config = identity.config
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


def _principal(row: UserRow, group_ids: frozenset[int], admin: bool) -> Principal:
    from harbor_twisted.core.identity import principal_for  # identity imports this module

    principal = principal_for(row, group_ids)
    return dataclasses.replace(principal, sysadmin=True) if admin else principal


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


class LdapAuthenticator:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    async def authenticate(self, username: str, password: str) -> Principal | None:
        """A principal for a directory user with the right password; None otherwise."""
        if not username or not password:  # the anonymous-bind trap: never ask
            return None
        outcome = await self._ask(username, lambda d: d.login(username, password))
        return None if outcome is None else await self._onboarded(outcome)

    async def principal_for(self, row: UserRow) -> Principal | None:
        """The principal of an onboarded user, groups read afresh with the search account
        (refresh tokens carry only the name); None when the directory no longer has it."""
        outcome = await self._ask(row.username, lambda d: d.lookup(row.username))
        return None if outcome is None else await self._onboarded(outcome)

    async def _ask(self, username: str, work: Callable[[Directory], Login | Refused]
                   ) -> Login | None:
        try:
            outcome = await in_directory(self.identity, work)
        except DirectoryUnavailable as error:
            log.warn("LDAP login of {user!r} failed: {error}", user=username, error=str(error))
            return None
        except (DirectoryError, LdapConfigError) as error:
            log.error("LDAP login of {user!r} failed: {error}", user=username, error=str(error))
            return None
        if isinstance(outcome, Refused):
            log.info("LDAP login refused: {reason}", reason=outcome.reason)
            return None
        return outcome

    async def _onboarded(self, login: Login) -> Principal | None:
        for attempt in range(ONBOARD_ATTEMPTS):
            try:
                row, group_ids = await self.identity.db.run(onboard, login, "")
                return _principal(row, group_ids, login.admin)
            except ldap_store.NotAnLdapUser as error:
                log.warn("LDAP login refused: {error}", error=str(error))
                return None
            except IntegrityError:
                if attempt == ONBOARD_ATTEMPTS - 1:
                    raise
        return None
