"""LDAP logins as principals (``auth_mode: ldap_auth``).

The directory work runs in a thread (ldap/login.py); the principal's ``group_ids`` are the
usergroup ids onboarded at login, and membership of ``ldap_group_admin_dn`` makes the
principal a system admin for as long as it lives (Harbor's rule; never stored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from twisted.logger import Logger

from harbor_twisted.core.errors import DirectoryUnreachable
from harbor_twisted.core.rbac import Principal, principal_for
from harbor_twisted.db import ldap_store
from harbor_twisted.db.user_store import UserRow
from harbor_twisted.ldap.client import DirectoryError, DirectoryUnavailable
from harbor_twisted.ldap.directory import Directory, Login, Refused
from harbor_twisted.ldap.login import in_directory, onboard
from harbor_twisted.ldap.settings import LdapConfigError

if TYPE_CHECKING:
    from harbor_twisted.core.identity import IdentityService

log = Logger(namespace="harbor_twisted.ldap")

ONBOARD_ATTEMPTS = 3  # concurrent first logins may race to insert the same rows


def _principal(row: UserRow, group_ids: frozenset[int], admin: bool) -> Principal:
    principal = principal_for(row, group_ids)
    return dataclasses.replace(principal, sysadmin=True) if admin else principal


class LdapAuthenticator:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    async def authenticate(self, username: str, password: str) -> Principal | None:
        """A principal for a directory user with the right password; None otherwise.

        Raises DirectoryUnreachable when the directory did not answer within
        ``ldap_timeout``, so the client learns why rather than "wrong password"."""
        if not username or not password:  # the anonymous-bind trap: never ask
            return None
        outcome = await self._ask(username, lambda d: d.login(username, password),
                                  unreachable_fails=True)
        return None if outcome is None else await self._onboarded(outcome)

    async def principal_for(self, row: UserRow) -> Principal | None:
        """The principal of an onboarded user, groups read afresh with the search account
        (refresh tokens carry only the name); None when the directory no longer has it."""
        outcome = await self._ask(row.username, lambda d: d.lookup(row.username))
        return None if outcome is None else await self._onboarded(outcome)

    async def _ask(self, username: str, work: Callable[[Directory], Login | Refused],
                   unreachable_fails: bool = False) -> Login | None:
        try:
            outcome = await in_directory(self.identity.settings, self.identity.config, work)
        except DirectoryUnavailable as error:
            log.warn("LDAP login of {user!r} failed: {error}", user=username, error=str(error))
            if unreachable_fails:
                raise DirectoryUnreachable(
                    "the LDAP directory did not answer; try again later") from None
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
