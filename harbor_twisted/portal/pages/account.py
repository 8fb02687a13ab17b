"""Everyone's own page: who they are signed in as, and a password change for database
users (LDAP users change theirs in the directory)."""

from __future__ import annotations

from harbor_twisted.core.errors import Forbidden, Invalid
from harbor_twisted.core.users import NewUser, ProfileChange
from harbor_twisted.portal.pages import urls
from harbor_twisted.portal.pages.context import Flash, Page, PageContext, Redirect
from harbor_twisted.portal.pages.outcome import FIXABLE, changed

ACCOUNT = "/harbor/account"


async def account(ctx: PageContext) -> Page:
    user = await ctx.services.users.current(ctx.principal)
    return Page("account.html", {"user": user}, title="Your account")


async def change_password(ctx: PageContext) -> Redirect:
    async def change() -> None:
        new = ctx.form.get("new_password", "")
        if new != ctx.form.get("confirm_password", ""):
            raise Invalid("the new password and its confirmation differ")
        user = await ctx.services.users.current(ctx.principal)
        if user.auth_source != "db":
            raise Invalid("this account's password is kept by the directory (LDAP)")
        try:
            await ctx.services.users.change_password(
                ctx.actor, user.id, ctx.form.get("old_password", ""), new)
        except Forbidden as refusal:  # a wrong current password: the user can fix it
            raise Invalid(refusal.message) from None

    return await changed(change(), ACCOUNT, "Password changed.")


async def change_profile(ctx: PageContext) -> Redirect:
    async def change() -> None:
        user = await ctx.services.users.current(ctx.principal)
        if user.auth_source != "db":
            raise Invalid("this account's profile is kept by the directory (LDAP)")
        await ctx.services.users.update_profile(
            ctx.actor, user.id, ProfileChange(email=ctx.field("email"),
                                              realname=ctx.field("realname")))

    return await changed(change(), ACCOUNT, "Profile saved.")


def _registration_open(ctx: PageContext) -> bool:
    settings = ctx.services.identity.settings
    return bool(settings.get("self_registration")) and (
        settings.get("auth_mode", "db_auth") == "db_auth")


async def sign_up(ctx: PageContext) -> Page | Redirect:
    """Self-registration, when the settings allow it (database users only)."""
    if ctx.session is not None:
        return Redirect(urls.HOME)
    if not _registration_open(ctx):
        raise Forbidden("self-registration is turned off on this registry")
    return Page("sign_up.html", {}, title="Create an account")


async def register(ctx: PageContext) -> Redirect:
    if not _registration_open(ctx):
        raise Forbidden("self-registration is turned off on this registry")
    new = NewUser(ctx.field("username"), ctx.field("email"), ctx.form.get("password", ""),
                  ctx.field("realname"))
    try:
        await ctx.services.users.create(ctx.actor, new)
    except FIXABLE as error:
        return Redirect("/harbor/sign-up", Flash("error", error.message))
    return Redirect(urls.with_query(urls.SIGN_IN, principal=new.username),
                    Flash("notice", "Account created: sign in."))
