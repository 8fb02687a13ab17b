"""An artifact's total size as Harbor shows it, kept in ``manifest.total_size``: the
manifest's own bytes, its config and layers, and the totals of its children present in the
repository (an index). Kept on push and on delete, so listings sort by an indexed column.

A child normally exists before its index (the registry refuses an index whose children are
missing), but the registry API may delete a child later and push it again: each change
refreshes the indexes listing that digest, and theirs in turn.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Connection, and_, cast, func, select, update

from harbor_twisted.db.models import blob, manifest, manifest_blob, manifest_child

_child = manifest.alias("child")

_BLOB_BYTES = (
    select(func.coalesce(func.sum(blob.c.size), 0))
    .select_from(manifest_blob.join(blob, blob.c.id == manifest_blob.c.blob_id))
    .where(manifest_blob.c.manifest_id == manifest.c.id)
    .scalar_subquery()
)
_CHILD_BYTES = (
    select(func.coalesce(func.sum(_child.c.total_size), 0))
    .select_from(manifest_child.join(
        _child, and_(_child.c.repository_id == manifest_child.c.repository_id,
                     _child.c.digest == manifest_child.c.child_digest)))
    .where(manifest_child.c.parent_id == manifest.c.id)
    .scalar_subquery()
)
TOTAL = cast(manifest.c.size, BigInteger) + _BLOB_BYTES + _CHILD_BYTES

# an index listing itself through its descendants cannot be stored (digests), but a bound
# keeps a corrupt database from looping
_MAX_DEPTH = 16


def refresh(conn: Connection, repository_id: int, manifest_id: int | None,
            digest: str) -> None:
    """Recompute the total of ``manifest_id`` (None: it was deleted) and of every index of
    the repository above ``digest``."""
    ids = [manifest_id] if manifest_id is not None else []
    digests = [digest]
    for _ in range(_MAX_DEPTH):
        if ids:
            conn.execute(update(manifest).where(manifest.c.id.in_(ids))
                         .values(total_size=TOTAL))
        parents = conn.execute(
            select(manifest.c.id, manifest.c.digest)
            .join(manifest_child, manifest_child.c.parent_id == manifest.c.id)
            .where(manifest_child.c.repository_id == repository_id,
                   manifest_child.c.child_digest.in_(digests))
        ).all()
        if not parents:
            return
        ids = sorted({row.id for row in parents})
        digests = sorted({row.digest for row in parents})
