"""Artifacts and tags through the REST API: list, read, delete, tag and untag.

An artifact is a manifest of a repository, named by digest or by tag. Deleting one follows
Harbor: refused (412) while an index references it, otherwise its tags, its untagged
children and its referrers go with it. Only database rows are removed; blob files wait for
garbage collection. Every change writes its audit row in its own transaction.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from twisted.internet import threads

from harbor_twisted.common.names import is_valid_tag
from harbor_twisted.core import artifact_info, immutability
from harbor_twisted.core.accessories import Accessory, accessories_of
from harbor_twisted.core.artifact_info import Child
from harbor_twisted.core.audit import Actor, listed
from harbor_twisted.core.errors import Conflict, Invalid, NotFound, PreconditionFailed
from harbor_twisted.core.rbac import Principal
from harbor_twisted.core.repositories import Located, locate
from harbor_twisted.db import (
    artifact_store,
    audit_store,
    quota_store,
    registry_store,
)
from harbor_twisted.db.artifact_store import ArtifactRecord, TagRecord
from harbor_twisted.db.engine import Database
from harbor_twisted.db.listing import Listing
from harbor_twisted.storage.base import BlobStore
from harbor_twisted.storage.digests import InvalidDigest, parse_digest

CONFIG_READ_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class TagView:
    record: TagRecord
    pull_time: datetime | None


@dataclass(frozen=True)
class ReferenceView:
    parent_id: int
    child_id: int | None
    child: Child


@dataclass(frozen=True)
class ArtifactView:
    record: ArtifactRecord
    project_id: int
    repository_name: str
    media_type: str
    type: str
    size: int
    pull_time: datetime | None
    tags: list[TagView] | None  # None when not asked for
    references: list[ReferenceView]
    extra_attrs: dict[str, Any] = field(default_factory=dict)
    accessories: list[Accessory] | None = None  # None when not asked for (with_accessory)


@dataclass(frozen=True)
class Target:
    """An artifact named in a path, with the repository and access that found it."""

    located: Located
    artifact: ArtifactRecord

    @property
    def repository_name(self) -> str:
        return self.located.repository.name

    @property
    def project_id(self) -> int:
        return self.located.access.project.id


def find(
    conn: Connection,
    principal: Principal,
    path: tuple[str, str, str],
    resource: str,
    action: str,
) -> Target:
    """The artifact ``reference`` (a digest or a tag) of ``project/repository``."""
    project_name, repository_name, reference = path
    located = locate(conn, principal, project_name, repository_name, resource, action,
                     counted=False)
    repository = located.repository
    record = None
    if ":" in reference:
        try:
            digest = str(parse_digest(reference))
        except InvalidDigest:
            digest = None
        if digest is not None:
            record = artifact_store.artifact_by_digest(conn, repository.id, digest)
        shown = f"{repository.name}@{reference}"
    else:
        if is_valid_tag(reference):
            record = artifact_store.artifact_by_tag(conn, repository.id, reference)
        shown = f"{repository.name}:{reference}"
    if record is None:
        raise NotFound(f"artifact {shown} not found")
    return Target(located, record)


def _resource(repository_name: str, digest: str) -> str:
    return f"{repository_name}@{digest}"


def views(
    conn: Connection, located: Located, records: list[ArtifactRecord], with_tags: bool
) -> list[ArtifactView]:
    """Artifacts as Harbor shows them: sizes with their blobs and children (kept), tags, an
    index's references and the last pull (by digest or by one of its tags)."""
    repository = located.repository
    ids = [r.id for r in records]
    index_ids = [r.id for r in records if r.manifest_media_type in artifact_info.INDEXES]
    kids: dict[tuple[int, str], artifact_store.ChildRecord] = {
        (c.parent_id, c.digest): c for c in artifact_store.children(conn, repository.id,
                                                                     index_ids)
    }
    tags = artifact_store.tags_of(conn, ids)
    result = []
    for record in records:
        media = artifact_info.media_type(record.manifest_media_type, record.content)
        references = []
        if record.id in index_ids:
            for child in artifact_info.index_children(record.content):
                known = kids.get((record.id, child.digest))
                references.append(ReferenceView(record.id, known.id if known else None, child))
        tag_views = [TagView(t, t.pull_time) for t in tags[record.id]]
        moments = [v.pull_time for v in tag_views if v.pull_time is not None]
        if record.pull_time is not None:
            moments.append(record.pull_time)
        result.append(ArtifactView(
            record=record,
            project_id=located.access.project.id,
            repository_name=repository.name,
            media_type=media,
            type=artifact_info.artifact_type(media),
            size=record.total_size,
            pull_time=max(moments) if moments else None,
            tags=tag_views if with_tags else None,
            references=references,
        ))
    return result


class ArtifactService:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    async def list(
        self, principal: Principal, project: str, repository: str, listing: Listing,
        with_tags: bool = True, with_accessories: bool = False,
    ) -> tuple[list[ArtifactView], int]:
        def run(conn: Connection) -> tuple[list[ArtifactView], int]:
            located = locate(conn, principal, project, repository, "artifact", "list",
                             counted=False)
            records, total = listed(artifact_store.list_artifacts, conn,
                                    located.repository.id, listing)
            found = views(conn, located, records, with_tags)
            if with_accessories:
                extra = accessories_of(conn, located.repository.name, records)
                found = [replace(v, accessories=extra.get(v.record.id, [])) for v in found]
            return found, total

        return await self.db.run(run)

    async def get(
        self, principal: Principal, path: tuple[str, str, str], with_tags: bool = True
    ) -> ArtifactView:
        """One artifact; an image's attributes are read from its config blob."""

        def run(conn: Connection) -> ArtifactView:
            target = find(conn, principal, path, "artifact", "read")
            return views(conn, target.located, [target.artifact], with_tags)[0]

        view = await self.db.run(run)
        digest = artifact_info.config_digest(view.record.manifest_media_type,
                                             view.record.content)
        if digest is not None:
            view.extra_attrs.update(await threads.deferToThread(self._image_attributes, digest))
        return view

    def _image_attributes(self, digest: str) -> dict[str, Any]:
        """Best effort: a config that cannot be read (not yet collected, moved) shows none."""
        try:
            with self.blobs.open_blob(parse_digest(digest)) as file:
                return artifact_info.image_attributes(file.read(CONFIG_READ_LIMIT))
        except (OSError, InvalidDigest):
            return {}

    async def delete(self, actor: Actor, path: tuple[str, str, str]) -> None:
        def run(conn: Connection) -> None:
            target = find(conn, actor.principal, path, "artifact", "delete")
            record = target.artifact
            if artifact_store.parents_of(conn, record.repository_id, record.digest):
                raise PreconditionFailed("the deleting artifact is referenced by others")
            tags = [t.name for t in artifact_store.tags_of(conn, [record.id])[record.id]]
            protected = immutability.immutable_tags(conn, target.repository_name, tags)
            if protected:
                raise immutability.TagImmutable(target.repository_name, protected[0], "deleted")
            removed = artifact_store.delete_artifact(conn, record, actor.username)
            quota_store.release(conn, target.project_id, target.located.access.project.name)
            detail: dict[str, Any] = {"tags": tags} if tags else {}
            if len(removed) > 1:
                detail["also_removed"] = removed[1:]
            audit_store.write_audit(conn, [actor.record(
                "delete", "artifact", _resource(target.repository_name, record.digest),
                target.project_id, detail or None,
            )])

        await self.db.run(run)

    async def accessories(
        self, principal: Principal, path: tuple[str, str, str]
    ) -> builtins.list[dict[str, Any]]:
        """Descriptors of the artifacts whose ``subject`` this one is (signatures, SBOMs):
        what Harbor shows as an artifact's accessories."""

        def run(conn: Connection) -> builtins.list[dict[str, Any]]:
            target = find(conn, principal, path, "artifact", "read")
            return registry_store.list_referrers(conn, target.repository_name,
                                                 target.artifact.digest, None)

        return await self.db.run(run)

    # -- tags -----------------------------------------------------------------------------

    async def list_tags(
        self, principal: Principal, path: tuple[str, str, str], listing: Listing
    ) -> tuple[builtins.list[TagView], int]:
        def run(conn: Connection) -> tuple[list[TagView], int]:
            target = find(conn, principal, path, "tag", "list")
            records, total = listed(artifact_store.list_tags, conn, target.artifact.id,
                                    listing)
            return [TagView(t, t.pull_time) for t in records], total

        return await self.db.run(run)

    async def create_tag(self, actor: Actor, path: tuple[str, str, str], name: str) -> None:
        """Harbor's rule: a tag name taken in the repository is a conflict (409), even on
        the same artifact; moving a tag is a push's job."""
        if not is_valid_tag(name):
            raise Invalid("invalid tag name: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")

        def run(conn: Connection) -> None:
            target = find(conn, actor.principal, path, "tag", "create")
            repository = target.located.repository
            try:
                artifact_store.create_tag(conn, repository.id, target.artifact.id, name,
                                         actor.username)
            except artifact_store.TagExists:
                raise Conflict(
                    f"tag {name} already exists under the repository {repository.name}"
                ) from None
            audit_store.write_audit(conn, [actor.record(
                "create", "tag", f"{repository.name}:{name}", target.project_id,
                {"digest": target.artifact.digest},
            )])

        await self.db.run(run)

    async def delete_tag(self, actor: Actor, path: tuple[str, str, str], name: str) -> None:
        def run(conn: Connection) -> None:
            target = find(conn, actor.principal, path, "tag", "delete")
            record = target.artifact
            tags = artifact_store.tags_of(conn, [record.id])[record.id]
            found = next((t for t in tags if t.name == name), None)
            if found is None:
                raise NotFound(f"tag {name} attached to artifact {record.id} not found")
            immutability.check_tag_delete(conn, target.repository_name, name)
            artifact_store.delete_tag(conn, found.id, actor.username)
            audit_store.write_audit(conn, [actor.record(
                "delete", "tag", f"{target.repository_name}:{name}", target.project_id,
                {"digest": record.digest},
            )])

        await self.db.run(run)
