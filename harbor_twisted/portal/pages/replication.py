"""Replication for system admins: registry endpoints (create, edit, delete, connection
test), policies (create, edit, delete, replicate now) and executions with their tasks'
logs."""

from __future__ import annotations

from harbor_twisted.portal.pages import paging, replication_forms
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import changed

OVERVIEW = "/harbor/admin/replication"


async def overview(ctx: PageContext) -> Page:
    control = ctx.services.replication
    registries, _ = await control.list_registries(ctx.principal, None, 1, 100)
    policies, _, by_id = await control.list_policies(ctx.principal, None, 1, 100)
    page = ctx.page_number()
    executions, total = await control.executions(ctx.principal, None, page, paging.PAGE_SIZE)
    return Page("admin_replication.html", {
        "registries": registries, "policies": policies, "registry_names": {
            i: r.name for i, r in by_id.items()},
        "executions": executions, "pager": paging.Pager(page, total),
        "policy_forms": {p.id: replication_forms.policy_form_values(p) for p in policies},
        "registry_types": replication_forms.registry_labels(),
        "triggers": replication_forms.trigger_labels(),
    }, title="Replication")


async def create_registry(ctx: PageContext) -> Redirect:
    async def change() -> None:
        await ctx.services.replication.create_registry(
            ctx.actor, replication_forms.registry_input(ctx.form))

    return await changed(change(), OVERVIEW, f"Registry endpoint {ctx.field('name')} added.")


async def update_registry(ctx: PageContext) -> Redirect:
    async def change() -> None:
        await ctx.services.replication.update_registry(
            ctx.actor, int(ctx.params["registry"]), replication_forms.registry_input(ctx.form))

    return await changed(change(), OVERVIEW, f"Registry endpoint {ctx.field('name')} saved.")


async def confirm_delete_registry(ctx: PageContext) -> Page:
    found = await ctx.services.replication.get_registry(ctx.principal,
                                                        int(ctx.params["registry"]))
    return confirmation(f"Delete the registry endpoint {found.name} ({found.url})?",
                        "Delete endpoint", OVERVIEW, title="Delete registry endpoint")


async def delete_registry(ctx: PageContext) -> Redirect:
    return await changed(
        ctx.services.replication.delete_registry(ctx.actor, int(ctx.params["registry"])),
        OVERVIEW, "Registry endpoint deleted.")


async def create_policy(ctx: PageContext) -> Redirect:
    async def change() -> None:
        await ctx.services.replication.create_policy(
            ctx.actor, replication_forms.policy_input(ctx.form))

    return await changed(change(), OVERVIEW, f"Policy {ctx.field('name')} added.")


async def update_policy(ctx: PageContext) -> Redirect:
    policy_id = int(ctx.params["policy"])

    async def change() -> None:
        existing, _ = await ctx.services.replication.get_policy(ctx.principal, policy_id)
        await ctx.services.replication.update_policy(
            ctx.actor, policy_id, replication_forms.policy_input(ctx.form, existing))

    return await changed(change(), OVERVIEW, f"Policy {ctx.field('name')} saved.")


async def confirm_delete_policy(ctx: PageContext) -> Page:
    found, _ = await ctx.services.replication.get_policy(ctx.principal,
                                                         int(ctx.params["policy"]))
    return confirmation(
        f"Delete the replication policy {found.name}? Its running executions "
        "are stopped.",
        "Delete policy", OVERVIEW, title="Delete replication policy")


async def delete_policy(ctx: PageContext) -> Redirect:
    return await changed(
        ctx.services.replication.delete_policy(ctx.actor, int(ctx.params["policy"])),
        OVERVIEW, "Policy deleted.")


async def ping(ctx: PageContext) -> Redirect:
    registry_id = int(ctx.params["registry"])
    return await changed(
        ctx.services.replication.ping(ctx.principal, registry_id, None, None, None, None),
        OVERVIEW, f"Registry endpoint {registry_id} answers.")


async def start(ctx: PageContext) -> Redirect:
    return await changed(ctx.services.replication.start(ctx.actor, int(ctx.params["policy"])),
                         OVERVIEW, "Replication started.")


async def execution(ctx: PageContext) -> Page:
    execution_id = int(ctx.params["execution"])
    view = await ctx.services.replication.execution(ctx.principal, execution_id)
    page = ctx.page_number()
    tasks, total = await ctx.services.replication.tasks(ctx.principal, execution_id, page,
                                                        paging.PAGE_SIZE)
    return Page("admin_replication_execution.html", {
        "view": view, "tasks": tasks, "pager": paging.Pager(page, total),
    }, title=f"Replication execution {execution_id}")


async def task_log(ctx: PageContext) -> Page:
    execution_id, task_id = int(ctx.params["execution"]), int(ctx.params["task"])
    text = await ctx.services.replication.task_log(ctx.principal, execution_id, task_id)
    return Page("admin_task_log.html", {"execution_id": execution_id, "task_id": task_id,
                                        "log": text}, title=f"Task {task_id} log")
