"""``/openapi.json``: the API's OpenAPI 3 document, kept as one YAML fragment per area in
``openapi/`` beside this module so each endpoint module's description lives next to its
neighbours' without one file everyone edits. ``base.yaml`` holds the frame; the others add
``paths``, ``components`` and ``tags``. A path, an operation's component or a tag defined
twice is an error, so two fragments cannot silently shadow each other.

The document states what the handlers accept, so that whatever it allows is accepted. The
loader writes out four rules the fragments would otherwise repeat: the ``q`` and ``sort``
patterns of each listing from its ``x-listing`` keys, the absence of NUL in every string,
64-bit bounds on every integer, and patterns that end at the end of the text (not before a
final newline).
"""

from __future__ import annotations

import copy
import functools
import re
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


# -- constraints the loader writes out --------------------------------------------------------

# PostgreSQL text cannot hold NUL: the handlers refuse it in every string (call.no_nul).
NO_NUL = "^[^\\x00]*$"
LISTING = "x-listing"  # an operation's q and sort keys and their kinds
_INTEGER = "-?[0-9]{1,9}"  # within the 32-bit ids and counts the listings compare with
_TIME = ("(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
         "([ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?")
_TEXT = "[^,%\\x00]"  # ',' separates clauses; '%' would be decoded once more


def _range(value: str) -> str:
    return f"\\[({value}~({value})?|~{value})\\]"


def _any_of(value: str) -> str:
    return f"\\{{{value}( {value})*\\}}"


# What a q clause's value may be, by the kind of the key's field (api/listing.py parses it).
_Q_VALUES = {
    "string": f"~{_TEXT}+|[^,%\\x00~\\[{{(\\\\]{_TEXT}*",
    "integer": f"{_INTEGER}|{_range(_INTEGER)}|{_any_of(_INTEGER)}",
    "boolean": f"true|false|{_any_of('(true|false)')}",
    "time": f"{_TIME}|{_range(_TIME)}",
    "tags": f"~{_TEXT}+|[^,%\\x00~\\[{{(\\\\]{_TEXT}*",  # artifacts' tags: a filter, not a sort key
}


def _listing_parameter(parameter: dict[str, Any], keys: dict[str, str],
                       shared: dict[str, Any]) -> dict[str, Any]:
    """``q`` or ``sort`` of a listing operation, with the pattern its keys allow."""
    if "$ref" in parameter:
        parameter = copy.deepcopy(shared[parameter["$ref"].rsplit("/", 1)[1]])
    if parameter["name"] == "q":
        clauses = "|".join(f"{re.escape(key)}=({_Q_VALUES[kind]})" for key, kind in keys.items())
        pattern = f"^({clauses})(,({clauses}))*$"
        listed = ", ".join(f"{key} ({kind})" for key, kind in keys.items())
    else:
        sortable = [key for key, kind in keys.items() if kind != "tags"]
        names = "|".join(re.escape(key) for key in sortable)
        pattern = f"^-?({names})(,-?({names}))*$"
        listed = ", ".join(sortable)
    parameter["schema"] = {**parameter.get("schema", {}), "pattern": pattern}
    parameter["description"] = f"{parameter.get('description', '')}\n\nKeys: {listed}."
    return parameter


def _write_listing_patterns(document: dict[str, Any]) -> None:
    shared = document["components"]["parameters"]
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or LISTING not in operation:
                continue
            keys = operation.pop(LISTING)
            operation["parameters"] = [
                _listing_parameter(p, keys, shared)
                if p.get("name") in ("q", "sort") or p.get("$ref", "").endswith(("/Query", "/Sort"))
                else p
                for p in operation["parameters"]
            ]


def _end_means_end(node: Any) -> None:
    """Python's ``$`` also matches before a final newline, which the handlers' checks
    refuse; ``(?!\\n)$`` is the end of the text in ECMA-262 and Python alike."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if (isinstance(pattern, str) and pattern != NO_NUL and pattern.endswith("$")
                and not pattern.endswith("(?!\\n)$")):
            node["pattern"] = pattern[:-1] + "(?!\\n)$"
        for value in node.values():
            _end_means_end(value)
    elif isinstance(node, list):
        for value in node:
            _end_means_end(value)


def _forbid_nul(node: Any) -> None:
    """Every string without a pattern, a format or an enum gets NO_NUL as its pattern."""
    if isinstance(node, dict):
        if (node.get("type") == "string" and not {"pattern", "format", "enum"} & set(node)):
            node["pattern"] = NO_NUL
        for value in node.values():
            _forbid_nul(value)
    elif isinstance(node, list):
        for value in node:
            _forbid_nul(value)


# The handlers refuse integers outside 64 bits (call.Fields.integer).
INT64 = (-(2**63), 2**63 - 1)


def _bound_integers(node: Any) -> None:
    """Every integer without a bound gets the 64-bit one the handlers enforce."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT64[0])
            node.setdefault("maximum", INT64[1])
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


@functools.cache
def _document() -> dict[str, Any]:
    fragments = _fragments()
    _, base = fragments[0]
    document = copy.deepcopy(base)
    document["paths"] = dict(document.get("paths") or {})
    for name, fragment in fragments[1:]:
        _merge(document, name, fragment)
    _write_listing_patterns(document)
    _forbid_nul(document)
    _bound_integers(document)
    _end_means_end(document)
    return document


def document() -> dict[str, Any]:
    """The merged document (a copy: callers may change it)."""
    return copy.deepcopy(_document())


def register(router: Router) -> None:
    _document()  # a broken fragment stops the start, not the first request
    router.add("/openapi.json", GET=serve)


async def serve(call: Call) -> Reply:
    return Reply(body=_document())
