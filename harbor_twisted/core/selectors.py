"""Harbor's rule selectors (``ImmutableSelector``, ``RetentionSelector``): which
repositories and tags a rule covers.

Repository selectors decorate with ``repoMatches``/``repoExcludes`` and are matched
against the repository name without its project; tag selectors with
``matches``/``excludes``. Patterns are ``doublestar`` globs (core/patterns.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harbor_twisted.core.errors import Invalid
from harbor_twisted.core.patterns import InvalidPattern, check_pattern, matches

REPOSITORY_DECORATIONS = ("repoMatches", "repoExcludes")
TAG_DECORATIONS = ("matches", "excludes")
KIND = "doublestar"


def check_selectors(raw: Any, decorations: Sequence[str], what: str) -> list[dict[str, Any]]:
    """A non-empty list of selectors in Harbor's shape, checked and normalised."""
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"{what} must be a non-empty list of selectors")
    checked = []
    for index, item in enumerate(raw):
        where = f"{what}[{index}]"
        if not isinstance(item, dict):
            raise Invalid(f"{where} must be an object")
        kind = item.get("kind") or KIND
        decoration = item.get("decoration")
        pattern = item.get("pattern")
        extras = item.get("extras") or ""
        if kind != KIND:
            raise Invalid(f"{where}.kind must be {KIND}")
        if decoration not in decorations:
            raise Invalid(f"{where}.decoration must be one of {', '.join(decorations)}")
        if not isinstance(pattern, str) or not pattern or len(pattern) > 255 or "\x00" in pattern:
            raise Invalid(f"{where}.pattern must be a non-empty glob (at most 255 characters)")
        if not isinstance(extras, str) or len(extras) > 1024:
            raise Invalid(f"{where}.extras must be a string")
        try:
            check_pattern(pattern)
        except InvalidPattern as exc:
            raise Invalid(f"{where}.pattern: {exc}") from None
        checked.append({"kind": kind, "decoration": decoration, "pattern": pattern,
                        "extras": extras})
    return checked


def check_scope(raw: Any, what: str = "scope_selectors") -> dict[str, list[dict[str, Any]]]:
    if not isinstance(raw, dict) or set(raw) != {"repository"}:
        raise Invalid(f"{what} must be an object with one key, repository")
    return {"repository": check_selectors(raw["repository"], REPOSITORY_DECORATIONS,
                                          f"{what}.repository")}


def _selected(selectors: list[dict[str, Any]], text: str) -> bool:
    for selector in selectors:
        hit = matches(selector["pattern"], text)
        if selector["decoration"] in ("excludes", "repoExcludes"):
            hit = not hit
        if not hit:
            return False
    return True


def repository_selected(scope: dict[str, list[dict[str, Any]]], repository: str) -> bool:
    """``repository`` is the full name; selectors see it without the project."""
    short = repository.split("/", 1)[1] if "/" in repository else repository
    return _selected(scope.get("repository", []), short)


def tag_selected(selectors: list[dict[str, Any]], tag: str) -> bool:
    return _selected(selectors, tag)
