"""The projects the caller may see (search, pages, sort) and creating one."""

from __future__ import annotations

from harbor_twisted.core import quotas
from harbor_twisted.core.errors import Invalid
from harbor_twisted.db import quota_store
from harbor_twisted.portal.pages import paging, urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect
from harbor_twisted.portal.pages.outcome import changed

GIB = 1024**3


async def list_projects(ctx: PageContext) -> Page:
    name = ctx.arg("name")
    sort_key, sort = paging.sort_of(ctx.arg("sort"), "name")
    page = ctx.page_number()
    views, total = await ctx.services.projects.list(
        ctx.principal, paging.listing(page, name, sort=sort))
    return Page("projects.html", {
        "projects": views,
        "quotas": await ctx.services.projects.quotas_of(views),
        "pager": paging.Pager(page, total),
        "name": name,
        "sort": sort_key,
        "may_create": ctx.services.projects.creation_allowed(ctx.principal),
    }, title="Projects")


def _storage_limit(text: str) -> int:
    """The form's quota in GiB; empty means no limit."""
    if not text:
        return quota_store.UNLIMITED
    try:
        gib = float(text)
    except ValueError:
        raise Invalid("the storage quota must be a number of GiB") from None
    if gib <= 0 or gib > 1024 * 1024:
        raise Invalid("the storage quota must be between 0 and 1048576 GiB")
    return quotas.check_limit(int(gib * GIB), "storage_limit")


async def create_project(ctx: PageContext) -> Redirect:
    name = ctx.field("project_name")
    public = "true" if ctx.field("public") == "true" else "false"

    async def create() -> None:
        limit = _storage_limit(ctx.field("storage_limit_gib"))
        await ctx.services.projects.create(ctx.actor, name, {"public": public}, limit)

    return await changed(create(), urls.project(name), f"Project {name} created.",
                         back=urls.HOME)
