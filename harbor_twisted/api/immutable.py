"""``/projects/{project}/immutabletagrules``: tag immutability rules (Harbor's
``ImmutableRule``). Project Admins and Maintainers manage them."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.immutability import ImmutabilityService
from harbor_twisted.db.immutable_store import ImmutableRuleRecord


def rule_shape(record: ImmutableRuleRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "project_id": record.project_id,
        "priority": record.priority,
        "disabled": record.disabled,
        "action": record.action,
        "template": record.template,
        "params": {},
        "tag_selectors": record.tag_selectors,
        "scope_selectors": record.scope_selectors,
    }


class ImmutableApi:
    def __init__(self, services: Services) -> None:
        self.rules = ImmutabilityService(services.identity.db)

    def register(self, router: Router) -> None:
        router.add("/projects/{project}/immutabletagrules", GET=self.list, POST=self.create)
        router.add("/projects/{project}/immutabletagrules/{immutable_rule_id}",
                   PUT=self.update, DELETE=self.delete)

    async def list(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        records, total = await self.rules.list(call.principal, call.project_ref(),
                                               (page - 1) * page_size, page_size)
        return paged(call, [rule_shape(r) for r in records], total, page, page_size)

    async def create(self, call: Call) -> Reply:
        rule_id = await self.rules.create(call.actor, call.project_ref(), call.json())
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{rule_id}"})

    async def update(self, call: Call) -> Reply:
        await self.rules.update(call.actor, call.project_ref(),
                                call.int_param("immutable_rule_id"), call.json())
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.rules.delete(call.actor, call.project_ref(),
                                call.int_param("immutable_rule_id"))
        return Reply()
