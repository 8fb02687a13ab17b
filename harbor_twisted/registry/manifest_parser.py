"""Parse and validate manifest bodies (pure functions, no I/O).

Accepts Docker v2 schema 2 manifests and manifest lists, OCI image manifests and indexes,
including artifacts (``artifactType``, custom config media types, no layers) and ``subject``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harbor_twisted.storage.digests import InvalidDigest, parse_digest

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)

IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
SUPPORTED = IMAGE_MANIFESTS + INDEXES
OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


class ManifestInvalid(ValueError):
    """The body is not a manifest we accept; the message says why."""


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedManifest:
    media_type: str
    artifact_type: str | None
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    children: tuple[Descriptor, ...]
    subject: Descriptor | None
    annotations: dict[str, str] | None

    @property
    def required_blobs(self) -> dict[str, int]:
        """Blobs that must already be in the repository, with their declared sizes.

        Foreign layers (with ``urls``) are fetched from elsewhere by clients.
        """
        required: dict[str, int] = {}
        if self.config is not None:
            required[self.config.digest] = self.config.size
        for layer in self.layers:
            if not layer.urls:
                required[layer.digest] = layer.size
        return required

    @property
    def effective_artifact_type(self) -> str | None:
        """What the referrers API reports: artifactType, else the config's media type."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None and self.media_type == OCI_MANIFEST:
            return self.config.media_type
        return None


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where}: expected a descriptor object")
    media_type = value.get("mediaType")
    digest = value.get("digest")
    size = value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}: mediaType is missing")
    if not isinstance(digest, str):
        raise ManifestInvalid(f"{where}: digest is missing")
    try:
        parse_digest(digest)
    except InvalidDigest as exc:
        raise ManifestInvalid(f"{where}: {exc}") from None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ManifestInvalid(f"{where}: size must be a non-negative integer")
    urls = value.get("urls") or ()
    if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalid(f"{where}: urls must be a list of strings")
    return Descriptor(media_type, digest, size, tuple(urls))


def _annotations(document: dict[str, Any]) -> dict[str, str] | None:
    value = document.get("annotations")
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ManifestInvalid("annotations must map strings to strings")
    return value


def _media_type(document: dict[str, Any], content_type: str | None) -> str:
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    header = (content_type or "").split(";", 1)[0].strip().lower() or None
    if header in ("application/json", "application/octet-stream"):
        header = None
    if header and declared and header != declared:
        raise ManifestInvalid(
            f"Content-Type {header} does not match the manifest's mediaType {declared}"
        )
    media_type = header or declared
    if media_type is None:
        # An OCI manifest or index may omit mediaType; tell them apart by their fields.
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if media_type in DOCKER_SCHEMA1:
        raise ManifestInvalid("Docker schema 1 manifests are not supported; push schema 2")
    if media_type not in SUPPORTED:
        raise ManifestInvalid(f"unsupported manifest media type {media_type}")
    return media_type


def _subject(document: dict[str, Any]) -> Descriptor | None:
    if document.get("subject") is None:
        return None
    return _descriptor(document["subject"], "subject")


def _artifact_type(document: dict[str, Any]) -> str | None:
    value = document.get("artifactType")
    if value is not None and (not isinstance(value, str) or not value):
        raise ManifestInvalid("artifactType must be a non-empty string")
    return value


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestInvalid(f"the body is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ManifestInvalid("the body must be a JSON object")
    if document.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    media_type = _media_type(document, content_type)
    if media_type in INDEXES:
        return _parse_index(document, media_type)
    return _parse_image_manifest(document, media_type)


def _parse_image_manifest(document: dict[str, Any], media_type: str) -> ParsedManifest:
    if "manifests" in document:
        raise ManifestInvalid("an image manifest cannot carry a manifests list")
    config = _descriptor(document.get("config"), "config")
    layers_value = document.get("layers")
    if layers_value is None and media_type == OCI_MANIFEST:
        layers_value = []
    if not isinstance(layers_value, list):
        raise ManifestInvalid("layers must be a list")
    if media_type == DOCKER_MANIFEST and not layers_value:
        raise ManifestInvalid("a Docker image manifest needs at least one layer")
    layers = tuple(_descriptor(item, f"layers[{i}]") for i, item in enumerate(layers_value))
    artifact_type = _artifact_type(document)
    if artifact_type and config.media_type != OCI_EMPTY_CONFIG and media_type != OCI_MANIFEST:
        raise ManifestInvalid("artifactType is only valid on OCI manifests")
    return ParsedManifest(
        media_type=media_type,
        artifact_type=artifact_type,
        config=config,
        layers=layers,
        children=(),
        subject=_subject(document),
        annotations=_annotations(document),
    )


def _parse_index(document: dict[str, Any], media_type: str) -> ParsedManifest:
    if "layers" in document or "config" in document:
        raise ManifestInvalid("an index cannot carry config or layers")
    children_value = document.get("manifests")
    if not isinstance(children_value, list):
        raise ManifestInvalid("manifests must be a list")
    children = tuple(_descriptor(item, f"manifests[{i}]") for i, item in enumerate(children_value))
    return ParsedManifest(
        media_type=media_type,
        artifact_type=_artifact_type(document),
        config=None,
        layers=(),
        children=children,
        subject=_subject(document),
        annotations=_annotations(document),
    )
