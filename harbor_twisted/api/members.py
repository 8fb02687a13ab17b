"""``/projects/{p}/members``: users and groups with a role in a project."""

from __future__ import annotations

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import member
from harbor_twisted.core.members import MemberRequest
from harbor_twisted.db.listing import Filter, Listing
from harbor_twisted.web.errors import bad_request


class MembersApi:
    def __init__(self, services: Services) -> None:
        self.members = services.members

    def register(self, router: Router) -> None:
        router.add("/projects/{project}/members", GET=self.list, POST=self.create)
        router.add("/projects/{project}/members/{mid}", GET=self.get, PUT=self.update,
                   DELETE=self.delete)

    async def list(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        name = call.arg("entityname")
        filters = (Filter("entityname", "fuzzy", (name,)),) if name else ()
        listing = Listing(filters, (), page, page_size)
        records, total = await self.members.list(call.principal, call.project_ref(), listing)
        return paged(call, [member(r) for r in records], total, page, page_size)

    async def get(self, call: Call) -> Reply:
        record = await self.members.get(call.principal, call.project_ref(),
                                        call.int_param("mid"))
        return Reply(body=member(record))

    async def create(self, call: Call) -> Reply:
        body = call.body()
        role_id = body.integer("role_id", required=True) or 0
        user = body.object("member_user")
        group = body.object("member_group")
        request = MemberRequest(role_id)
        if user is not None and (user.has("user_id") or user.has("username")):
            user_id = user.integer("user_id")
            request = MemberRequest(role_id, user_id=user_id or None,
                                    username=None if user_id else user.string("username"))
        if group is not None and (group.has("id") or group.has("ldap_group_dn")):
            if request.user_id is not None or request.username is not None:
                raise bad_request("give member_user or member_group, not both")
            group_id = group.integer("id")
            request = MemberRequest(role_id, group_id=group_id or None,
                                    ldap_group_dn=None if group_id
                                    else group.string("ldap_group_dn"))
        member_id = await self.members.create(call.actor, call.project_ref(), request)
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{member_id}"})

    async def update(self, call: Call) -> Reply:
        role_id = call.body().integer("role_id", required=True) or 0
        await self.members.update(call.actor, call.project_ref(), call.int_param("mid"),
                                  role_id)
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.members.delete(call.actor, call.project_ref(), call.int_param("mid"))
        return Reply()
