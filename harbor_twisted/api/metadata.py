"""``/projects/{p}/metadatas``: Harbor's per-project settings, one key at a time."""

from __future__ import annotations

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.web.errors import ApiError, bad_request


class MetadataApi:
    def __init__(self, services: Services) -> None:
        self.projects = services.projects

    def register(self, router: Router) -> None:
        router.add("/projects/{project}/metadatas", GET=self.list, POST=self.add)
        router.add("/projects/{project}/metadatas/{meta_name}", GET=self.get, PUT=self.set,
                   DELETE=self.delete)

    async def list(self, call: Call) -> Reply:
        return Reply(body=await self.projects.metadata(call.principal, call.project_ref()))

    async def get(self, call: Call) -> Reply:
        key = call.params["meta_name"]
        values = await self.projects.metadata(call.principal, call.project_ref())
        if key not in values:
            raise ApiError(404, f"metadata {key} not found")
        return Reply(body={key: values[key]})

    async def add(self, call: Call) -> Reply:
        body = call.body()
        await self.projects.add_metadata(call.actor, call.project_ref(), dict(body.data))
        return Reply()

    async def set(self, call: Call) -> Reply:
        key = call.params["meta_name"]
        body = call.body()
        if not body.has(key):
            raise bad_request(f"the body must hold the {key} key, like {{\"{key}\": \"true\"}}")
        await self.projects.set_metadata(call.actor, call.project_ref(), key, body.data[key])
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.projects.delete_metadata(call.actor, call.project_ref(),
                                            call.params["meta_name"])
        return Reply()
