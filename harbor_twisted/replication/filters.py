"""Replication filters (Harbor's doublestar globs) and destination naming.

``*`` matches within one path component, ``**`` across components, ``?`` one character,
``{a,b}`` alternatives. A filter ``matches`` (keep what matches) or ``excludes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from harbor_twisted.core import patterns

FILTER_TYPES = ("name", "tag", "resource", "label")
DECORATIONS = ("matches", "excludes")


@dataclass(frozen=True)
class Filter:
    type: str
    value: str
    decoration: str = "matches"


def glob_match(pattern: str, value: str) -> bool:
    """The same doublestar globs as tag retention and immutability selectors."""
    return patterns.matches(pattern, value)


def _passes(filters: list[Filter], kind: str, value: str) -> bool:
    for flt in filters:
        if flt.type != kind or not flt.value:
            continue
        matched = glob_match(flt.value, value)
        if matched != (flt.decoration != "excludes"):
            return False
    return True


def repository_passes(filters: list[Filter], repository: str) -> bool:
    return _passes(filters, "name", repository)


def tag_passes(filters: list[Filter], tag: str) -> bool:
    return _passes(filters, "tag", tag)


def destination_repository(repository: str, namespace: str, replace_count: int) -> str:
    """Harbor's rule: without a namespace the name stays; with one, ``replace_count`` leading
    components are replaced by it (-1: all but the last one)."""
    if not namespace:
        return repository
    parts = repository.split("/")
    kept = parts[-1:] if replace_count < 0 else parts[min(replace_count, len(parts) - 1):]
    return "/".join([namespace.strip("/"), *kept])
