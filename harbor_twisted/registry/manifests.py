"""Manifest PUT, GET, HEAD and DELETE, by tag and by digest."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from harbor_twisted.common.names import Route, is_valid_tag
from harbor_twisted.core.immutability import TagImmutable
from harbor_twisted.db import registry_store
from harbor_twisted.db.audit_store import RegistryEvent
from harbor_twisted.db.quota_store import QuotaExceeded
from harbor_twisted.registry import policies
from harbor_twisted.registry.audit import event_for
from harbor_twisted.registry.errors import RegistryError
from harbor_twisted.registry.manifest_parser import ManifestInvalid, parse_manifest
from harbor_twisted.registry.quota_events import quota_refused
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp
from harbor_twisted.registry.upload_sink import CappedBuffer
from harbor_twisted.storage.digests import (
    DEFAULT_ALGORITHM,
    Digest,
    InvalidDigest,
    digest_bytes,
    parse_digest,
)
from harbor_twisted.web.http import Response, header


def parse_reference(reference: str, for_write: bool = False) -> Digest | str:
    """A manifest reference is a digest (contains ':') or a tag.

    An invalid tag is a bad request when pushing, and simply unknown when reading.
    """
    if ":" in reference:
        try:
            return parse_digest(reference)
        except InvalidDigest as exc:
            detail = {"reference": reference[:160]}
            raise RegistryError("DIGEST_INVALID", str(exc), detail) from None
    if not is_valid_tag(reference):
        if not for_write:
            raise RegistryError(
                "MANIFEST_UNKNOWN", "manifest unknown to registry", {"tag": reference[:160]}
            )
        raise RegistryError(
            "MANIFEST_INVALID",
            "invalid tag: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
            {"tag": reference[:160]},
        )
    return reference


def _accepts(request: RegistryRequest, media_type: str) -> bool:
    # Clients (the docker daemon among them) send several Accept lines: read them all.
    lines = request.requestHeaders.getRawHeaders(b"accept") or []
    accept = ",".join(line.decode("latin-1") for line in lines)
    if not accept.strip():
        return True
    offered = []
    for item in accept.split(","):
        parts = item.split(";")
        value = parts[0].strip().lower()
        quality = 1.0
        for param in parts[1:]:
            key, _, number = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 1.0
        if value and quality > 0:
            offered.append(value)
    if not offered:
        return True
    major = media_type.split("/", 1)[0]
    return any(v in (media_type, "*/*", f"{major}/*", "application/json") for v in offered)


async def get_manifest(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    reference = parse_reference(route.argument)
    if isinstance(reference, Digest):
        stored = await app.db.run(registry_store.get_manifest_by_digest, route.name, str(reference))
    else:
        stored = await app.db.run(registry_store.get_manifest_by_tag, route.name, reference)
        if stored is not None and not _accepts(request, stored.media_type):
            raise RegistryError(
                "MANIFEST_UNKNOWN",
                f"the manifest is a {stored.media_type}, which the Accept header excludes",
                {"mediaType": stored.media_type},
            )
    if stored is None:
        raise RegistryError(
            "MANIFEST_UNKNOWN", "manifest unknown to registry", {"reference": route.argument}
        )
    headers = {
        "Content-Type": stored.media_type,
        "Docker-Content-Digest": stored.digest,
        "ETag": f'"{stored.digest}"',
    }
    if request.method == b"HEAD":
        return Response(200, headers, content_length=len(stored.content))
    app.pulls.add(
        _artifact_event(app, request, "pull", route, reference),
        stored.digest,
        None if isinstance(reference, Digest) else reference,
    )
    return Response(200, headers, body=stored.content)


def _artifact_event(
    app: RegistryApp, request: RegistryRequest, operation: str, route: Route,
    reference: Digest | str,
) -> RegistryEvent:
    resource = _resource(route.name, reference)
    return event_for(
        app.config, request, request.username, operation, "artifact", route.name, resource
    )


def _resource(repository: str, reference: Digest | str) -> str:
    """Harbor's way of naming an artifact in the audit log."""
    if isinstance(reference, Digest):
        return f"{repository}@{reference}"
    return f"{repository}:{reference}"


async def put_manifest(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    reference = parse_reference(route.argument, for_write=True)
    sink = request.body
    if not isinstance(sink, CappedBuffer):
        raise RegistryError("MANIFEST_INVALID", "a manifest body is required")
    if sink.overflowed:
        limit = app.config.manifest_max_bytes
        raise RegistryError(
            "SIZE_INVALID",
            f"manifest exceeds the {limit} byte limit",
            {"limit": limit},
            status=413,
        )
    body = sink.getvalue()
    try:
        parsed = parse_manifest(body, header(request, "content-type"))
    except ManifestInvalid as exc:
        raise RegistryError("MANIFEST_INVALID", f"manifest invalid: {exc}") from None
    if isinstance(reference, Digest):
        digest = digest_bytes(body, reference.algorithm)
        if digest != reference:
            raise RegistryError(
                "DIGEST_INVALID",
                "the manifest body does not match the digest in the URL",
                {"expected": str(reference), "actual": str(digest)},
            )
        tag_name = None
    else:
        digest = digest_bytes(body, DEFAULT_ALGORITHM)
        tag_name = reference
    record = registry_store.ManifestRecord(
        digest=str(digest),
        media_type=parsed.media_type,
        content=body,
        artifact_type=parsed.effective_artifact_type,
        subject_digest=parsed.subject.digest if parsed.subject else None,
        annotations=parsed.annotations,
        blob_sizes=parsed.required_blobs,
        child_digests=tuple(child.digest for child in parsed.children),
    )
    events = [
        _artifact_event(app, request, "create", route, reference)
    ]
    try:
        try:
            await app.db.run(policies.store_manifest, route.name, record, tag_name, events)
        except IntegrityError:
            # A garbage collection removed a referenced row between our check and insert
            # (SQLite) or the manifest a tag should point to: once more, from the checks.
            await app.db.run(policies.store_manifest, route.name, record, tag_name, events)
    except TagImmutable as exc:
        raise policies.denied(exc) from None
    except QuotaExceeded as exc:
        await quota_refused(app, request, route.name, str(digest), tag_name, exc)
        raise policies.denied(exc) from None
    except IntegrityError:
        raise RegistryError(
            "MANIFEST_BLOB_UNKNOWN", "referenced content was removed concurrently; push again"
        ) from None
    except registry_store.MissingReferences as exc:
        raise RegistryError(
            "MANIFEST_BLOB_UNKNOWN",
            "the manifest references blobs or manifests unknown to this repository",
            {"blobs": exc.blobs, "manifests": exc.manifests},
        ) from None
    except registry_store.SizeMismatch as exc:
        raise RegistryError("MANIFEST_INVALID", str(exc), {"digest": exc.digest}) from None
    headers = {
        "Location": app.url(request, f"/v2/{route.name}/manifests/{digest}"),
        "Docker-Content-Digest": str(digest),
    }
    if parsed.subject is not None:
        headers["OCI-Subject"] = parsed.subject.digest
    return Response(201, headers, content_length=0)


async def delete_manifest(app: RegistryApp, request: RegistryRequest, route: Route) -> Response:
    reference = parse_reference(route.argument)
    events = [
        _artifact_event(app, request, "delete", route, reference)
    ]
    change = policies.delete_manifest if isinstance(reference, Digest) else policies.delete_tag
    try:
        deleted = await app.db.run(change, events, route.name, str(reference))
    except TagImmutable as exc:
        raise policies.denied(exc) from None
    if not deleted:
        raise RegistryError(
            "MANIFEST_UNKNOWN", "manifest unknown to registry", {"reference": route.argument}
        )
    return Response(202, content_length=0)
