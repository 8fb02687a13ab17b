"""The end of a replication execution, announced in the event outbox (REPLICATION).

Runs in the transaction that records the execution's final status (``kinds.ON_FINAL``).
An event belongs to a project of this installation, as Harbor's do: the project of the
source repositories when the policy pushes from here, of the destination repositories when
it pulls into here. An execution that touched several projects announces itself once per
project, each event listing only that project's artifacts; one that failed before any
artifact (an unreachable endpoint) is announced to the project its event named, if any.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from harbor_twisted.common.local_urls import local_url
from harbor_twisted.db import event_store, job_store, replication_store
from harbor_twisted.db.replication_store import Policy, Task
from harbor_twisted.jobs.context import JobOutcome
from harbor_twisted.replication.projects import project_of

JOB_STATUS = {job_store.SUCCESS: "Success", job_store.ERROR: "Failed",
              job_store.STOPPED: "Stopped"}
MAX_ARTIFACTS = 1000


def _endpoint(conn: Connection, registry_id: int | None, local: str,
              namespace: str) -> dict[str, Any]:
    if registry_id is None:
        shape = {"registry_name": "Local", "registry_type": "harbor", "endpoint": local}
    else:
        registry = replication_store.get_registry(conn, registry_id)
        shape = {"registry_name": registry.name if registry else "",
                 "registry_type": registry.type if registry else "",
                 "endpoint": registry.url if registry else ""}
    return {**shape, "namespace": namespace}


def _artifact(task: Task) -> dict[str, Any]:
    return {"type": task.resource_type, "status": task.status, "name_tag": task.src_resource}


def _by_project(
    policy: Policy, tasks: list[Task], params: dict[str, Any]
) -> dict[str, list[Task]]:
    local_is_source = policy.src_registry_id is None
    found: dict[str, list[Task]] = {}
    for task in tasks:
        project = project_of(task.src_resource if local_is_source else task.dst_resource)
        if project is not None:
            found.setdefault(project, []).append(task)
    event = params.get("event") or {}
    fallback = project_of(str(event.get("repository", "")))
    if not found and fallback is not None and local_is_source:
        found[fallback] = []
    return found


def announce(conn: Connection, outcome: JobOutcome) -> None:
    policy = replication_store.get_policy(conn, int(outcome.parameters["policy_id"]))
    execution = job_store.get_execution(conn, replication_store.REPLICATION_VENDOR,
                                        outcome.execution_id)
    if policy is None or execution is None:
        return
    tasks, _ = replication_store.list_tasks(conn, outcome.execution_id, 0, MAX_ARTIFACTS)
    local = local_url(outcome.config)
    started = execution.start_time or execution.created_at
    for project, project_tasks in _by_project(policy, tasks, outcome.parameters).items():
        replication = {
            "harbor_hostname": urlsplit(local).netloc,
            "job_status": JOB_STATUS.get(outcome.status, outcome.status),
            "description": policy.description,
            "artifact_type": "image",
            "authentication_type": "basic",
            "override_mode": policy.override,
            "trigger_type": execution.trigger.lower(),
            "execution_timestamp": int(started.timestamp()),
            "src_resource": _endpoint(conn, policy.src_registry_id, local,
                                      project if policy.src_registry_id is None else ""),
            "dest_resource": _endpoint(conn, policy.dest_registry_id, local,
                                       policy.dest_namespace or (
                                           project if policy.dest_registry_id is None else "")),
            "successful_artifact": [_artifact(t) for t in project_tasks if t.status == "Success"],
            "failed_artifact": [_artifact(t) for t in project_tasks if t.status != "Success"],
        }
        event_store.record(conn, event_store.REPLICATION, project,
                           detail={"event_data": {"replication": replication}})
