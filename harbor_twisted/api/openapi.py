"""``/openapi.json``: the API's OpenAPI 3 document, kept as one YAML fragment per area in
``openapi/`` beside this module so each endpoint module's description lives next to its
neighbours' without one file everyone edits. ``base.yaml`` holds the frame; the others add
``paths``, ``components`` and ``tags``. A path, an operation's component or a tag defined
twice is an error, so two fragments cannot silently shadow each other.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.routing import Router

BASE = "base.yaml"


class OpenApiError(ValueError):
    """The fragments do not merge into one document (a fault of ours, found at load)."""


def _fragments() -> list[tuple[str, dict[str, Any]]]:
    directory = resources.files("harbor_twisted.api").joinpath("openapi")
    names = sorted(entry.name for entry in directory.iterdir() if entry.name.endswith(".yaml"))
    if BASE not in names:
        raise OpenApiError(f"openapi/{BASE} is missing")
    names.remove(BASE)
    loaded = []
    for name in [BASE, *names]:
        try:
            data = yaml.safe_load(directory.joinpath(name).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise OpenApiError(f"openapi/{name}: {error}") from None
        if not isinstance(data, dict):
            raise OpenApiError(f"openapi/{name} must hold a mapping")
        loaded.append((name, data))
    return loaded


def _merge(document: dict[str, Any], name: str, fragment: dict[str, Any]) -> None:
    unknown = set(fragment) - {"paths", "components", "tags"}
    if unknown:
        raise OpenApiError(f"openapi/{name}: only paths, components and tags may be added, "
                           f"not {', '.join(sorted(unknown))}")
    for path, item in (fragment.get("paths") or {}).items():
        if path in document["paths"]:
            raise OpenApiError(f"openapi/{name}: path {path} is already described")
        document["paths"][path] = item
    components = document.setdefault("components", {})
    for section, entries in (fragment.get("components") or {}).items():
        target = components.setdefault(section, {})
        for key, value in (entries or {}).items():
            if key in target:
                raise OpenApiError(f"openapi/{name}: components/{section}/{key} is already "
                                   "defined")
            target[key] = value
    known = {tag["name"] for tag in document.setdefault("tags", [])}
    for tag in fragment.get("tags") or []:
        if tag["name"] in known:
            raise OpenApiError(f"openapi/{name}: tag {tag['name']} is already defined")
        document["tags"].append(tag)
        known.add(tag["name"])


@functools.cache
def _document() -> dict[str, Any]:
    fragments = _fragments()
    _, base = fragments[0]
    document = copy.deepcopy(base)
    document["paths"] = dict(document.get("paths") or {})
    for name, fragment in fragments[1:]:
        _merge(document, name, fragment)
    return document


def document() -> dict[str, Any]:
    """The merged document (a copy: callers may change it)."""
    return copy.deepcopy(_document())


def register(router: Router) -> None:
    _document()  # a broken fragment stops the start, not the first request
    router.add("/openapi.json", GET=serve)


async def serve(call: Call) -> Reply:
    return Reply(body=_document())
