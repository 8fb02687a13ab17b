"""``/ldap``: ping, users/search, groups/search, users/import (Harbor's paths and shapes)."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.ldap_admin import LdapFailed, LdapService, LdapUnavailable
from harbor_twisted.web.errors import ApiError, bad_request

_STRINGS = ("ldap_url", "ldap_search_dn", "ldap_search_password", "ldap_base_dn",
            "ldap_filter", "ldap_uid", "ldap_ca_file")
_INTEGERS = ("ldap_scope", "ldap_connection_timeout", "ldap_timeout")
_BOOLEANS = ("ldap_verify_cert", "ldap_starttls")
MAX_IMPORT = 1000


def _directory_error(error: LdapUnavailable | LdapFailed) -> ApiError:
    if isinstance(error, LdapUnavailable):
        failure = ApiError(503, error.message)
        failure.code = "SERVICE_UNAVAILABLE"
        return failure
    return ApiError(500, error.message)


def _ldap_conf(call: Call) -> dict[str, Any]:
    """The optional LdapConf body of a ping, typed."""
    if call.json() is None:
        return {}
    body = call.body()
    conf: dict[str, Any] = {}
    for name in _STRINGS:
        conf[name] = body.string(name)
    for name in _INTEGERS:
        conf[name] = body.integer(name)
    for name in ("ldap_connection_timeout", "ldap_timeout"):  # the guard timer needs > 0
        if conf[name] is not None and not 1 <= conf[name] <= 300:
            raise bad_request(f"{name} must be between 1 and 300 seconds")
    for name in _BOOLEANS:
        conf[name] = body.boolean(name)
    return {k: v for k, v in conf.items() if v is not None}


class LdapApi:
    def __init__(self, services: Services) -> None:
        self.ldap = LdapService(services.identity)

    def register(self, router: Router) -> None:
        router.add("/ldap/ping", POST=self.ping)
        router.add("/ldap/users/search", GET=self.search_users)
        router.add("/ldap/groups/search", GET=self.search_groups)
        router.add("/ldap/users/import", POST=self.import_users)

    async def ping(self, call: Call) -> Reply:
        result = await self.ldap.ping(call.principal, _ldap_conf(call))
        return Reply(body={"success": result.success, "message": result.message})

    async def search_users(self, call: Call) -> Reply:
        try:
            users = await self.ldap.search_users(call.principal, call.arg("username"))
        except (LdapUnavailable, LdapFailed) as error:
            raise _directory_error(error) from None
        return Reply(body=[{"username": u.username, "realname": u.realname,
                            "email": u.email or ""} for u in users])

    async def search_groups(self, call: Call) -> Reply:
        name, group_dn = call.arg("groupname"), call.arg("groupdn")
        try:
            groups = await self.ldap.search_groups(call.principal, name, group_dn)
        except (LdapUnavailable, LdapFailed) as error:
            raise _directory_error(error) from None
        if not groups:
            raise ApiError(404, f"group name: {name or ''}, group DN: {group_dn or ''}")
        return Reply(body=[{"group_name": g.name, "group_type": 1, "ldap_group_dn": g.dn}
                           for g in groups])

    async def import_users(self, call: Call) -> Reply:
        values = call.body().data.get("ldap_uid_list")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad_request("ldap_uid_list must be a list of strings")
        if len(values) > MAX_IMPORT:
            raise bad_request(f"import at most {MAX_IMPORT} users at once")
        uids = list(dict.fromkeys(v.strip() for v in values))
        if any("\x00" in uid for uid in uids):
            raise bad_request("ldap_uid_list must not contain NUL characters")
        try:
            failed = await self.ldap.import_users(call.actor, uids)
        except (LdapUnavailable, LdapFailed) as error:
            raise _directory_error(error) from None
        if failed:
            return Reply(404, [{"uid": uid, "error": reason} for uid, reason in failed])
        return Reply()
