"""A project's robot accounts: listed for members, created and deleted by Project Admins.
A new robot's secret is shown once, on the answer to the form, and never again."""

from __future__ import annotations

from harbor_twisted.core.errors import Forbidden, Invalid
from harbor_twisted.core.robots import Access, Permission, RobotRequest
from harbor_twisted.db.listing import Filter, Listing
from harbor_twisted.portal.pages import paging, urls
from harbor_twisted.portal.pages.context import Flash, Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import FIXABLE, changed
from harbor_twisted.portal.pages.project import project_values

# The permissions the form offers, as (resource, action, label).
CHOICES = (
    ("repository", "pull", "Pull images"),
    ("repository", "push", "Push images"),
    ("artifact", "delete", "Delete artifacts"),
    ("tag", "create", "Create tags"),
    ("tag", "delete", "Delete tags"),
    ("artifact", "read", "Read artifacts"),
    ("repository", "list", "List repositories"),
)


def _tab(ctx: PageContext) -> str:
    return urls.project(ctx.params["project"], "robots")


async def robots(ctx: PageContext) -> Page:
    values = await project_values(ctx, "robots")
    project_id = values["project"].project.id  # type: ignore[attr-defined]
    page = ctx.page_number()
    listing = Listing((Filter("Level", "exact", ("project",)),
                       Filter("ProjectID", "exact", (str(project_id),))), (), page,
                      paging.PAGE_SIZE)
    views, total = await ctx.services.robots.list(ctx.principal, listing)
    return Page("project_robots.html", {**values, "robots": views,
                                        "pager": paging.Pager(page, total),
                                        "choices": CHOICES},
                title=f"Robot accounts of {ctx.params['project']}")


def _request(ctx: PageContext) -> RobotRequest:
    chosen = tuple(Access(resource, action) for resource, action, _ in CHOICES
                   if ctx.form.get(f"perm_{resource}_{action}") == "on")
    if not chosen:
        raise Invalid("choose at least one permission for the robot account")
    days = ctx.field("duration") or "-1"
    if not days.lstrip("-").isdecimal() or len(days) > 6:
        raise Invalid("the expiry must be a number of days, or -1 for never")
    return RobotRequest(name=ctx.field("name"), level="project", duration=int(days),
                        permissions=(Permission("project", ctx.params["project"], chosen),),
                        description=ctx.field("description"))


async def create_robot(ctx: PageContext) -> Page | Redirect:
    try:
        created = await ctx.services.robots.create(ctx.actor, _request(ctx))
    except FIXABLE as error:
        return Redirect(_tab(ctx), Flash("error", error.message))
    values = await project_values(ctx, "robots")
    return Page("robot_created.html", {**values, "created": created},
                title="Robot account created")


async def confirm_delete_robot(ctx: PageContext) -> Page:
    values = await project_values(ctx, "robots")
    if not values["can"]["manage_robots"]:  # type: ignore[index]
        raise Forbidden("only Project Admins may delete robot accounts")
    view = await ctx.services.robots.get(ctx.principal, int(ctx.params["robot"]))
    return confirmation(
        f"Delete the robot account {view.name}? "
        "Clients using its secret lose access.",
        "Delete robot account", _tab(ctx))


async def delete_robot(ctx: PageContext) -> Redirect:
    return await changed(ctx.services.robots.delete(ctx.actor, int(ctx.params["robot"])),
                         _tab(ctx), "Robot account deleted.")
