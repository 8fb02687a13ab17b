"""Grammar of repository names, tags and references, and routing on the raw path.

Routing uses the raw request path (before any percent-decoding): names and references are
matched against the spec's grammar, which admits no ``%``, ``..`` or empty segment, so
nothing that reaches the filesystem or the database can escape its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME = rf"{NAME_COMPONENT}(?:/{NAME_COMPONENT})*"
TAG = r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}"
MAX_NAME_LENGTH = 255

_NAME_RE = re.compile(rf"^{NAME}$")
_TAG_RE = re.compile(rf"^{TAG}$")


def is_valid_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and bool(_NAME_RE.match(name))


def is_valid_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


@dataclass(frozen=True)
class Route:
    kind: str  # base, catalog, blob, upload_start, upload, manifest, tags, referrers
    name: str = ""
    argument: str = ""  # digest, upload id or manifest reference, not yet validated


# The name part is matched loosely here (any characters but '?') and validated afterwards,
# so a bad name answers NAME_INVALID instead of a bare 404.
_ROUTES = [
    ("base", re.compile(r"^/v2/?$")),
    ("catalog", re.compile(r"^/v2/_catalog$")),
    ("upload_start", re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?$")),
    ("upload", re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<arg>[^/]+)$")),
    ("blob", re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<arg>[^/]+)$")),
    ("manifest", re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<arg>[^/]+)$")),
    ("tags", re.compile(r"^/v2/(?P<name>.+)/tags/list$")),
    ("referrers", re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<arg>[^/]+)$")),
]


def route_path(raw_path: bytes) -> Route | None:
    """Match a raw request path (no query string) to a registry route."""
    try:
        path = raw_path.decode("ascii")
    except UnicodeDecodeError:
        return None
    for kind, pattern in _ROUTES:
        match = pattern.match(path)
        if match:
            groups = match.groupdict()
            return Route(kind, groups.get("name") or "", groups.get("arg") or "")
    return None
