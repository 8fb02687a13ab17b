"""``replication``: run one execution of a policy (manual, scheduled or one event).

Each artifact is a task row with its own log. An artifact that fails (after the copier's
per-blob retries) fails the attempt once the others are done, so the job service retries
the execution with backoff; the next attempt skips what already arrived (same digest at
the destination, blobs found by HEAD) — a destination that went away mid-copy is resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harbor_twisted.db import registry_store, replication_store
from harbor_twisted.jobs.context import JobContext, JobStopped
from harbor_twisted.replication import credentials, events
from harbor_twisted.replication.client import RegistryClient
from harbor_twisted.replication.copier import Copier
from harbor_twisted.replication.filters import (
    Filter,
    destination_repository,
    repository_passes,
    tag_passes,
)
from harbor_twisted.replication.local import local_client
from harbor_twisted.replication.projects import (
    ensure_local_project,
    ensure_remote_project,
    project_of,
)


@dataclass(frozen=True)
class Item:
    operation: str  # copy or deletion
    repository: str
    reference: str


def endpoint_client(ctx: JobContext, registry_id: int | None) -> RegistryClient:
    if registry_id is None:
        return local_client(ctx.config)
    registry = ctx.db.run_sync(replication_store.get_registry, registry_id)
    if registry is None:
        raise RuntimeError(f"registry endpoint {registry_id} no longer exists")
    secret = credentials.load_secret(ctx.config, registry.id) if registry.has_secret else ""
    return RegistryClient(registry.url, registry.access_key or "", secret, registry.insecure,
                          trusted_ca_file=ctx.config.trusted_ca_file)


def _local_items(ctx: JobContext, filters: list[Filter]) -> list[Item]:
    def run(conn: Any) -> list[Item]:
        items = []
        for name in registry_store.list_repositories(conn, None, None):
            if repository_passes(filters, name):
                items += [Item("copy", name, t)
                          for t in registry_store.list_tags(conn, name, None, None) or []
                          if tag_passes(filters, t)]
        return items

    return ctx.db.run_sync(run)


def _remote_items(src: RegistryClient, filters: list[Filter]) -> list[Item]:
    items = []
    for name in src.catalog():
        if repository_passes(filters, name):
            items += [Item("copy", name, t) for t in src.tags(name) if tag_passes(filters, t)]
    return items


def _items(ctx: JobContext, params: dict[str, Any], policy: replication_store.Policy,
           src: RegistryClient, filters: list[Filter]) -> list[Item]:
    event = params.get("event")
    if event:
        if event["type"] in events.COPIES:
            return [Item("copy", event["repository"], event["reference"])]
        if event["type"] in events.DELETIONS:
            return [Item("deletion", event["repository"], event["reference"])]
        raise ValueError(f"replication does not handle {event['type']} events")
    if policy.src_registry_id is None:
        return _local_items(ctx, filters)
    return _remote_items(src, filters)


def run_replication(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    policy = ctx.db.run_sync(replication_store.get_policy, int(params["policy_id"]))
    if policy is None:
        raise RuntimeError(f"replication policy {params['policy_id']} no longer exists")
    filters = [Filter(f.get("type", ""), str(f.get("value", "")), f.get("decoration") or
                      "matches") for f in policy.filters]
    src = endpoint_client(ctx, policy.src_registry_id)
    dst = endpoint_client(ctx, policy.dest_registry_id)
    ctx.log(f"replication policy {policy.id} ({policy.name}): {src.base_url} -> "
            f"{dst.base_url}, attempt {ctx.attempt}")
    try:
        items = _items(ctx, params, policy, src, filters)
        ctx.log(f"{len(items)} artifacts to replicate")
        copier = Copier(src, dst, policy.speed, ctx.log, ctx.check_stop)
        failed = _run_items(ctx, policy, copier, items, _project_maker(ctx, policy, dst))
    finally:
        src.close()
        dst.close()
    if failed:
        raise RuntimeError(f"{failed} of {len(items)} artifacts failed")
    ctx.log(f"done: {len(items)} artifacts, {copier.bytes_copied} bytes copied")
    return {"total": len(items), "bytes_copied": copier.bytes_copied}


def _project_maker(ctx: JobContext, policy: replication_store.Policy,
                   dst: RegistryClient) -> Callable[[str], None]:
    """Creates missing destination projects, as Harbor does (once per project per run)."""
    done: set[str] = set()
    remote_kind = None
    if policy.dest_registry_id is not None:
        registry = ctx.db.run_sync(replication_store.get_registry, policy.dest_registry_id)
        remote_kind = registry.type if registry is not None else None

    def ensure(repository: str) -> None:
        project = project_of(repository)
        if project is None or project in done:
            return
        if policy.dest_registry_id is None:
            created = ctx.db.run_sync(ensure_local_project, project)
        elif remote_kind == "harbor":
            created = ensure_remote_project(dst, project)
        else:
            created = False
        if created:
            ctx.log(f"created the destination project {project}")
        done.add(project)

    return ensure


def _run_items(ctx: JobContext, policy: replication_store.Policy, copier: Copier,
               items: list[Item], ensure_project: Callable[[str], None]) -> int:
    failed = 0
    for item in items:
        ctx.check_stop()
        dst_repo = destination_repository(item.repository, policy.dest_namespace,
                                          policy.dest_namespace_replace_count)
        separator = "@" if ":" in item.reference else ":"
        task_id = ctx.db.run_sync(
            replication_store.start_task, ctx.execution_id, "image", item.operation,
            f"{item.repository}{separator}{item.reference}",
            f"{dst_repo}{separator}{item.reference}")
        lines: list[str] = []
        copier.log = _collecting(ctx, lines)
        try:
            if item.operation == "copy":
                ensure_project(dst_repo)
                copier.copy(item.repository, item.reference, dst_repo, policy.override)
            else:
                copier.delete(dst_repo, item.reference)
            status = "Success"
        except JobStopped:
            ctx.db.run_sync(replication_store.finish_task, task_id, "Stopped",
                            _text([*lines, "stopped"]))
            raise
        except Exception as error:  # one artifact's failure must not stop the others
            failed += 1
            copier.log(f"failed: {type(error).__name__}: {error}")
            status = "Error"
        ctx.db.run_sync(replication_store.finish_task, task_id, status, _text(lines))
    return failed


def _collecting(ctx: JobContext, lines: list[str]) -> Callable[[str], None]:
    """A log that keeps the task's own lines too."""

    def log(line: str) -> None:
        lines.append(line)
        ctx.log(line)

    return log


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)
