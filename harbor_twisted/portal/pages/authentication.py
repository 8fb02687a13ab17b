"""Authentication settings (system admins): the auth mode, the LDAP settings (those fixed
in the configuration file read-only), an LDAP "test connection" of what the form shows,
and the auth mode switch — its dry run first, then a confirmation that performs it."""

from __future__ import annotations

from harbor_twisted.common import settings_schema
from harbor_twisted.core.configurations import pinned_by_config
from harbor_twisted.core.errors import Invalid
from harbor_twisted.portal.pages import ldap_form
from harbor_twisted.portal.pages.context import Flash, Page, PageContext, Redirect
from harbor_twisted.portal.pages.outcome import FIXABLE, changed
from harbor_twisted.portal.pages.urls import with_query

AUTHENTICATION = "/harbor/admin/authentication"
SWITCH = AUTHENTICATION + "/switch"
MODES = {"db_auth": "Database", "ldap_auth": "LDAP / Active Directory"}
DB_AUTH = "db_auth"


def _password_editable(ctx: PageContext) -> bool:
    setting = settings_schema.BY_NAME[ldap_form.SEARCH_PASSWORD]
    return not pinned_by_config(ctx.services.identity, setting)


async def authentication(ctx: PageContext) -> Page:
    items = await ctx.services.configurations.current(ctx.principal)
    mode = items["auth_mode"]
    return Page("admin_authentication.html", {
        "mode": mode, "modes": MODES, "fields": ldap_form.fields(items),
        "scopes": ldap_form.SCOPE_LABELS, "password_editable": _password_editable(ctx),
        "other_mode": next(m for m in MODES if m != mode.value),
    }, title="Authentication")


async def save_ldap(ctx: PageContext) -> Redirect:
    async def change() -> None:
        items = await ctx.services.configurations.current(ctx.principal)
        wanted = ldap_form.changes(ctx.form, items, _password_editable(ctx))
        if wanted:
            await ctx.services.configurations.update(ctx.actor, wanted)

    return await changed(change(), AUTHENTICATION, "LDAP settings saved.")


async def ping(ctx: PageContext) -> Redirect:
    """Test the settings the form shows, without saving them (``POST /ldap/ping``)."""
    items = await ctx.services.configurations.current(ctx.principal)
    try:
        conf = ldap_form.ping_overrides(ctx.form, items)
    except Invalid as error:
        return Redirect(AUTHENTICATION, Flash("error", error.message))
    result = await ctx.services.ldap.ping(ctx.principal, conf)
    if result.success:
        return Redirect(AUTHENTICATION, Flash("notice", f"LDAP connection works: {result.message}"))
    return Redirect(AUTHENTICATION, Flash("error", f"LDAP connection failed: {result.message}"))


def _target(text: str) -> str:
    if text not in MODES:
        raise Invalid(f"choose an authentication mode: {', '.join(MODES)}")
    return text


async def switch_plan(ctx: PageContext) -> Page | Redirect:
    """The dry run (``GET /configurations/auth_mode_switch?to=``): nothing changes yet."""
    target = _target(ctx.arg("to"))
    try:
        found = await ctx.services.configurations.switch_auth_mode(ctx.actor, target,
                                                                   dry_run=True)
    except FIXABLE as error:
        return Redirect(AUTHENTICATION, Flash("error", error.message))
    return Page("admin_auth_switch.html", {"plan": found, "modes": MODES,
                                           "needs_force": target == DB_AUTH
                                           and found.changes_mode},
                title=f"Switch to {MODES[target]}")


async def switch(ctx: PageContext) -> Redirect:
    """The switch itself: ``PUT /configurations {"auth_mode"}`` (``force`` for the way
    back to database users, which leaves directory users needing a password reset)."""
    target = _target(ctx.field("to"))
    force = ctx.field("force") == "true"

    async def change() -> None:
        items = await ctx.services.configurations.current(ctx.principal)
        if not items["auth_mode"].editable:
            raise Invalid("auth_mode is set in the configuration file, which is applied at "
                          "every start: change it there (the role runs the switch)")
        if force:
            await ctx.services.configurations.switch_auth_mode(ctx.actor, target,
                                                               dry_run=False, force=True)
        else:
            await ctx.services.configurations.update(ctx.actor, {"auth_mode": target})

    return await changed(change(), AUTHENTICATION,
                         f"Authentication mode is now {MODES[target]}.",
                         back=with_query(SWITCH, to=target))
