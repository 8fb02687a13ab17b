"""``/search?q=``: projects and repositories whose names contain ``q``, among those the
caller may see (at most 100 of each, by name)."""

from __future__ import annotations

from harbor_twisted.api.artifact_shapes import search_repository
from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import project
from harbor_twisted.core.repositories import SEARCH_LIMIT, RepositoryService
from harbor_twisted.db.listing import Filter, Listing, Sort
from harbor_twisted.web.errors import bad_request


class SearchApi:
    def __init__(self, services: Services) -> None:
        self.projects = services.projects
        self.repositories = RepositoryService(services.identity.db)

    def register(self, router: Router) -> None:
        router.add("/search", GET=self.search)

    async def search(self, call: Call) -> Reply:
        text = call.arg("q")
        if text is None:
            raise bad_request("q is required")
        listing = Listing((Filter("name", "fuzzy", (text,)),), (Sort("name"),), 1,
                          SEARCH_LIMIT)
        projects, _ = await self.projects.list(call.principal, listing)
        repositories = await self.repositories.search(call.principal, text)
        return Reply(body={
            "project": [project(v) for v in projects],
            "repository": [search_repository(r) for r in repositories],
        })
