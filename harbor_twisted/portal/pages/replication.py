"""Replication for system admins: registry endpoints (with a connection test), policies
(replicate now) and executions with their tasks' logs. Endpoints and policies are created
through the REST API or the Ansible modules."""

from __future__ import annotations

from harbor_twisted.portal.pages import paging
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect
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
    }, title="Replication")


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
