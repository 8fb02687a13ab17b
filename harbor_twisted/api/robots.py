"""``/robots``: robot accounts (Harbor's ``RobotCreate``, ``Robot``, ``RobotSec`` shapes)."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Fields, Reply, no_nul
from harbor_twisted.api.listing import listing_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import robot, robot_created
from harbor_twisted.core.robot_rules import Access, Permission, RobotRequest
from harbor_twisted.web.errors import bad_request

MAX_PERMISSIONS = 1000
MAX_ACCESS = 200


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"{where}{key} must be a string")
    return no_nul(value, f"{where}{key}")


def _list(value: Any, where: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{where} must be an array")
    if len(value) > limit:
        raise bad_request(f"{where} has more than {limit} entries")
    return value


def _access(value: Any, where: str) -> Access:
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object")
    effect = _text(value, "effect", f"{where}.") or "allow"
    return Access(_text(value, "resource", f"{where}."), _text(value, "action", f"{where}."),
                  effect)


def _permission(value: Any, where: str) -> Permission:
    if not isinstance(value, dict):
        raise bad_request(f"{where} must be an object")
    items = _list(value.get("access"), f"{where}.access", MAX_ACCESS)
    access = tuple(dict.fromkeys(_access(item, f"{where}.access[{i}]")
                                 for i, item in enumerate(items)))
    return Permission(_text(value, "kind", f"{where}."), _text(value, "namespace", f"{where}."),
                      access)


def robot_request(body: Fields) -> RobotRequest:
    """``RobotCreate`` (POST) or ``Robot`` (PUT); ``secret`` is ignored, as in Harbor."""
    permissions = _list(body.data.get("permissions"), "permissions", MAX_PERMISSIONS)
    return RobotRequest(
        name=body.string("name", required=True) or "",
        level=body.string("level", required=True) or "",
        duration=body.integer("duration") or 0,
        permissions=tuple(_permission(p, f"permissions[{i}]") for i, p in enumerate(permissions)),
        description=body.string("description") or "",
        disable=bool(body.boolean("disable")),
    )


class RobotsApi:
    def __init__(self, services: Services) -> None:
        self.robots = services.robots

    def register(self, router: Router) -> None:
        router.add("/robots", GET=self.list, POST=self.create)
        router.add("/robots/{robot_id}", GET=self.get, PUT=self.update, PATCH=self.refresh,
                   DELETE=self.delete)

    async def list(self, call: Call) -> Reply:
        listing = listing_of(call)
        views, total = await self.robots.list(call.principal, listing)
        return paged(call, [robot(v) for v in views], total, listing.page, listing.page_size)

    async def get(self, call: Call) -> Reply:
        return Reply(body=robot(await self.robots.get(call.principal,
                                                      call.int_param("robot_id"))))

    async def create(self, call: Call) -> Reply:
        created = await self.robots.create(call.actor, robot_request(call.body()))
        location = f"{call.raw_path.rstrip('/')}/{created.id}"
        return Reply(201, robot_created(created), headers={"Location": location})

    async def update(self, call: Call) -> Reply:
        await self.robots.update(call.actor, call.int_param("robot_id"),
                                 robot_request(call.body()))
        return Reply()

    async def refresh(self, call: Call) -> Reply:
        secret = call.body(required=False).string("secret")
        new_secret = await self.robots.refresh_secret(call.actor, call.int_param("robot_id"),
                                                      secret)
        return Reply(body={"secret": new_secret})

    async def delete(self, call: Call) -> Reply:
        await self.robots.delete(call.actor, call.int_param("robot_id"))
        return Reply()
