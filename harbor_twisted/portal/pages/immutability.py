"""A project's tag immutability rules: which tags of which repositories no push may move and
no delete may remove. Project Admins and Maintainers manage them (the matrix says so)."""

from __future__ import annotations

from harbor_twisted.core.errors import Forbidden
from harbor_twisted.core.projects import ProjectRef
from harbor_twisted.portal.pages import paging, urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import changed
from harbor_twisted.portal.pages.project import project_values

REPOSITORY_DECORATIONS = {"repoMatches": "matching", "repoExcludes": "not matching"}
TAG_DECORATIONS = {"matches": "matching", "excludes": "not matching"}


def _ref(ctx: PageContext) -> ProjectRef:
    return ProjectRef(ctx.params["project"], is_name=True)


def _tab(ctx: PageContext) -> str:
    return urls.project(ctx.params["project"], "immutability")


async def rules(ctx: PageContext) -> Page:
    values = await project_values(ctx, "immutability")
    page = ctx.page_number()
    records, total = await ctx.services.immutability.list(
        ctx.principal, _ref(ctx), (page - 1) * paging.PAGE_SIZE, paging.PAGE_SIZE)
    return Page("project_immutability.html", {
        **values, "rules": records, "pager": paging.Pager(page, total),
        "repository_decorations": REPOSITORY_DECORATIONS, "tag_decorations": TAG_DECORATIONS,
    }, title=f"Tag immutability in {ctx.params['project']}")


def _choice(text: str, known: dict[str, str]) -> str:
    return text if text in known else next(iter(known))


async def add_rule(ctx: PageContext) -> Redirect:
    body = {
        "scope_selectors": {"repository": [{
            "kind": "doublestar",
            "decoration": _choice(ctx.field("repository_decoration"), REPOSITORY_DECORATIONS),
            "pattern": ctx.field("repository_pattern") or "**"}]},
        "tag_selectors": [{
            "kind": "doublestar",
            "decoration": _choice(ctx.field("tag_decoration"), TAG_DECORATIONS),
            "pattern": ctx.field("tag_pattern")}],
    }
    return await changed(ctx.services.immutability.create(ctx.actor, _ref(ctx), body),
                         _tab(ctx), "Rule added.")


async def confirm_delete_rule(ctx: PageContext) -> Page:
    values = await project_values(ctx, "immutability")
    if not values["can"]["manage_immutable"]:  # type: ignore[index]
        raise Forbidden("your role in this project may not change immutability rules")
    return confirmation(
        "Delete this immutability rule? Its tags may then "
        "be moved and deleted again.",
        "Delete rule", _tab(ctx))


async def delete_rule(ctx: PageContext) -> Redirect:
    return await changed(
        ctx.services.immutability.delete(ctx.actor, _ref(ctx), int(ctx.params["rule"])),
        _tab(ctx), "Rule deleted.")
