"""What the ``/ldap`` API does: test settings, search users and groups, import users.

System administrators only. Directory work runs in a thread (ldap/login.py in_directory);
imports onboard users and write their audit rows in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import (
    Invalid,
    PreconditionFailed,
    ServiceError,
)
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.rbac import Principal, require_sysadmin
from harbor_twisted.db import ldap_store
from harbor_twisted.ldap import dn as dns
from harbor_twisted.ldap.client import DirectoryError, DirectoryUnavailable
from harbor_twisted.ldap.directory import DirectoryGroup, DirectoryUser, Login
from harbor_twisted.ldap.login import in_directory, onboard
from harbor_twisted.ldap.settings import LdapConfigError

# LdapConf fields a ping may override -> the setting each one stands for
PING_FIELDS = {
    "ldap_url": "ldap_url",
    "ldap_search_dn": "ldap_search_dn",
    "ldap_base_dn": "ldap_base_dn",
    "ldap_filter": "ldap_filter",
    "ldap_uid": "ldap_uid",
    "ldap_scope": "ldap_scope",
    "ldap_connection_timeout": "ldap_timeout",  # Harbor's name in LdapConf
    "ldap_timeout": "ldap_timeout",
    "ldap_verify_cert": "ldap_verify_cert",
    "ldap_ca_file": "ldap_ca_file",
    "ldap_starttls": "ldap_starttls",
}


class LdapUnavailable(ServiceError):
    """The directory cannot be reached or did not answer in time (503)."""


class LdapFailed(ServiceError):
    """The directory refused the request, e.g. the search account (500)."""


@dataclass(frozen=True)
class PingResult:
    success: bool
    message: str


def ping_settings(current: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings a ping tests: the current ones with the body's fields on top.

    The stored search password is only reused for the stored URL and search DN, so a ping
    cannot send it to another server; a password in the body is used as given."""
    merged = dict(current)
    for field, setting in PING_FIELDS.items():
        if overrides.get(field) is not None:
            merged[setting] = overrides[field]
    password = overrides.get("ldap_search_password")
    if password:
        merged["ldap_search_password"] = password
    elif any(merged.get(k) != current.get(k) for k in ("ldap_url", "ldap_search_dn")):
        merged["ldap_search_password"] = ""
    return merged


class LdapService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity

    async def _ask(self, work: Any, settings: dict[str, Any] | None = None) -> Any:
        try:
            snapshot = self.identity.settings if settings is None else settings
            return await in_directory(snapshot, self.identity.config, work)
        except LdapConfigError as error:
            raise PreconditionFailed(f"LDAP is not configured: {error}") from None
        except DirectoryUnavailable as error:
            raise LdapUnavailable(str(error)) from None
        except DirectoryError as error:
            raise LdapFailed(str(error)) from None

    async def ping(self, principal: Principal, overrides: dict[str, Any]) -> PingResult:
        require_sysadmin(principal, "use the LDAP endpoints")
        settings = ping_settings(self.identity.settings, overrides)
        try:
            message = await self._ask(lambda d: d.ping(), settings)
        except ServiceError as error:
            return PingResult(False, f"error: {error.message}")
        return PingResult(True, message)

    async def search_users(self, principal: Principal, username: str | None
                           ) -> list[DirectoryUser]:
        require_sysadmin(principal, "use the LDAP endpoints")
        return await self._ask(lambda d: d.search_users(username))

    async def search_groups(self, principal: Principal, name: str | None,
                            group_dn: str | None) -> list[DirectoryGroup]:
        require_sysadmin(principal, "use the LDAP endpoints")
        if not name and not group_dn:
            raise Invalid("give groupname or groupdn")
        if not name and group_dn and not dns.is_valid(group_dn):
            raise Invalid(f"invalid DN: {group_dn}")
        return await self._ask(lambda d: d.search_groups(name, group_dn))

    async def import_users(self, actor: Actor, uids: list[str]) -> list[tuple[str, str]]:
        """Onboard each uid's user; the (uid, reason) pairs that failed."""
        require_sysadmin(actor.principal, "use the LDAP endpoints")
        if self.identity.settings.get("auth_mode") != "ldap_auth":
            raise PreconditionFailed("LDAP users can be imported only when auth_mode is "
                                     "ldap_auth")
        answers = await self._ask(lambda d: d.import_users(uids))
        failed = [(uid, found) for uid, found in answers.items() if isinstance(found, str)]
        users = [found for found in answers.values() if isinstance(found, DirectoryUser)]
        for user in users:
            if not await self._import(actor, user):
                failed.append((user.username, f"failed to import user: {user.username}"))
        return failed

    async def _import(self, actor: Actor, user: DirectoryUser) -> bool:
        login = Login(user, (), False)  # groups are onboarded at the user's first login

        def run(conn: Connection) -> None:
            onboard(conn, login, actor.username, actor.client_ip)

        for _ in range(2):
            try:
                await self.identity.db.run(run)
                return True
            except ldap_store.NotAnLdapUser:
                return False
            except IntegrityError:
                continue
        return False
