"""User groups: LDAP groups (by DN), HTTP and OIDC groups, which hold project roles for
their members. System admins manage them; any signed-in user may search them by name
(to add one as a project member). Each change is audited in its own transaction.

LDAP groups are also onboarded at login by ``harbor_twisted.ldap`` into the same table;
DNs are stored in the canonical form that package uses, so both find the same row. Under
``ldap_auth`` a new LDAP group's DN must exist in the directory (as in Harbor); in other
modes it is stored unchecked, so groups can be prepared before switching.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.core.audit import Actor, listed
from harbor_twisted.core.errors import Conflict, Invalid, NotFound
from harbor_twisted.core.identity import IdentityService
from harbor_twisted.core.ldap_admin import LdapService
from harbor_twisted.core.rbac import Principal, require_signed_in, require_sysadmin
from harbor_twisted.db import audit_store, group_store
from harbor_twisted.db.listing import Filter, Listing
from harbor_twisted.db.member_store import GroupRecord
from harbor_twisted.ldap import dn as dns

LDAP_GROUP, HTTP_GROUP, OIDC_GROUP = 1, 2, 3
GROUP_TYPES = {LDAP_GROUP: "LDAP", HTTP_GROUP: "HTTP", OIDC_GROUP: "OIDC"}
NAME_MAX = 255
DN_MAX = 1024


@dataclass(frozen=True)
class NewGroup:
    group_name: str | None
    group_type: int | None
    ldap_group_dn: str | None


def check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("group_name is required")
    if len(name) > NAME_MAX:
        raise Invalid(f"group_name must be at most {NAME_MAX} characters long")
    return name


def check_dn(dn: str | None) -> str:
    """A syntactically valid DN, in canonical form."""
    dn = (dn or "").strip()
    if not dn:
        raise Invalid("ldap_group_dn is required for an LDAP group (group_type 1)")
    if len(dn) > DN_MAX or not dns.is_valid(dn):
        raise Invalid(f"ldap_group_dn {dn!r} is not a valid DN (e.g. cn=devs,ou=groups,dc=x)")
    return dns.canonical(dn)


def name_from_dn(dn: str) -> str:
    """The value of the DN's first RDN (``cn=devs,…`` → ``devs``), Harbor's display name."""
    return dns.first_value(dn)[:NAME_MAX]


def normalized(new: NewGroup) -> tuple[str, int, str | None]:
    group_type = new.group_type
    if group_type is None:
        group_type = LDAP_GROUP if new.ldap_group_dn else HTTP_GROUP
    if group_type not in GROUP_TYPES:
        raise Invalid("group_type must be 1 (LDAP), 2 (HTTP) or 3 (OIDC)")
    if group_type != LDAP_GROUP:
        if new.ldap_group_dn:
            raise Invalid("ldap_group_dn is only for LDAP groups (group_type 1)")
        return check_name(new.group_name), group_type, None
    dn = check_dn(new.ldap_group_dn)
    name = check_name(new.group_name if (new.group_name or "").strip() else name_from_dn(dn))
    return name, group_type, dn


def _existing(conn: Connection, group_id: int) -> GroupRecord:
    found = group_store.get_group(conn, group_id)
    if found is None:
        raise NotFound(f"the user group with id {group_id} is not found")
    return found


def _audit(conn: Connection, actor: Actor, operation: str, group: GroupRecord,
           extra: dict[str, object] | None = None) -> None:
    detail: dict[str, object] = {"group_type": group.group_type}
    if group.ldap_group_dn:
        detail["ldap_group_dn"] = group.ldap_group_dn
    audit_store.write_audit(
        conn, [actor.record(operation, "user_group", group.group_name,
                            detail={**detail, **(extra or {})})]
    )


class UserGroupService:
    def __init__(self, identity: IdentityService) -> None:
        self.identity = identity
        self.db = identity.db

    async def list(
        self, principal: Principal, listing: Listing, ldap_group_dn: str | None = None
    ) -> tuple[list[GroupRecord], int]:
        """System admins only; under ``ldap_auth`` only LDAP groups, as Harbor lists them."""
        require_sysadmin(principal, "manage user groups")
        group_type = LDAP_GROUP if self.identity.settings.get("auth_mode") == "ldap_auth" else None
        return await self.db.run(
            lambda conn: listed(group_store.list_groups, conn, listing, group_type, ldap_group_dn)
        )

    async def search(
        self, principal: Principal, group_name: str, page: int, page_size: int
    ) -> tuple[builtins.list[GroupRecord], int]:
        require_signed_in(principal)
        listing = Listing((Filter("group_name", "fuzzy", (group_name,)),), (), page, page_size)
        return await self.db.run(lambda conn: listed(group_store.list_groups, conn, listing))

    async def get(self, principal: Principal, group_id: int) -> GroupRecord:
        require_sysadmin(principal, "manage user groups")
        return await self.db.run(_existing, group_id)

    async def create(self, actor: Actor, new: NewGroup) -> int:
        """Raises LdapUnavailable or LdapFailed when the directory cannot be asked."""
        require_sysadmin(actor.principal, "manage user groups")
        name, group_type, dn = normalized(new)
        if dn is not None and self.identity.settings.get("auth_mode") == "ldap_auth":
            found = await LdapService(self.identity).search_groups(actor.principal, None, dn)
            if not found:
                raise Invalid(f"LDAP Group DN is not found: DN:{dn}")

        def run(conn: Connection) -> int:
            if dn is not None and (other := group_store.find_by_dn(conn, dn)) is not None:
                raise Conflict(f"an LDAP group with DN {other.ldap_group_dn} already exists "
                               f"(id {other.id})")
            if group_store.find_by_name(conn, name, group_type) is not None:
                raise Conflict(f"duplicate user group: a {GROUP_TYPES[group_type]} group "
                               f"named {name} already exists")
            try:
                group_id = group_store.create_group(conn, name, group_type, dn)
            except IntegrityError:
                raise Conflict(f"duplicate user group {name}") from None
            _audit(conn, actor, "create", GroupRecord(group_id, name, group_type, dn))
            return group_id

        return await self.db.run(run)

    async def rename(self, actor: Actor, group_id: int, group_name: str | None) -> None:
        """Only the name changes (as in Harbor); the type and DN identify the group."""
        require_sysadmin(actor.principal, "manage user groups")
        name = check_name(group_name)

        def run(conn: Connection) -> None:
            group = _existing(conn, group_id)
            if group.group_name == name:
                return
            if group_store.find_by_name(conn, name, group.group_type, except_id=group_id):
                raise Conflict(f"duplicate user group: a {GROUP_TYPES.get(group.group_type)} "
                               f"group named {name} already exists")
            group_store.rename_group(conn, group_id, name)
            _audit(conn, actor, "update", GroupRecord(group_id, name, group.group_type,
                                                      group.ldap_group_dn),
                   {"previous_name": group.group_name})

        await self.db.run(run)

    async def delete(self, actor: Actor, group_id: int) -> None:
        """Removes the group and every project membership it held."""
        require_sysadmin(actor.principal, "manage user groups")

        def run(conn: Connection) -> None:
            group = _existing(conn, group_id)
            removed = group_store.delete_group(conn, group_id)
            _audit(conn, actor, "delete", group, {"memberships_removed": removed})

        await self.db.run(run)
        self.identity.forget_credentials()
