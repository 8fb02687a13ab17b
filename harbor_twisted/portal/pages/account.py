"""Everyone's own page: who they are signed in as, and a password change for database
users (LDAP users change theirs in the directory)."""

from __future__ import annotations

from harbor_twisted.core.errors import Forbidden, Invalid
from harbor_twisted.portal.pages.context import Page, PageContext, Redirect
from harbor_twisted.portal.pages.outcome import changed

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
