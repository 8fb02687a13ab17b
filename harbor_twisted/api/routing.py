"""Routes matched on the raw (still percent-encoded) path, so an encoded ``/`` inside a
parameter never splits it. Parameters are percent-decoded once after matching; those
declared ``twice`` (repository names, which Harbor clients encode as ``a%252Fb``) twice.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

from harbor_twisted.web.errors import ApiError, bad_request

if TYPE_CHECKING:
    from harbor_twisted.api.call import Call, Reply

Handler = Callable[["Call"], Awaitable["Reply"]]

_PARAMETER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    twice: frozenset[str]


def _compile(template: str) -> re.Pattern[str]:
    pieces = []
    position = 0
    for match in _PARAMETER.finditer(template):
        pieces.append(re.escape(template[position : match.start()]))
        pieces.append(f"(?P<{match[1]}>[^/]+)")
        position = match.end()
    pieces.append(re.escape(template[position:].rstrip("/")))
    return re.compile("".join(pieces) + "/?")


def _decode(value: str, times: int) -> str:
    for _ in range(times):
        try:
            value = unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise bad_request("the path is not valid UTF-8 once percent-decoded") from None
    if "\x00" in value:
        raise bad_request("the path must not contain NUL characters")
    return value


class Router:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def add(self, template: str, twice: tuple[str, ...] = (), **methods: Handler) -> None:
        """``router.add("/projects/{project}", GET=…, PUT=…)``; the template is under
        the prefix; a trailing slash is optional."""
        self.routes.append(
            Route(template, _compile(self.prefix + template), methods, frozenset(twice))
        )

    def match(self, method: str, raw_path: str) -> tuple[Route, Handler, dict[str, str]]:
        allowed: set[str] = set()
        for route in self.routes:
            found = route.pattern.fullmatch(raw_path)
            if found is None:
                continue
            handler = route.methods.get(method)
            if handler is None:
                allowed.update(route.methods)
                continue
            params = {
                name: _decode(value, 2 if name in route.twice else 1)
                for name, value in found.groupdict().items()
            }
            return route, handler, params
        if allowed:
            raise ApiError(405, f"method {method} is not allowed here",
                           {"Allow": ", ".join(sorted(allowed))})
        raise ApiError(404, "no such API endpoint")
