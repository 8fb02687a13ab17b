"""``/projects/{project}/webhook/…``: webhook policies, their executions, tasks and task
logs, the supported event types and the last triggers — Harbor's ``WebhookPolicy``,
``Execution``, ``Task``, ``SupportedWebhookEventTypes`` and ``WebhookLastTrigger``.

A target's ``auth_header`` is write-only: answers leave it out, and a PUT that leaves it
out keeps the header the target at that position had."""

from __future__ import annotations

import json
from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import page_of, paged, parse_q
from harbor_twisted.api.registries import time_text
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.db import job_store
from harbor_twisted.db.webhook_store import VENDOR, Policy, Task
from harbor_twisted.web.errors import bad_request
from harbor_twisted.webhooks.control import ExecutionView, WebhookControl
from harbor_twisted.webhooks.policies import EVENT_TYPES, PAYLOAD_FORMATS

BASE = "/projects/{project}/webhook"
POLICY = BASE + "/policies/{webhook_policy_id}"
EXECUTION = POLICY + "/executions/{execution_id}"


def policy_shape(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id, "name": policy.name, "description": policy.description,
        "project_id": policy.project_id,
        "targets": [{"type": t.type, "address": t.address,
                     "skip_cert_verify": t.skip_cert_verify,
                     "payload_format": t.payload_format} for t in policy.targets],
        "event_types": policy.event_types, "creator": policy.creator,
        "creation_time": time_text(policy.creation_time),
        "update_time": time_text(policy.update_time), "enabled": policy.enabled,
    }


def execution_shape(view: ExecutionView) -> dict[str, Any]:
    execution, counts = view.execution, view.task_counts
    return {
        "id": execution.id, "vendor_type": VENDOR,
        "vendor_id": int(execution.parameters.get("policy_id", 0)),
        "status": execution.status, "status_message": execution.status_message or "",
        "metrics": {
            "task_count": sum(counts.values()),
            "success_task_count": counts.get(job_store.SUCCESS, 0),
            "error_task_count": counts.get(job_store.ERROR, 0),
            "pending_task_count": counts.get(job_store.PENDING, 0),
            "running_task_count": counts.get(job_store.RUNNING, 0),
            "scheduled_task_count": 0,
            "stopped_task_count": counts.get(job_store.STOPPED, 0),
        },
        "trigger": execution.trigger,
        "extra_attrs": {"event_type": view.event_type,
                        "payload": json.dumps(execution.parameters.get("payload"))},
        "start_time": time_text(execution.start_time or execution.created_at),
        "end_time": time_text(execution.end_time),
    }


def task_shape(task: Task) -> dict[str, Any]:
    return {
        "id": task.id, "execution_id": task.execution_id, "status": task.status,
        "status_message": task.status_message or "", "run_count": task.run_count,
        "extra_attrs": {}, "creation_time": time_text(task.creation_time),
        "update_time": time_text(task.update_time), "start_time": time_text(task.start_time),
        "end_time": time_text(task.end_time),
    }


def _name_filter(call: Call) -> tuple[str | None, bool]:
    """Harbor's ``q`` on policies: ``name=x`` or ``name=~x``."""
    name, exact = None, False
    for clause in parse_q(call.arg("q") or ""):
        if clause.key != "name" or clause.kind not in ("exact", "fuzzy"):
            raise bad_request("q: policies are filtered by name=… or name=~… only")
        name, exact = clause.values[0], clause.kind == "exact"
    return name, exact


class WebhooksApi:
    def __init__(self, services: Services) -> None:
        self.control = WebhookControl(services.identity.db, services.config)

    def register(self, router: Router) -> None:
        router.add(BASE + "/policies", GET=self.list, POST=self.create)
        router.add(POLICY, GET=self.get, PUT=self.update, DELETE=self.delete)
        router.add(POLICY + "/executions", GET=self.executions)
        router.add(EXECUTION + "/tasks", GET=self.tasks)
        router.add(EXECUTION + "/tasks/{task_id}/log", GET=self.task_log)
        router.add(BASE + "/events", GET=self.events)
        router.add(BASE + "/lasttrigger", GET=self.last_trigger)

    async def list(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        name, exact = _name_filter(call)
        found, total = await self.control.list_policies(
            call.principal, call.project_ref(), name, exact, (page - 1) * page_size, page_size)
        return paged(call, [policy_shape(p) for p in found], total, page, page_size)

    async def create(self, call: Call) -> Reply:
        policy_id = await self.control.create_policy(call.actor, call.project_ref(),
                                                     call.json())
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{policy_id}"})

    async def get(self, call: Call) -> Reply:
        return Reply(body=policy_shape(await self.control.get_policy(
            call.principal, call.project_ref(), call.int_param("webhook_policy_id"))))

    async def update(self, call: Call) -> Reply:
        await self.control.update_policy(call.actor, call.project_ref(),
                                         call.int_param("webhook_policy_id"), call.json())
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.control.delete_policy(call.actor, call.project_ref(),
                                         call.int_param("webhook_policy_id"))
        return Reply()

    async def executions(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        views, total = await self.control.executions(
            call.principal, call.project_ref(), call.int_param("webhook_policy_id"),
            (page - 1) * page_size, page_size)
        return paged(call, [execution_shape(v) for v in views], total, page, page_size)

    async def tasks(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        found, total = await self.control.tasks(
            call.principal, call.project_ref(), call.int_param("webhook_policy_id"),
            call.int_param("execution_id"), (page - 1) * page_size, page_size)
        return paged(call, [task_shape(t) for t in found], total, page, page_size)

    async def task_log(self, call: Call) -> Reply:
        return Reply(text=await self.control.task_log(
            call.principal, call.project_ref(), call.int_param("webhook_policy_id"),
            call.int_param("execution_id"), call.int_param("task_id")))

    async def events(self, call: Call) -> Reply:
        await self.control.check_read(call.principal, call.project_ref())
        return Reply(body={
            "event_type": list(EVENT_TYPES), "notify_type": list(PAYLOAD_FORMATS),
            "payload_formats": [{"notify_type": kind, "formats": list(formats)}
                                for kind, formats in PAYLOAD_FORMATS.items()],
        })

    async def last_trigger(self, call: Call) -> Reply:
        found = await self.control.last_triggers(call.principal, call.project_ref())
        items = []
        for policy, event_type, last in found:
            item: dict[str, Any] = {"policy_name": policy.name, "event_type": event_type,
                                    "enabled": policy.enabled,
                                    "creation_time": time_text(policy.creation_time)}
            if last is not None:
                item["last_trigger_time"] = time_text(last)
            items.append(item)
        return Reply(body=items)
