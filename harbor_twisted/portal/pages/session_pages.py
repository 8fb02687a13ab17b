"""Signing in (the form posts to ``/c/login``) and out."""

from __future__ import annotations

from harbor_twisted.portal.pages import urls
from harbor_twisted.portal.pages.context import Flash, Page, PageContext, Redirect


async def sign_in(ctx: PageContext) -> Page | Redirect:
    next_path = urls.safe_next(ctx.arg("next"))
    if ctx.session is not None:
        return Redirect(next_path)
    error = ""
    if ctx.arg("failed"):
        error = "Invalid user name or password."
    elif ctx.arg("expired"):
        error = "Your session has ended. Sign in again."
    status = 401 if error and ctx.arg("failed") else 200
    settings = ctx.services.identity.settings
    registration = bool(settings.get("self_registration")) and (
        settings.get("auth_mode", "db_auth") == "db_auth")
    return Page("sign_in.html", {"next": next_path, "error": error,
                                 "principal": ctx.arg("principal"),
                                 "registration": registration},
                status=status, title="Sign in")


async def log_out(ctx: PageContext) -> Redirect:
    await ctx.services.sessions.logout(ctx.session.sid if ctx.session else None)
    return Redirect(urls.SIGN_IN, Flash("notice", "You have signed out."), end_session=True)


async def home(ctx: PageContext) -> Redirect:
    return Redirect(urls.HOME)
