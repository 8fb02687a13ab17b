"""A project's tag retention (its one policy): the rules (add, edit, delete), the schedule,
runs and dry runs, and the executions with their tasks' logs. Project Admins, Maintainers
and Developers manage it (Harbor's matrix, asked of core.rbac)."""

from __future__ import annotations

from typing import Any, cast

from harbor_twisted.core.errors import Forbidden, Invalid
from harbor_twisted.core.projects import ProjectView
from harbor_twisted.core.retention import DISPLAY, TEMPLATES
from harbor_twisted.db.retention_store import PolicyRecord
from harbor_twisted.portal.pages import paging, retention_rules, urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import changed
from harbor_twisted.portal.pages.project import project_values

STATUS = {"Success": "Succeeded", "Error": "Failed"}


def _tab(ctx: PageContext, tail: str = "") -> str:
    return urls.project(ctx.params["project"], "retention" + tail)


def _view(values: dict[str, Any]) -> ProjectView:
    return cast(ProjectView, values["project"])


async def _policy(ctx: PageContext, values: dict[str, Any]) -> PolicyRecord | None:
    text = _view(values).metadata.get("retention_id", "")
    if not text.isdecimal():
        return None
    return await ctx.services.retention.get(ctx.principal, int(text))


async def _loaded(ctx: PageContext) -> tuple[dict[str, Any], PolicyRecord | None]:
    values = await project_values(ctx, "retention")
    if not cast(dict[str, bool], values["can"])["read_retention"]:
        raise Forbidden("your role in this project may not see its retention policy")
    return values, await _policy(ctx, values)


def _cron(policy: PolicyRecord | None) -> str:
    if policy is None:
        return ""
    return str((policy.trigger.get("settings") or {}).get("cron") or "")


async def overview(ctx: PageContext) -> Page:
    values, policy = await _loaded(ctx)
    page = ctx.page_number()
    executions, total = ([], 0) if policy is None else await ctx.services.retention.executions(
        ctx.principal, policy.id, (page - 1) * paging.PAGE_SIZE, paging.PAGE_SIZE)
    return Page("project_retention.html", {
        **values, "policy": policy, "rules": retention_rules.views(policy.rules if policy
                                                                   else []),
        "cron": _cron(policy), "executions": executions, "pager": paging.Pager(page, total),
        "templates": {name: DISPLAY[name] for name in TEMPLATES},
        "counted": {name for name, (param, _) in TEMPLATES.items() if param},
        "repository_decorations": retention_rules.REPOSITORY_DECORATIONS,
        "tag_decorations": retention_rules.TAG_DECORATIONS, "status": STATUS,
    }, title=f"Tag retention in {ctx.params['project']}")


async def _save(ctx: PageContext, rules: list[dict[str, Any]], cron: str) -> None:
    """The whole policy as Harbor's API takes it: created with its first rule."""
    values, policy = await _loaded(ctx)
    body = {"algorithm": "or", "rules": rules,
            "scope": {"level": "project", "ref": _view(values).project.id},
            "trigger": {"kind": "Schedule", "settings": {"cron": cron}}}
    if policy is None:
        await ctx.services.retention.create(ctx.actor, body)
    else:
        await ctx.services.retention.update(ctx.actor, policy.id, body)


def _rule_number(ctx: PageContext, count: int) -> int:
    number = int(ctx.params["rule"])  # digits by the route
    if not 1 <= number <= count:
        raise Invalid(f"there is no rule {number}")
    return number


async def add_rule(ctx: PageContext) -> Redirect:
    async def change() -> None:
        _, policy = await _loaded(ctx)
        rules = list(policy.rules) if policy else []
        await _save(ctx, [*rules, retention_rules.rule_from_form(ctx.form)], _cron(policy))

    return await changed(change(), _tab(ctx), "Rule added.")


async def edit_rule(ctx: PageContext) -> Redirect:
    async def change() -> None:
        _, policy = await _loaded(ctx)
        rules = list(policy.rules) if policy else []
        rules[_rule_number(ctx, len(rules)) - 1] = retention_rules.rule_from_form(ctx.form)
        await _save(ctx, rules, _cron(policy))

    return await changed(change(), _tab(ctx), "Rule saved.")


async def confirm_delete_rule(ctx: PageContext) -> Page:
    values, policy = await _loaded(ctx)
    if not cast(dict[str, bool], values["can"])["manage_retention"]:
        raise Forbidden("your role in this project may not change its retention policy")
    rules = retention_rules.views(policy.rules if policy else [])
    rule = rules[_rule_number(ctx, len(rules)) - 1]
    return confirmation(
        f"Delete the retention rule “{rule.text}”? Tags it kept may then be "
        "removed by the next run.",
        "Delete rule", _tab(ctx), title="Delete retention rule")


async def delete_rule(ctx: PageContext) -> Redirect:
    async def change() -> None:
        _, policy = await _loaded(ctx)
        rules = list(policy.rules) if policy else []
        del rules[_rule_number(ctx, len(rules)) - 1]
        await _save(ctx, rules, _cron(policy))

    return await changed(change(), _tab(ctx), "Rule deleted.")


async def schedule(ctx: PageContext) -> Redirect:
    async def change() -> None:
        _, policy = await _loaded(ctx)
        await _save(ctx, list(policy.rules) if policy else [], ctx.field("cron"))

    return await changed(change(), _tab(ctx), "Schedule saved.")


async def run(ctx: PageContext) -> Redirect:
    dry_run = ctx.field("dry_run") == "true"

    async def start() -> None:
        _, policy = await _loaded(ctx)
        if policy is None:
            raise Invalid("add a rule first: there is no retention policy to run")
        await ctx.services.retention.trigger(ctx.actor, policy.id, dry_run)

    return await changed(start(), _tab(ctx), "Dry run started." if dry_run else
                         "Retention run started.")


async def execution(ctx: PageContext) -> Page:
    values, policy = await _loaded(ctx)
    if policy is None:
        raise Invalid("this project has no retention policy")
    execution_id = int(ctx.params["execution"])  # digits by the route
    found, tasks = await ctx.services.retention.tasks(ctx.principal, policy.id, execution_id)
    logs = [(task, await ctx.services.retention.task_log(ctx.principal, policy.id,
                                                         execution_id, task.id))
            for task in tasks[:50]]
    return Page("project_retention_execution.html", {
        **values, "execution": found, "logs": logs, "more": len(tasks) - len(logs),
        "status": STATUS}, title=f"Retention run {execution_id}")
