"""``gc``: garbage collection, safe while pushes run.

1. Mark: manifests reachable from tags (through index children and referrers) are kept —
   every manifest unless ``delete_untagged``; blobs no kept manifest references are
   candidates. Anything younger than ``gc_grace_minutes`` (blob rows, new links of a blob
   into a repository, manifests) is kept whatever it references.
2. Sweep manifests, then blob rows, in batches whose statements re-check every condition.
3. Delete a blob's file only after its row deletion committed, under the digest's lock and
   only if no row names the digest again (an upload finishing meanwhile holds the same lock
   until its row is committed). Then files with no row at all (a crash between an upload's
   rename and its row), older than the grace window.

A dry run marks and reports what would go, and the bytes, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from harbor_twisted.common import metrics
from harbor_twisted.common.clock import utcnow
from harbor_twisted.db import gc_store, quota_store
from harbor_twisted.jobs.context import JobContext
from harbor_twisted.storage.base import LockTimeout
from harbor_twisted.storage.digests import Digest, InvalidDigest, parse_digest

BATCH = 500
MAX_WORKERS = 5
GC_VENDOR = "GARBAGE_COLLECTION"
GC_JOB = "gc"
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def gc_parameters(params: dict[str, Any]) -> tuple[bool, bool, int]:
    workers = int(params.get("workers") or 1)
    return (bool(params.get("delete_untagged")), bool(params.get("dry_run")),
            max(1, min(workers, MAX_WORKERS)))


def _remove_file(ctx: JobContext, digest: Digest) -> int:
    """Bytes freed: the file goes only if, under its lock, no row names it any more. A lock
    held past the driver's wait (a commit on another host) keeps the file for a later run."""
    try:
        lock = ctx.blobs.lock_digest(digest)
    except LockTimeout:
        ctx.log(f"kept {digest}: its lock stayed taken (a push is committing it)")
        return 0
    with lock:
        if ctx.db.run_sync(gc_store.blob_row_exists, str(digest)):
            return 0
        size = ctx.blobs.blob_size(digest)
        if size is None:
            return 0
        return size if ctx.blobs.delete_blob(digest) else 0


def _sweep_manifests(ctx: JobContext, marked: gc_store.Marked, cutoff: Any) -> int:
    remaining = {ref.id: ref for ref in marked.manifests}
    deleted = 0
    while remaining:  # parents first: an index's children become deletable the next round
        progress = 0
        for batch in _chunks(sorted(remaining), BATCH):
            ctx.check_stop()
            for manifest_id, digest in ctx.db.run_sync(gc_store.delete_manifests, batch, cutoff):
                ref = remaining.pop(manifest_id)
                ctx.log(f"deleted untagged manifest {ref.repository}@{digest}")
                progress += 1
        deleted += progress
        if not progress:
            break
    if remaining:
        ctx.log(f"kept {len(remaining)} manifests referenced again since the mark")
    return deleted


def _sweep_blobs(
    ctx: JobContext, marked: gc_store.Marked, cutoff: Any, workers: int
) -> tuple[int, int]:
    rows_deleted = freed = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gc") as pool:
        for batch in _chunks(marked.blobs, BATCH):
            ctx.check_stop()
            gone = ctx.db.run_sync(gc_store.delete_blobs, [ref.id for ref in batch], cutoff)
            rows_deleted += len(gone)
            digests = [parse_digest(digest) for digest, _size in gone]
            for digest, size in zip(digests, pool.map(lambda d: _remove_file(ctx, d), digests),
                                    strict=True):
                freed += size
                ctx.log(f"deleted blob {digest} ({size} bytes)")
    skipped = len(marked.blobs) - rows_deleted
    if skipped:
        ctx.log(f"kept {skipped} blobs referenced or linked again since the mark")
    return rows_deleted, freed


def _sweep_orphan_files(ctx: JobContext, cutoff_timestamp: float) -> tuple[int, int]:
    known = ctx.db.run_sync(gc_store.known_digests)
    count = freed = 0
    for digest, mtime in list(ctx.blobs.list_blobs()):
        if mtime >= cutoff_timestamp or str(digest) in known:
            continue
        try:
            parse_digest(str(digest))
        except InvalidDigest:
            continue  # not one of ours
        ctx.check_stop()
        size = _remove_file(ctx, digest)
        if size:
            count += 1
            freed += size
            ctx.log(f"deleted orphan blob file {digest} ({size} bytes)")
    return count, freed


def run_gc(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    delete_untagged, dry_run, workers = gc_parameters(params)
    grace = ctx.config.gc_grace_minutes
    cutoff = utcnow() - timedelta(minutes=grace)
    ctx.log(f"garbage collection: delete_untagged={delete_untagged} dry_run={dry_run} "
            f"workers={workers} grace window {grace} minutes")
    marked = ctx.db.run_sync(gc_store.mark, cutoff, delete_untagged)
    candidate_bytes = sum(ref.size for ref in marked.blobs)
    ctx.log(f"mark: {marked.kept_manifests} manifests kept, {len(marked.manifests)} untagged "
            f"manifests and {len(marked.blobs)} blobs ({candidate_bytes} bytes) unreferenced")
    if dry_run:
        for manifest_ref in marked.manifests:
            ctx.log(f"would delete untagged manifest {manifest_ref.repository}@"
                    f"{manifest_ref.digest}")
        for blob_ref in marked.blobs:
            ctx.log(f"would delete blob {blob_ref.digest} ({blob_ref.size} bytes)")
        ctx.log(f"dry run: {len(marked.blobs)} blobs, {candidate_bytes} bytes would be freed")
        return {"dry_run": True, "manifests_deleted": len(marked.manifests),
                "blobs_deleted": len(marked.blobs), "freed_bytes": candidate_bytes}
    manifests_deleted = _sweep_manifests(ctx, marked, cutoff)
    if manifests_deleted:  # untagged manifests no longer count against their quotas
        ctx.db.run_sync(quota_store.release_repositories,
                        sorted({ref.repository for ref in marked.manifests}))
    blobs_deleted, freed = _sweep_blobs(ctx, marked, cutoff, workers)
    orphans, orphan_bytes = _sweep_orphan_files(ctx, cutoff.timestamp())
    freed += orphan_bytes
    ctx.log(f"done: {manifests_deleted} manifests, {blobs_deleted} blobs and {orphans} orphan "
            f"files deleted, {freed} bytes freed")
    _count_sweep(manifests_deleted, blobs_deleted, orphans, freed)
    return {"dry_run": False, "manifests_deleted": manifests_deleted,
            "blobs_deleted": blobs_deleted, "orphan_files_deleted": orphans,
            "freed_bytes": freed}


def _count_sweep(manifests: int, blobs: int, orphan_files: int, freed: int) -> None:
    """The run's figures in the job service's metrics (its outcome is counted by type)."""
    metrics.GC_FREED_BYTES.inc(freed)
    for what, count in (("manifest", manifests), ("blob", blobs), ("orphan_file", orphan_files)):
        metrics.GC_DELETED.labels(what).inc(count)
