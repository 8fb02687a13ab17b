"""What a page handler is given (``PageContext``) and what it answers (``Page`` or
``Redirect``): plain data, so handlers never touch twisted.web."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harbor_twisted.core.audit import Actor
from harbor_twisted.core.rbac import Principal
from harbor_twisted.core.sessions import Session
from harbor_twisted.portal.services import PortalServices


@dataclass(frozen=True)
class Flash:
    """A one-shot message shown on the page a redirect leads to."""

    kind: str  # notice | error
    text: str


@dataclass
class Page:
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    title: str = ""


def confirmation(question: str, action: str, cancel: str, title: str = "") -> Page:
    """The page a deletion's GET answers: the question, a button that POSTs ``action`` to the
    same address, and a link back to ``cancel`` (it works without script)."""
    return Page("confirm.html", {"question": question, "action": action, "cancel": cancel},
                title=title or action)


@dataclass
class Redirect:
    location: str
    flash: Flash | None = None
    end_session: bool = False  # clear the session cookies (log out)


@dataclass(frozen=True)
class PageContext:
    """One portal request as a handler sees it."""

    services: PortalServices
    principal: Principal
    session: Session | None
    method: str
    path: str  # the decoded path, /harbor/…
    params: dict[str, str]  # taken from the path by the route
    query: dict[str, str]
    form: dict[str, str]  # the POSTed fields; empty on GET
    client_ip: str
    registry_host: str  # how docker names this registry: host[:port]
    flash: Flash | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.principal, self.client_ip)

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session is not None else ""

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, default).strip()

    def page_number(self) -> int:
        """``?page=``: a positive integer; anything else reads as the first page."""
        text = self.arg("page")
        if not text.isdecimal() or len(text) > 9:
            return 1
        return max(1, int(text))

    def field(self, name: str) -> str:
        return self.form.get(name, "").strip()
