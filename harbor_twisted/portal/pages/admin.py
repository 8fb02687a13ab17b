"""System administration: users (create, admin flag, delete), the audit log with filters,
and garbage collection (run, dry run, history, log). The services refuse anyone but
system admins; the pages are linked only for them."""

from __future__ import annotations

from harbor_twisted.core.errors import Forbidden
from harbor_twisted.core.ldap_admin import LdapFailed, LdapUnavailable
from harbor_twisted.core.usergroups import GROUP_TYPES, LDAP_GROUP, NewGroup
from harbor_twisted.core.users import NewUser
from harbor_twisted.db.listing import Sort
from harbor_twisted.gc.control import gc_parameters, schedule_request
from harbor_twisted.portal.pages import audit_filters, paging
from harbor_twisted.portal.pages.context import Flash, Page, PageContext, Redirect, confirmation
from harbor_twisted.portal.pages.outcome import FIXABLE, changed

USERS = "/harbor/admin/users"
AUDIT = "/harbor/admin/audit-log"
GC = "/harbor/admin/gc"
SETTINGS = "/harbor/admin/settings"
GROUPS = "/harbor/admin/groups"
# The system settings the page changes; the others are shown for reference.
SWITCHES = ("read_only", "self_registration")


def _require_admin(ctx: PageContext) -> None:
    if not ctx.principal.sysadmin:
        raise Forbidden("only system administrators may open the administration pages")


async def users(ctx: PageContext) -> Page:
    name = ctx.arg("name")
    page = ctx.page_number()
    records, total = await ctx.services.users.list(
        ctx.principal, paging.listing(page, name, key="username", sort=Sort("username")))
    db_auth = ctx.services.identity.settings.get("auth_mode", "db_auth") == "db_auth"
    return Page("admin_users.html", {"users": records, "pager": paging.Pager(page, total),
                                     "name": name, "db_auth": db_auth}, title="Users")


async def create_user(ctx: PageContext) -> Redirect:
    new = NewUser(ctx.field("username"), ctx.field("email"), ctx.form.get("password", ""),
                  ctx.field("realname"))
    return await changed(ctx.services.users.create(ctx.actor, new), USERS,
                         f"User {new.username} created.")


def _user_id(ctx: PageContext) -> int:
    return int(ctx.params["user"])  # digits by the route


async def set_admin(ctx: PageContext) -> Redirect:
    flag = ctx.field("sysadmin") == "true"
    return await changed(ctx.services.users.set_sysadmin(ctx.actor, _user_id(ctx), flag),
                         USERS, "Administrator flag " + ("granted." if flag else "removed."))


async def confirm_delete_user(ctx: PageContext) -> Page:
    _require_admin(ctx)
    user = await ctx.services.users.get(ctx.principal, _user_id(ctx))
    return confirmation(f"Delete the user {user.username}?", "Delete user", USERS)


async def delete_user(ctx: PageContext) -> Redirect:
    return await changed(ctx.services.users.delete(ctx.actor, _user_id(ctx)), USERS,
                         "User deleted.")


async def audit_log(ctx: PageContext) -> Page:
    _require_admin(ctx)
    chosen = audit_filters.chosen_filters(ctx.arg)
    page = ctx.page_number()
    entries, total = await ctx.services.audit.list(
        ctx.principal, audit_filters.audit_listing(chosen, page))
    return Page("admin_audit.html", {"entries": entries, "chosen": chosen,
                                     "pager": audit_filters.audit_pager(page, total),
                                     "suggestions": audit_filters.SUGGESTIONS},
                title="Audit log")


async def gc(ctx: PageContext) -> Page:
    page = ctx.page_number()
    executions, total = await ctx.services.gc.history(ctx.principal, page, paging.PAGE_SIZE)
    schedule = await ctx.services.gc.schedule(ctx.principal)
    return Page("admin_gc.html", {"executions": executions, "schedule": schedule,
                                  "pager": paging.Pager(page, total)},
                title="Garbage collection")


async def run_gc(ctx: PageContext) -> Redirect:
    dry_run = ctx.field("dry_run") == "true"

    async def trigger() -> None:
        parameters = gc_parameters({"dry_run": dry_run,
                                    "delete_untagged": ctx.field("delete_untagged") == "true"})
        await ctx.services.gc.trigger(ctx.actor, parameters)

    return await changed(trigger(), GC,
                         "Dry run started." if dry_run else "Garbage collection started.")


async def schedule_gc(ctx: PageContext) -> Redirect:
    async def change() -> None:
        request = schedule_request(
            ctx.field("type") or "None", ctx.field("cron"),
            {"delete_untagged": ctx.field("delete_untagged") == "true"})
        await ctx.services.gc.set_schedule(ctx.actor, request)

    return await changed(change(), GC, "Schedule saved.")


async def gc_log(ctx: PageContext) -> Page:
    execution_id = int(ctx.params["execution"])  # digits by the route
    execution = await ctx.services.gc.get(ctx.principal, execution_id)
    text = await ctx.services.gc.log(ctx.principal, execution_id)
    return Page("admin_gc_log.html", {"execution": execution, "log": text},
                title=f"Garbage collection {execution_id}")




async def settings(ctx: PageContext) -> Page:
    items = await ctx.services.configurations.current(ctx.principal)
    return Page("admin_settings.html", {"items": items, "switches": SWITCHES},
                title="System settings")


async def change_settings(ctx: PageContext) -> Redirect:
    async def change() -> None:
        items = await ctx.services.configurations.current(ctx.principal)
        wanted: dict[str, object] = {name: ctx.field(name) == "true" for name in SWITCHES}
        wanted["project_creation_restriction"] = ctx.field("project_creation_restriction")
        changes = {name: value for name, value in wanted.items()
                   if name in items and items[name].editable and items[name].value != value}
        if changes:
            await ctx.services.configurations.update(ctx.actor, changes)

    return await changed(change(), SETTINGS, "Settings saved.")


async def reset_password(ctx: PageContext) -> Redirect:
    """An admin sets another database user's password (no old password needed)."""
    return await changed(
        ctx.services.users.change_password(ctx.actor, _user_id(ctx), None,
                                           ctx.form.get("password", "")),
        USERS, "Password reset.")


async def groups(ctx: PageContext) -> Page:
    name = ctx.arg("name")
    page = ctx.page_number()
    records, total = await ctx.services.groups.list(
        ctx.principal, paging.listing(page, name, key="group_name"))
    return Page("admin_groups.html", {"groups": records, "pager": paging.Pager(page, total),
                                      "name": name, "types": GROUP_TYPES},
                title="Groups")


async def create_group(ctx: PageContext) -> Redirect:
    dn = ctx.field("ldap_group_dn")
    new = NewGroup(ctx.field("group_name") or None, LDAP_GROUP, dn)
    try:
        await ctx.services.groups.create(ctx.actor, new)
    except (*FIXABLE, LdapUnavailable, LdapFailed) as error:
        return Redirect(GROUPS, Flash("error", error.message))
    return Redirect(GROUPS, Flash("notice", f"Group {dn} added."))


async def confirm_delete_group(ctx: PageContext) -> Page:
    group = await ctx.services.groups.get(ctx.principal, int(ctx.params["group"]))
    return confirmation(f"Delete the group {group.group_name} and every project role it holds?",
                        "Delete group", GROUPS)


async def delete_group(ctx: PageContext) -> Redirect:
    return await changed(ctx.services.groups.delete(ctx.actor, int(ctx.params["group"])),
                         GROUPS, "Group deleted.")
