"""``/usergroups``: Harbor's UserGroup and UserGroupSearchItem shapes."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import listing_of, page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.ldap_admin import LdapFailed, LdapUnavailable
from harbor_twisted.core.usergroups import NewGroup, UserGroupService
from harbor_twisted.db.listing import Filter
from harbor_twisted.db.member_store import GroupRecord
from harbor_twisted.web.errors import ApiError, bad_request


def user_group(group: GroupRecord) -> dict[str, Any]:
    return {"id": group.id, "group_name": group.group_name, "group_type": group.group_type,
            "ldap_group_dn": group.ldap_group_dn or ""}


def user_group_search_item(group: GroupRecord) -> dict[str, Any]:
    return {"id": group.id, "group_name": group.group_name, "group_type": group.group_type}


class UserGroupsApi:
    def __init__(self, services: Services) -> None:
        self.groups = UserGroupService(services.identity)

    def register(self, router: Router) -> None:
        router.add("/usergroups", GET=self.list, POST=self.create)
        router.add("/usergroups/search", GET=self.search)  # before {group_id}
        router.add("/usergroups/{group_id}", GET=self.get, PUT=self.update, DELETE=self.delete)

    async def list(self, call: Call) -> Reply:
        name = call.arg("group_name")
        extra = [Filter("group_name", "fuzzy", (name,))] if name else []
        listing = listing_of(call, extra)
        groups, total = await self.groups.list(call.principal, listing,
                                               call.arg("ldap_group_dn") or None)
        return paged(call, [user_group(g) for g in groups], total, listing.page,
                     listing.page_size)

    async def search(self, call: Call) -> Reply:
        name = call.arg("groupname")
        if not name:
            raise bad_request("need to provide groupname to search user group")
        page, page_size = page_of(call)
        groups, total = await self.groups.search(call.principal, name, page, page_size)
        return paged(call, [user_group_search_item(g) for g in groups], total, page, page_size)

    async def get(self, call: Call) -> Reply:
        group = await self.groups.get(call.principal, call.int_param("group_id"))
        return Reply(body=user_group(group))

    async def create(self, call: Call) -> Reply:
        body = call.body()
        new = NewGroup(body.string("group_name"), body.integer("group_type"),
                       body.string("ldap_group_dn"))
        try:
            group_id = await self.groups.create(call.actor, new)
        except LdapUnavailable as error:  # the DN could not be checked in the directory
            unavailable = ApiError(503, error.message)
            unavailable.code = "SERVICE_UNAVAILABLE"
            raise unavailable from None
        except LdapFailed as error:
            raise ApiError(500, error.message) from None
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{group_id}"})

    async def update(self, call: Call) -> Reply:
        name = call.body().string("group_name")
        await self.groups.rename(call.actor, call.int_param("group_id"), name)
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.groups.delete(call.actor, call.int_param("group_id"))
        return Reply()
