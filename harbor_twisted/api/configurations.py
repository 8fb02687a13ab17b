"""``/configurations``: Harbor's ConfigurationsResponse (``{key: {value, editable}}``) and
its flat ``Configurations`` object for changes."""

from __future__ import annotations

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.configurations import ConfigurationService
from harbor_twisted.web.errors import bad_request


class ConfigurationsApi:
    def __init__(self, services: Services) -> None:
        self.configurations = ConfigurationService(services.identity)

    def register(self, router: Router) -> None:
        router.add("/configurations", GET=self.get, PUT=self.update)

    async def get(self, call: Call) -> Reply:
        items = await self.configurations.current(call.principal)
        return Reply(body={name: {"value": item.value, "editable": item.editable}
                           for name, item in items.items()})

    async def update(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object of configuration keys")
        await self.configurations.update(call.actor, body)
        return Reply()
