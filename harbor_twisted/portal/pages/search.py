"""Projects and repositories whose names contain the words, among those the caller may
see (the REST API's ``/search``)."""

from __future__ import annotations

from harbor_twisted.core.projects import ProjectView
from harbor_twisted.core.repositories import SEARCH_LIMIT
from harbor_twisted.db.listing import Filter, Listing, Sort
from harbor_twisted.db.repository_store import RepositoryRecord
from harbor_twisted.portal.pages.context import Page, PageContext


async def search(ctx: PageContext) -> Page:
    text = ctx.arg("q")
    projects: list[ProjectView] = []
    repositories: list[tuple[RepositoryRecord, str]] = []
    if text:
        listing = Listing((Filter("name", "fuzzy", (text,)),), (Sort("name"),), 1,
                          SEARCH_LIMIT)
        projects, _ = await ctx.services.projects.list(ctx.principal, listing)
        records = await ctx.services.repositories.search(ctx.principal, text)
        repositories = [(r, r.name.removeprefix(r.project_name + "/")) for r in records]
    return Page("search.html", {"q": text, "projects": projects,
                                "repositories": repositories, "limit": SEARCH_LIMIT},
                title=f"Search: {text}" if text else "Search")
