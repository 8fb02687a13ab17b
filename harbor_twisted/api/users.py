"""``/users``: list, search, current, one user, password, system-admin flag, registration."""

from __future__ import annotations

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import listing_of, page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import user_resp, user_search_item
from harbor_twisted.core.users import NewUser, ProfileChange
from harbor_twisted.db.listing import Filter
from harbor_twisted.web.errors import bad_request


class UsersApi:
    def __init__(self, services: Services) -> None:
        self.users = services.users

    def register(self, router: Router) -> None:
        router.add("/users", GET=self.list, POST=self.create)
        router.add("/users/current", GET=self.current)
        router.add("/users/search", GET=self.search)
        router.add("/users/{user_id}", GET=self.get, PUT=self.update, DELETE=self.delete)
        router.add("/users/{user_id}/password", PUT=self.password)
        router.add("/users/{user_id}/sysadmin", PUT=self.sysadmin)

    async def list(self, call: Call) -> Reply:
        extra = [Filter(key, "fuzzy", (value,)) for key in ("username", "email")
                 if (value := call.arg(key))]
        listing = listing_of(call, extra)
        users, total = await self.users.list(call.principal, listing)
        return paged(call, [user_resp(u) for u in users], total, listing.page,
                     listing.page_size)

    async def search(self, call: Call) -> Reply:
        username = call.arg("username")
        if not username:
            raise bad_request("username is required")
        page, page_size = page_of(call)
        users, total = await self.users.search(call.principal, username, page, page_size)
        return paged(call, [user_search_item(u) for u in users], total, page, page_size)

    async def current(self, call: Call) -> Reply:
        current = await self.users.current(call.principal)
        return Reply(body=user_resp(current, admin_role_in_auth=call.principal.sysadmin))

    async def get(self, call: Call) -> Reply:
        user = await self.users.get(call.principal, call.int_param("user_id"))
        return Reply(body=user_resp(user))

    async def create(self, call: Call) -> Reply:
        body = call.body()
        new = NewUser(
            username=body.string("username", required=True) or "",
            email=body.string("email") or "",
            password=body.string("password", required=True) or "",
            realname=body.string("realname") or "",
            comment=body.string("comment") or "",
        )
        user_id = await self.users.create(call.actor, new)
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{user_id}"})

    async def update(self, call: Call) -> Reply:
        body = call.body()
        change = ProfileChange(
            email=body.string("email"), realname=body.string("realname"),
            comment=body.string("comment"),
        )
        await self.users.update_profile(call.actor, call.int_param("user_id"), change)
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.users.delete(call.actor, call.int_param("user_id"))
        return Reply()

    async def password(self, call: Call) -> Reply:
        body = call.body()
        old = body.string("old_password")
        new = body.string("new_password", required=True) or ""
        await self.users.change_password(call.actor, call.int_param("user_id"), old, new)
        return Reply()

    async def sysadmin(self, call: Call) -> Reply:
        flag = call.body().boolean("sysadmin_flag", required=True)
        await self.users.set_sysadmin(call.actor, call.int_param("user_id"), bool(flag))
        return Reply()
