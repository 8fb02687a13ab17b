"""``retention``: apply a project's tag retention policy.

Weighs the project's tagged artifacts against the rules (core/retention.py) and deletes
what no rule keeps, one artifact per transaction through the API's store functions —
audited, quota released, immutable tags and artifacts an index references kept. A dry run
reports what would go and deletes nothing. The end of a run, dry or not, is announced in
the event outbox (TAG_RETENTION, for the policy's project).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from harbor_twisted.common.clock import utcnow
from harbor_twisted.common.local_urls import local_url
from harbor_twisted.core import immutability
from harbor_twisted.core.audit import Actor
from harbor_twisted.core.rbac import Principal
from harbor_twisted.core.retention import Candidate, evaluate
from harbor_twisted.db import (
    artifact_store,
    audit_store,
    event_store,
    job_store,
    quota_store,
    retention_store,
)
from harbor_twisted.db.registry_store import find_repository
from harbor_twisted.jobs.context import JobContext, JobOutcome

ACTOR = Actor(Principal("user", "tag-retention"))


def _delete(conn: Connection, project_id: int, project_name: str, candidate: Candidate,
            policy_id: int) -> str:
    """Delete one artifact if it is still deletable; what happened, for the log."""
    repository_id = find_repository(conn, candidate.repository)
    record = None if repository_id is None else artifact_store.artifact_by_digest(
        conn, repository_id, candidate.digest)
    if record is None:
        return "gone already"
    tags = [t.name for t in artifact_store.tags_of(conn, [record.id])[record.id]]
    if immutability.immutable_tags(conn, candidate.repository, tags):
        return "kept: an immutable tag protects it"
    if artifact_store.parents_of(conn, record.repository_id, record.digest):
        return "kept: an index references it"
    removed = artifact_store.delete_artifact(conn, record, ACTOR.username)
    quota_store.release(conn, project_id, project_name)
    detail: dict[str, Any] = {"tags": tags, "retention_policy": policy_id}
    if len(removed) > 1:
        detail["also_removed"] = removed[1:]
    audit_store.write_audit(conn, [ACTOR.record(
        "delete", "artifact", f"{candidate.repository}@{candidate.digest}", project_id,
        detail)])
    return "deleted"


def run_retention(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    policy_id = int(params["policy_id"])
    dry_run = bool(params.get("dry_run"))
    ctx.db.run_sync(retention_store.claim_execution, ctx.execution_id, policy_id)
    policy = ctx.db.run_sync(retention_store.get_policy, policy_id)
    if policy is None:
        ctx.log(f"retention policy {policy_id} no longer exists")
        return {"dry_run": dry_run, "total": 0, "retained": 0, "deleted": 0}
    found = ctx.db.run_sync(retention_store.tagged_artifacts, policy.project_name)
    candidates = [Candidate(a.repository, a.artifact_id, a.digest, a.tags, a.pushed, a.pulled)
                  for a in found]
    decision = evaluate(policy.rules, candidates, utcnow())
    ctx.log(f"retention of project {policy.project_name}: {len(candidates)} tagged artifacts, "
            f"{len(decision.retained)} retained by the rules, dry_run={dry_run}")
    deleted: list[str] = []
    for candidate in decision.deleted:
        ctx.check_stop()
        name = f"{candidate.repository}@{candidate.digest} (tags {', '.join(candidate.tags)})"
        if dry_run:
            protected = ctx.db.run_sync(immutability.immutable_tags, candidate.repository,
                                        list(candidate.tags))
            if protected:
                ctx.log(f"would keep {name}: an immutable tag protects it")
                continue
            ctx.log(f"would delete {name}")
            deleted.append(f"{candidate.repository}@{candidate.digest}")
            continue
        outcome = ctx.db.run_sync(_delete, policy.project_id, policy.project_name, candidate,
                                  policy_id)
        ctx.log(f"{outcome}: {name}")
        if outcome == "deleted":
            deleted.append(f"{candidate.repository}@{candidate.digest}")
    ctx.log(f"done: {len(deleted)} artifacts {'would be ' if dry_run else ''}deleted")
    return {"dry_run": dry_run, "total": len(candidates),
            "retained": len(candidates) - len(deleted), "deleted": len(deleted),
            "deleted_artifacts": deleted[:1000]}


STATUS = {job_store.SUCCESS: "SUCCESS", job_store.ERROR: "FAILED", job_store.STOPPED: "STOPPED"}


def announce(conn: Connection, outcome: JobOutcome) -> None:
    """TAG_RETENTION for the policy's project, in the transaction recording the end."""
    policy = retention_store.get_policy(conn, int(outcome.parameters["policy_id"]))
    if policy is None:
        return
    result = outcome.result
    deleted = [{"type": "image", "status": "SUCCESS", "name_tag": name}
               for name in result.get("deleted_artifacts", [])]
    retention = {
        "total": int(result.get("total", 0)), "retained": int(result.get("retained", 0)),
        "harbor_hostname": urlsplit(local_url(outcome.config)).netloc,
        "project_name": policy.project_name, "retention_policy_id": policy.id,
        "result": STATUS.get(outcome.status, outcome.status),
        "dry_run": bool(outcome.parameters.get("dry_run")),
        "deleted_artifact": deleted,
    }
    event_store.record(conn, event_store.TAG_RETENTION, policy.project_name,
                       detail={"event_data": {"retention": retention}})
