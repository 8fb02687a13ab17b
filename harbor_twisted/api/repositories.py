"""``/repositories`` and ``/projects/{p}/repositories[/{r}]``: list, read, describe, delete.

Repository names are percent-encoded twice by Harbor's clients (``a%252Fb``).
"""

from __future__ import annotations

from harbor_twisted.api.artifact_shapes import repository
from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import listing_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.repositories import RepositoryService

REPOSITORY = "/projects/{project}/repositories/{repository}"


class RepositoriesApi:
    def __init__(self, services: Services) -> None:
        self.repositories = RepositoryService(services.identity.db)

    def register(self, router: Router) -> None:
        router.add("/repositories", GET=self.list_all)
        router.add("/projects/{project}/repositories", GET=self.list)
        router.add(REPOSITORY, twice=("repository",), GET=self.get, PUT=self.update,
                   DELETE=self.delete)

    async def list_all(self, call: Call) -> Reply:
        listing = listing_of(call)
        records, total = await self.repositories.list_all(call.principal, listing)
        return paged(call, [repository(r) for r in records], total, listing.page,
                     listing.page_size)

    async def list(self, call: Call) -> Reply:
        listing = listing_of(call)
        records, total = await self.repositories.list_in_project(
            call.principal, call.params["project"], listing)
        return paged(call, [repository(r) for r in records], total, listing.page,
                     listing.page_size)

    async def get(self, call: Call) -> Reply:
        record = await self.repositories.get(call.principal, call.params["project"],
                                             call.params["repository"])
        return Reply(body=repository(record))

    async def update(self, call: Call) -> Reply:
        description = call.body().string("description") or ""
        await self.repositories.update(call.actor, call.params["project"],
                                       call.params["repository"], description)
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.repositories.delete(call.actor, call.params["project"],
                                       call.params["repository"])
        return Reply()
