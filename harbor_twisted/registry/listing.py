"""Tag lists, the catalog and the referrers API."""

from __future__ import annotations

import json
from urllib.parse import quote

from harbor_twisted.common.names import Route
from harbor_twisted.db import registry_store
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.manifest_parser import OCI_INDEX
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.storage.digests import InvalidDigest, parse_digest
from harbor_twisted.web.http import Response, query_value

MAX_PAGE = 10_000


def _page_size(request: RegistryRequest) -> int | None:
    text = query_value(request, "n")
    if text is None or text == "":
        return None
    if not text.isdecimal() or len(text) > 9:
        raise RegistryError(
            "UNSUPPORTED", "n must be a non-negative integer", {"n": text[:32]}, status=400
        )
    return min(int(text), MAX_PAGE)


def _paginate(
    request: RegistryRequest, app: RegistryApp, path: str, items: list[str], limit: int | None
) -> dict[str, str]:
    """Fetch one more than asked to know whether a next page exists; trims ``items``."""
    headers = {}
    if limit is not None and len(items) > limit:
        del items[limit:]
        if items:
            link = f"{path}?n={limit}&last={quote(items[-1], safe='')}"
            headers["Link"] = f'<{app.url(request, link)}>; rel="next"'
    return headers


async def list_tags(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    limit = _page_size(request)
    last = query_value(request, "last")
    fetch = None if limit is None else limit + 1
    tags = await app.db.run(registry_store.list_tags, route.name, last, fetch)
    if tags is None:
        raise RegistryError(
            "NAME_UNKNOWN", "repository name not known to registry", {"name": route.name}
        )
    headers = _paginate(request, app, f"/v2/{route.name}/tags/list", tags, limit)
    headers["Content-Type"] = "application/json"
    return Response(200, headers, json.dumps({"name": route.name, "tags": tags}).encode())


async def catalog(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    limit = _page_size(request)
    last = query_value(request, "last")
    fetch = None if limit is None else limit + 1
    names = await app.db.run(registry_store.list_repositories, last, fetch)
    headers = _paginate(request, app, "/v2/_catalog", names, limit)
    headers["Content-Type"] = "application/json"
    return Response(200, headers, json.dumps({"repositories": names}).encode())


async def referrers(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    try:
        subject = parse_digest(route.argument)
    except InvalidDigest as exc:
        raise RegistryError("DIGEST_INVALID", str(exc), {"digest": route.argument[:160]}) from None
    artifact_type = query_value(request, "artifactType")
    descriptors = await app.db.run(
        registry_store.list_referrers, route.name, str(subject), artifact_type or None
    )
    headers = {"Content-Type": OCI_INDEX}
    if artifact_type:
        headers["OCI-Filters-Applied"] = "artifactType"
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
    return Response(200, headers, json.dumps(body).encode())
