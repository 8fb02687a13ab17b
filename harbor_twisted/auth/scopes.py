"""Docker token scopes: ``type[(class)]:name:action[,action]`` and the grants they become."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SCOPE = re.compile(
    r"^(?P<type>[a-z0-9]+)(?:\((?P<cls>[a-z0-9]+)\))?:(?P<name>[^:]+(?::[0-9]+/[^:]+)?)"
    r":(?P<actions>[a-z*]+(?:,[a-z*]+)*)$"
)
KNOWN_ACTIONS = {"pull", "push", "delete", "*"}


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    def claim(self) -> dict[str, object]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scope(text: str) -> Scope | None:
    """A scope, or None when it is malformed (malformed scopes are ignored, not errors)."""
    match = _SCOPE.match(text.strip())
    if not match:
        return None
    actions = tuple(dict.fromkeys(a for a in match["actions"].split(",") if a in KNOWN_ACTIONS))
    if not actions:
        return None
    return Scope(match["type"], match["name"], actions)


def parse_scopes(values: list[str]) -> list[Scope]:
    """Scopes from repeated ``scope`` parameters, each possibly space-separated."""
    scopes: list[Scope] = []
    for value in values:
        for part in value.split():
            scope = parse_scope(part)
            if scope is not None:
                scopes.append(scope)
    return scopes
