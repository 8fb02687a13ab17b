"""What Harbor shows about an artifact that is read from its manifest (pure functions):
its type, its media type, its config blob, the platforms of an index's children, and the
image attributes kept in the config."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

INDEXES = frozenset({DOCKER_LIST, OCI_INDEX})
IMAGE_MEDIA_TYPES = frozenset({DOCKER_CONFIG, OCI_CONFIG, DOCKER_LIST, OCI_INDEX})
KNOWN_TYPES = {
    "application/vnd.cncf.helm.config.v1+json": "CHART",
    "application/vnd.cnab.manifest.v1": "CNAB",
}
# Harbor's fallback: application/vnd.<vendor>.<type>.config.<version>+json names the type.
_TYPE_FROM_MEDIA_TYPE = re.compile(r"^application/vnd\.[^.]*\.(.*)\.config\.[^.]*\+json$")
# Keys of an image config that Harbor shows as extra_attrs.
_IMAGE_ATTRS = ("architecture", "author", "config", "created", "os", "os.version", "variant")


@dataclass(frozen=True)
class Child:
    digest: str
    platform: dict[str, Any] | None
    annotations: dict[str, str] | None
    urls: list[str] | None


def _document(content: bytes) -> dict[str, Any]:
    try:
        document = json.loads(content)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _config(document: dict[str, Any]) -> dict[str, Any]:
    config = document.get("config")
    return config if isinstance(config, dict) else {}


def media_type(manifest_media_type: str, content: bytes) -> str:
    """Harbor's ``media_type``: an index's own type; for a manifest its config's media
    type, or its ``artifactType`` when the config is the empty descriptor."""
    if manifest_media_type in INDEXES:
        return manifest_media_type
    document = _document(content)
    config_type = _config(document).get("mediaType")
    artifact_type = document.get("artifactType")
    if isinstance(artifact_type, str) and artifact_type and config_type in (None, OCI_EMPTY):
        return artifact_type
    return config_type if isinstance(config_type, str) and config_type else manifest_media_type


def artifact_type(media: str) -> str:
    """``IMAGE``, ``CHART``, ``CNAB``, a type named by the media type, or ``UNKNOWN``."""
    if media in IMAGE_MEDIA_TYPES:
        return "IMAGE"
    if media in KNOWN_TYPES:
        return KNOWN_TYPES[media]
    match = _TYPE_FROM_MEDIA_TYPE.match(media)
    return match[1].upper() if match else "UNKNOWN"


def config_digest(manifest_media_type: str, content: bytes) -> str | None:
    """The config blob of an image manifest, whose attributes are worth reading."""
    if manifest_media_type not in (DOCKER_MANIFEST, OCI_MANIFEST):
        return None
    config = _config(_document(content))
    if config.get("mediaType") not in (DOCKER_CONFIG, OCI_CONFIG):
        return None
    digest = config.get("digest")
    return digest if isinstance(digest, str) else None


def image_attributes(config_blob: bytes) -> dict[str, Any]:
    document = _document(config_blob)
    return {key: document[key] for key in _IMAGE_ATTRS if key in document}


def index_children(content: bytes) -> list[Child]:
    """The manifests an index lists, in order, with their platforms."""
    manifests = _document(content).get("manifests")
    if not isinstance(manifests, list):
        return []
    found = []
    for entry in manifests:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        platform = entry.get("platform")
        annotations = entry.get("annotations")
        urls = entry.get("urls")
        found.append(Child(
            entry["digest"],
            platform if isinstance(platform, dict) else None,
            annotations if isinstance(annotations, dict) else None,
            urls if isinstance(urls, list) else None,
        ))
    return found
