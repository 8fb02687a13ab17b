"""Outbox events to webhook deliveries: for each event, every enabled policy of its project
that selects its type gets one execution per target (a job service execution with one
``webhook`` task, retried with the queue's backoff). Runs inside the consumer's
transaction, so an event becomes deliveries exactly once.
"""

from __future__ import annotations

from sqlalchemy import Connection

from harbor_twisted.config import Config
from harbor_twisted.db import job_store, webhook_store
from harbor_twisted.db.event_store import Event
from harbor_twisted.webhooks import payloads
from harbor_twisted.webhooks.policies import EVENT_TYPES

TRIGGER = "EVENT"


def enqueue(conn: Connection, config: Config, events: list[Event]) -> list[int]:
    """Create the deliveries of a batch of events; the ids of the executions created."""
    wanted = [event for event in events if event.event_type in EVENT_TYPES]
    if not wanted:
        return []
    projects = webhook_store.enabled_policies(conn, {payloads.project_of(e) for e in wanted})
    if not projects:
        return []
    created_at = webhook_store.repositories_created(
        conn, {e.repository for e in wanted if "/" in e.repository})
    host = payloads.hostname(config)
    created = []
    for event in wanted:
        project = projects.get(payloads.project_of(event))
        if project is None:
            continue
        payload = None
        for policy in project.policies:
            if event.event_type not in policy.event_types:
                continue
            payload = payload or payloads.build(event, project.public,
                                                created_at.get(event.repository), host)
            for index in range(len(policy.targets)):
                execution_id = job_store.create_execution(
                    conn, webhook_store.VENDOR, webhook_store.JOB_NAME,
                    {"policy_id": policy.id, "project_id": project.project_id,
                     "target": index, "event_type": event.event_type, "payload": payload},
                    config.job_retry_limit, trigger=TRIGGER, vendor_id=policy.id)
                webhook_store.link_execution(conn, execution_id, policy.id, event.event_type)
                created.append(execution_id)
    return created
