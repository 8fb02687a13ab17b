"""``/configurations``: Harbor's ConfigurationsResponse (``{key: {value, editable}}``) and
its flat ``Configurations`` object for changes."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.auth_mode_switch import SwitchPlan
from harbor_twisted.core.configurations import ConfigurationService
from harbor_twisted.web.errors import bad_request


class ConfigurationsApi:
    def __init__(self, services: Services) -> None:
        self.configurations = ConfigurationService(services.identity)

    def register(self, router: Router) -> None:
        router.add("/configurations", GET=self.get, PUT=self.update)
        router.add("/configurations/auth_mode_switch", GET=self.switch_plan)

    async def switch_plan(self, call: Call) -> Reply:
        """The auth mode switch's dry run (docs/ldap.md): what ``PUT`` would do, nothing done."""
        target = call.arg("to")
        if not target:
            raise bad_request("to (the wanted auth_mode) is required")
        found = await self.configurations.switch_auth_mode(call.actor, target, dry_run=True)
        return Reply(body=plan_body(found))

    async def get(self, call: Call) -> Reply:
        items = await self.configurations.current(call.principal)
        return Reply(body={name: {"value": item.value, "editable": item.editable}
                           for name, item in items.items()})

    async def update(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object of configuration keys")
        force = bool(call.bool_arg("force"))
        if force and "auth_mode" in body:
            if set(body) != {"auth_mode"}:
                raise bad_request("force=true takes a body of auth_mode alone")
            await self.configurations.switch_auth_mode(
                call.actor, body["auth_mode"], dry_run=False, force=True)
            return Reply()
        await self.configurations.update(call.actor, body)
        return Reply()


def plan_body(found: SwitchPlan) -> dict[str, Any]:
    return {
        "from": found.current, "to": found.target,
        "linked": [{"username": link.username, "directory_username": link.directory_name,
                    "dn": link.dn} for link in found.linked],
        "kept_local": [{"username": name, "reason": why} for name, why in found.kept_local],
        "conflicts": list(found.conflicts),
        "needs_password_reset": list(found.needs_reset),
    }
