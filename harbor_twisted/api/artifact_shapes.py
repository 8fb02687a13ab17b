"""Harbor's JSON shapes for repositories, artifacts, tags and search results
(``Repository``, ``Artifact``, ``Tag``, ``Reference``, ``SearchRepository``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harbor_twisted.api.shapes import iso
from harbor_twisted.core.accessories import Accessory
from harbor_twisted.core.artifacts import ArtifactView, ReferenceView, TagView
from harbor_twisted.db.repository_store import RepositoryRecord

# Harbor shows "never" as Go's zero time; clients parse it as a date.
NEVER = "0001-01-01T00:00:00.000Z"


def _time(moment: datetime | None) -> str:
    return iso(moment) or NEVER


def repository(record: RepositoryRecord) -> dict[str, Any]:
    """``Repository``."""
    return {
        "id": record.id,
        "project_id": record.project_id,
        "name": record.name,
        "description": record.description,
        "artifact_count": record.artifact_count,
        "pull_count": record.pull_count,
        "creation_time": iso(record.creation_time),
        "update_time": iso(record.update_time),
    }


def search_repository(record: RepositoryRecord) -> dict[str, Any]:
    """``SearchRepository``."""
    return {
        "project_id": record.project_id,
        "project_name": record.project_name,
        "project_public": record.project_public,
        "repository_name": record.name,
        "pull_count": record.pull_count,
        "artifact_count": record.artifact_count,
    }


def tag(view: TagView) -> dict[str, Any]:
    """``Tag``; immutability rules and signatures are not implemented: both false."""
    record = view.record
    return {
        "id": record.id,
        "repository_id": record.repository_id,
        "artifact_id": record.artifact_id,
        "name": record.name,
        "push_time": _time(record.push_time),
        "pull_time": _time(view.pull_time),
        "immutable": False,
        "signed": False,
    }


def reference(view: ReferenceView) -> dict[str, Any]:
    """``Reference``: a child of an index."""
    shown: dict[str, Any] = {
        "parent_id": view.parent_id,
        "child_id": view.child_id or 0,
        "child_digest": view.child.digest,
    }
    if view.child.platform is not None:
        shown["platform"] = view.child.platform
    if view.child.annotations:
        shown["annotations"] = view.child.annotations
    if view.child.urls:
        shown["urls"] = view.child.urls
    return shown


def artifact(view: ArtifactView, with_label: bool = False) -> dict[str, Any]:
    """``Artifact``; ``tags`` only when asked for (Harbor's ``with_tag``, on by default),
    ``labels`` (none exist yet) only with ``with_label``."""
    record = view.record
    shown: dict[str, Any] = {
        "id": record.id,
        "type": view.type,
        "media_type": view.media_type,
        "manifest_media_type": record.manifest_media_type,
        "project_id": view.project_id,
        "repository_id": record.repository_id,
        "repository_name": view.repository_name,
        "digest": record.digest,
        "size": view.size,
        "icon": "",
        "push_time": _time(record.push_time),
        "pull_time": _time(view.pull_time),
        "extra_attrs": view.extra_attrs,
        "annotations": record.annotations,
        "references": [reference(r) for r in view.references] or None,
        "addition_links": {},
    }
    if view.tags is not None:
        shown["tags"] = [tag(t) for t in view.tags] or None
    if with_label:
        shown["labels"] = None
    if view.accessories is not None:
        shown["accessories"] = [accessory(a) for a in view.accessories] or None
    return shown


def accessory(item: Accessory) -> dict[str, Any]:
    """Harbor's ``Accessory``."""
    return {"id": item.id, "artifact_id": item.artifact_id,
            "subject_artifact_id": item.subject_artifact_id,
            "subject_artifact_digest": item.subject_artifact_digest,
            "subject_artifact_repo": item.subject_artifact_repo, "size": item.size,
            "digest": item.digest, "type": item.type, "icon": "",
            "creation_time": _time(item.creation_time)}
