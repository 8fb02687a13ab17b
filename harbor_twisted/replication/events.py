"""Outbox events to replication: one execution per matching event-based policy for each
push or tag created through the API, and for each artifact or tag delete when the policy
replicates deletions. Called by the job service's event dispatcher (``jobs/events.py``)
inside its transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection

from harbor_twisted.db import event_store, job_store, replication_store
from harbor_twisted.replication.filters import Filter, repository_passes, tag_passes

DELETIONS = (event_store.DELETE_ARTIFACT, event_store.DELETE_TAG)
COPIES = (event_store.PUSH_ARTIFACT, event_store.CREATE_TAG)


def _wants(policy: replication_store.Policy, event: event_store.Event) -> bool:
    if event.event_type not in COPIES and not policy.replicate_deletion:
        return False
    filters = [Filter(f.get("type", ""), str(f.get("value", "")), f.get("decoration") or
                      "matches") for f in policy.filters]
    if not repository_passes(filters, event.repository):
        return False
    return event.tag is None or tag_passes(filters, event.tag)


def enqueue(conn: Connection, events: list[event_store.Event], max_retries: int) -> list[int]:
    """Turn a batch of events into executions; the ids of the executions created."""
    wanted = [e for e in events if e.event_type in COPIES or e.event_type in DELETIONS]
    if not wanted:
        return []
    policies = replication_store.event_policies(conn)
    created = []
    for event in wanted:
        reference = event.tag or event.digest
        if reference is None:
            continue
        for policy in policies:
            if not _wants(policy, event):
                continue
            created.append(job_store.create_execution(
                conn, replication_store.REPLICATION_VENDOR, "replication",
                {"policy_id": policy.id, "event": {
                    "type": event.event_type, "repository": event.repository,
                    "reference": reference}},
                max_retries, trigger="EVENT_BASED", vendor_id=policy.id))
    return created
