"""A project's webhook policies: listed for Project Admins and Maintainers, added and deleted
by Project Admins. An endpoint's auth header is write-only (kept in the secrets directory)."""

from __future__ import annotations

from typing import Any

from harbor_twisted.core.errors import Forbidden
from harbor_twisted.core.projects import ProjectRef
from harbor_twisted.portal.pages import paging, urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import changed
from harbor_twisted.portal.pages.project import project_values
from harbor_twisted.webhooks.policies import EVENT_TYPES, PAYLOAD_FORMATS


def _ref(ctx: PageContext) -> ProjectRef:
    return ProjectRef(ctx.params["project"], is_name=True)


def _tab(ctx: PageContext) -> str:
    return urls.project(ctx.params["project"], "webhooks")


async def policies(ctx: PageContext) -> Page:
    values = await project_values(ctx, "webhooks")
    page = ctx.page_number()
    records, total = await ctx.services.webhooks.list_policies(
        ctx.principal, _ref(ctx), None, False, (page - 1) * paging.PAGE_SIZE, paging.PAGE_SIZE)
    return Page("project_webhooks.html", {
        **values, "policies": records, "pager": paging.Pager(page, total),
        "event_types": EVENT_TYPES, "formats": PAYLOAD_FORMATS,
    }, title=f"Webhooks of {ctx.params['project']}")


def _body(ctx: PageContext) -> dict[str, Any]:
    kind = "slack" if ctx.field("type") == "slack" else "http"
    target: dict[str, Any] = {
        "type": kind, "address": ctx.field("address"),
        "payload_format": ctx.field("payload_format") or "Default",
        "skip_cert_verify": ctx.field("skip_cert_verify") == "true",
    }
    if ctx.field("auth_header"):
        target["auth_header"] = ctx.field("auth_header")
    return {"name": ctx.field("name"), "description": ctx.field("description"),
            "enabled": True, "targets": [target],
            "event_types": [e for e in EVENT_TYPES if ctx.form.get(f"event_{e}") == "on"]}


async def add_policy(ctx: PageContext) -> Redirect:
    return await changed(ctx.services.webhooks.create_policy(ctx.actor, _ref(ctx), _body(ctx)),
                         _tab(ctx), f"Webhook {ctx.field('name')} added.")


async def confirm_delete_policy(ctx: PageContext) -> Page:
    values = await project_values(ctx, "webhooks")
    if not values["can"]["manage_webhooks"]:  # type: ignore[index]
        raise Forbidden("only Project Admins may delete webhooks")
    policy = await ctx.services.webhooks.get_policy(ctx.principal, _ref(ctx),
                                                    int(ctx.params["policy"]))
    return confirmation(f"Delete the webhook {policy.name}?", "Delete webhook", _tab(ctx))


async def delete_policy(ctx: PageContext) -> Redirect:
    return await changed(
        ctx.services.webhooks.delete_policy(ctx.actor, _ref(ctx), int(ctx.params["policy"])),
        _tab(ctx), "Webhook deleted.")
