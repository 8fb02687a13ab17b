"""SQL for garbage collection: mark what is reachable, delete what is not — re-checked.

Marking reads everything once (ids and digests, no bodies) and decides in Python. Deleting
is done in batches, each one statement whose WHERE repeats the checks (no tag, no
referencing manifest, no new link, older than the grace window), so anything referenced
after the mark survives. On PostgreSQL the batch first takes ``FOR UPDATE`` row locks in id
order; a manifest PUT takes ``FOR SHARE`` on the blobs it references (same order), so either
the sweep waits for the push's references and then sees them, or the push finds the rows
gone and answers MANIFEST_BLOB_UNKNOWN. SQLite serialises writers; the foreign keys from
``manifest_blob`` to ``blob`` are the last guard there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, select

from harbor_twisted.db.models import (
    blob,
    manifest,
    manifest_blob,
    manifest_child,
    repository,
    repository_blob,
    tag,
)


@dataclass(frozen=True)
class BlobRef:
    id: int
    digest: str
    size: int


@dataclass(frozen=True)
class ManifestRef:
    id: int
    repository: str
    digest: str


@dataclass
class Marked:
    manifests: list[ManifestRef] = field(default_factory=list)
    blobs: list[BlobRef] = field(default_factory=list)
    kept_manifests: int = 0


def _reachable(rows: Sequence[Any], tagged: set[int], children: dict[int, list[str]]) -> set[int]:
    """Manifests reachable from tags and fresh manifests, through index children and
    referrers (a referrer of a kept manifest is kept)."""
    by_key = {(row.repository_id, row.digest): row.id for row in rows}
    repo_of = {row.id: (row.repository_id, row.digest) for row in rows}
    referrers: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        if row.subject_digest:
            referrers[(row.repository_id, row.subject_digest)].append(row.id)
    keep = {row.id for row in rows if row.fresh} | (tagged & set(repo_of))
    stack = list(keep)
    while stack:
        current = stack.pop()
        repository_id, digest = repo_of[current]
        found = [by_key.get((repository_id, child)) for child in children.get(current, ())]
        found += referrers.get((repository_id, digest), [])
        for other in found:
            if other is not None and other not in keep:
                keep.add(other)
                stack.append(other)
    return keep


def mark(conn: Connection, cutoff: datetime, delete_untagged: bool) -> Marked:
    rows = conn.execute(
        select(manifest.c.id, manifest.c.repository_id, manifest.c.digest,
               manifest.c.subject_digest, repository.c.name,
               (manifest.c.created_at >= cutoff).label("fresh"))
        .select_from(manifest.join(repository, repository.c.id == manifest.c.repository_id))
    ).all()
    if delete_untagged:
        tagged: set[int] = set(conn.execute(select(tag.c.manifest_id).distinct()).scalars())
        children: dict[int, list[str]] = defaultdict(list)
        links: Any = conn.execute(
            select(manifest_child.c.parent_id, manifest_child.c.child_digest))
        for parent_id, child in links:
            children[parent_id].append(child)
        keep = _reachable(rows, tagged, children)
    else:
        keep = {row.id for row in rows}
    marked = Marked(kept_manifests=len(keep))
    marked.manifests = [ManifestRef(row.id, row.name, row.digest)
                        for row in rows if row.id not in keep]
    referenced = {
        blob_id for manifest_id, blob_id in conn.execute(
            select(manifest_blob.c.manifest_id, manifest_blob.c.blob_id))
        if manifest_id in keep
    }
    freshly_linked: set[int] = set(conn.execute(
        select(repository_blob.c.blob_id).where(repository_blob.c.created_at >= cutoff)
        .distinct()).scalars())
    for row in conn.execute(select(blob.c.id, blob.c.digest, blob.c.size)
                            .where(blob.c.created_at < cutoff).order_by(blob.c.id)):
        if row.id not in referenced and row.id not in freshly_linked:
            marked.blobs.append(BlobRef(row.id, row.digest, row.size))
    return marked


def delete_manifests(
    conn: Connection, ids: list[int], cutoff: datetime
) -> list[tuple[int, str]]:
    """Delete those of ``ids`` that are still untagged, unreferenced by an index and not
    referrers of a tagged manifest; their (id, digest)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(manifest.c.id).where(manifest.c.id.in_(ids))
                     .order_by(manifest.c.id).with_for_update()).all()
    parent = manifest.alias("parent")
    subject = manifest.alias("subject")
    in_an_index = exists(
        select(manifest_child.c.parent_id)
        .select_from(manifest_child.join(parent, parent.c.id == manifest_child.c.parent_id))
        .where(manifest_child.c.child_digest == manifest.c.digest,
               parent.c.repository_id == manifest.c.repository_id)
    )
    refers_to_tagged = exists(
        select(subject.c.id)
        .select_from(subject.join(tag, tag.c.manifest_id == subject.c.id))
        .where(subject.c.repository_id == manifest.c.repository_id,
               subject.c.digest == manifest.c.subject_digest)
    )
    rows = conn.execute(
        delete(manifest)
        .where(
            manifest.c.id.in_(ids),
            manifest.c.created_at < cutoff,
            ~exists().where(tag.c.manifest_id == manifest.c.id),
            ~in_an_index,
            ~refers_to_tagged,
        )
        .returning(manifest.c.id, manifest.c.digest)
    )
    return [(row.id, row.digest) for row in rows]


def delete_blobs(conn: Connection, ids: list[int], cutoff: datetime) -> list[tuple[str, int]]:
    """Delete the rows (and links) of those of ``ids`` still unreferenced, not linked anew
    and older than ``cutoff``; their (digest, size). Files go after this commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(blob.c.id).where(blob.c.id.in_(ids))
                     .order_by(blob.c.id).with_for_update()).all()
    rows = conn.execute(
        delete(blob)
        .where(
            blob.c.id.in_(ids),
            blob.c.created_at < cutoff,
            ~exists().where(manifest_blob.c.blob_id == blob.c.id),
            ~exists().where(and_(repository_blob.c.blob_id == blob.c.id,
                                 repository_blob.c.created_at >= cutoff)),
        )
        .returning(blob.c.digest, blob.c.size)
    )
    return [(row.digest, row.size) for row in rows]


def blob_row_exists(conn: Connection, digest: str) -> bool:
    return conn.execute(select(blob.c.id).where(blob.c.digest == digest)).first() is not None


def known_digests(conn: Connection) -> set[str]:
    return set(conn.execute(select(blob.c.digest)).scalars())
