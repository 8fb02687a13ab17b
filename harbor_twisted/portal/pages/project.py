"""One project: its repositories (search, counts, pages) and its members (users and LDAP
groups; added, changed and removed by Project Admins)."""

from __future__ import annotations

from harbor_twisted.core.errors import Forbidden
from harbor_twisted.core.members import MemberRequest
from harbor_twisted.core.projects import ProjectRef, ProjectView
from harbor_twisted.db.member_store import MemberRecord
from harbor_twisted.portal.pages import audit_filters, paging, urls
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import changed
from harbor_twisted.portal.pages.permissions import ROLE_LABELS, project_abilities, role_labels


def _ref(ctx: PageContext) -> ProjectRef:
    return ProjectRef(ctx.params["project"], is_name=True)


async def project_values(ctx: PageContext, tab: str) -> dict[str, object]:
    """What every tab of a project shows: the project, the caller's abilities in it."""
    view: ProjectView = await ctx.services.projects.get(ctx.principal, _ref(ctx))
    can = project_abilities(ctx.principal, view, ctx.services.identity.read_only)
    summary = await ctx.services.projects.summary(ctx.principal, _ref(ctx))
    return {"project": view, "can": can, "tab": tab, "my_roles": role_labels(view.role_ids),
            "quota": summary.get("quota")}


async def repositories(ctx: PageContext) -> Page:
    values = await project_values(ctx, "repositories")
    name = ctx.arg("name")
    sort_key, sort = paging.sort_of(ctx.arg("sort"), "-creation_time")
    page = ctx.page_number()
    records, total = await ctx.services.repositories.list_in_project(
        ctx.principal, ctx.params["project"], paging.listing(page, name, sort=sort))
    prefix = ctx.params["project"] + "/"
    rows = [(r, r.name.removeprefix(prefix)) for r in records]
    return Page("project_repositories.html", {
        **values, "rows": rows, "pager": paging.Pager(page, total), "name": name,
        "sort": sort_key,
    }, title=f"Project {ctx.params['project']}")


async def members(ctx: PageContext) -> Page:
    values = await project_values(ctx, "members")
    name = ctx.arg("name")
    page = ctx.page_number()
    records, total = await ctx.services.members.list(
        ctx.principal, _ref(ctx), paging.listing(page, name, key="entityname"))
    return Page("project_members.html", {
        **values, "members": records, "pager": paging.Pager(page, total), "name": name,
        "role_labels": {int(r): label for r, label in ROLE_LABELS.items()},
    }, title=f"Members of {ctx.params['project']}")


def _role(ctx: PageContext) -> int:
    text = ctx.field("role_id")
    return int(text) if text.isdecimal() and len(text) < 3 else 0


async def add_member(ctx: PageContext) -> Redirect:
    kind, name, role = ctx.field("member_type"), ctx.field("member_name"), _role(ctx)
    if kind == "group":
        request = MemberRequest(role, ldap_group_dn=name)
    else:
        request = MemberRequest(role, username=name)
    back = urls.project(ctx.params["project"], "members")
    return await changed(ctx.services.members.create(ctx.actor, _ref(ctx), request), back,
                         f"{name} added as {role_labels([role]) if role else 'member'}.")


def _member_id(ctx: PageContext) -> int:
    return int(ctx.params["member"])  # the route admits digits only


async def change_member(ctx: PageContext) -> Redirect:
    back = urls.project(ctx.params["project"], "members")
    role = _role(ctx)
    return await changed(
        ctx.services.members.update(ctx.actor, _ref(ctx), _member_id(ctx), role), back,
        f"Role changed to {role_labels([role])}.")


async def confirm_remove_member(ctx: PageContext) -> Page:
    values = await project_values(ctx, "members")
    if not values["can"]["manage_members"]:  # type: ignore[index]
        raise Forbidden("only Project Admins may remove members")
    record: MemberRecord = await ctx.services.members.get(ctx.principal, _ref(ctx),
                                                          _member_id(ctx))
    return confirmation(f"Remove {record.entity_name} from project {ctx.params['project']}?",
                        "Remove member", urls.project(ctx.params["project"], "members"))


async def remove_member(ctx: PageContext) -> Redirect:
    back = urls.project(ctx.params["project"], "members")
    return await changed(ctx.services.members.delete(ctx.actor, _ref(ctx), _member_id(ctx)),
                         back, "Member removed.")


async def logs(ctx: PageContext) -> Page:
    values = await project_values(ctx, "logs")
    chosen = audit_filters.chosen_filters(ctx.arg)
    page = ctx.page_number()
    entries, total = await ctx.services.projects.logs(
        ctx.principal, _ref(ctx), audit_filters.audit_listing(chosen, page))
    return Page("project_logs.html", {**values, "entries": entries, "chosen": chosen,
                                      "pager": audit_filters.audit_pager(page, total),
                                      "suggestions": audit_filters.SUGGESTIONS},
                title=f"Logs of {ctx.params['project']}")
