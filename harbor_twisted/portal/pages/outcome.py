"""How a form's change ends: back to a page with a notice, or with the refusal's message
when the rules say no for a reason the user can fix (a bad name, a conflict).

A ``Forbidden`` is not caught here: a POST the caller may not make answers a 403 page."""

from __future__ import annotations

from collections.abc import Awaitable

from harbor_twisted.core.errors import Conflict, Invalid, NotFound, PreconditionFailed
from harbor_twisted.portal.pages.context import Flash, Redirect

FIXABLE = (Invalid, Conflict, NotFound, PreconditionFailed)


async def changed(change: Awaitable[object], done: str, notice: str,
                  back: str | None = None) -> Redirect:
    try:
        await change
    except FIXABLE as error:
        return Redirect(back or done, Flash("error", error.message))
    return Redirect(done, Flash("notice", notice))
