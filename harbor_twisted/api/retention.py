"""``/retentions``: tag retention policies, their runs and logs (Harbor's
``RetentionPolicy``, ``RetentionExecution``, ``RetentionExecutionTask``)."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import iso
from harbor_twisted.core import retention
from harbor_twisted.core.retention_control import RetentionControl
from harbor_twisted.db.job_store import Execution
from harbor_twisted.db.retention_store import PolicyRecord, TaskRecord
from harbor_twisted.web.errors import bad_request

# The job service's states in Harbor's words.
STATUS = {"Pending": "Pending", "Running": "Running", "Success": "Succeed",
          "Error": "Failed", "Stopped": "Stopped"}


def policy_shape(policy: PolicyRecord) -> dict[str, Any]:
    return {"id": policy.id, "algorithm": policy.algorithm, "rules": policy.rules,
            "trigger": policy.trigger, "scope": {"level": "project", "ref": policy.project_id}}


def execution_shape(policy_id: int, execution: Execution) -> dict[str, Any]:
    return {
        "id": execution.id, "policy_id": policy_id,
        "start_time": iso(execution.start_time or execution.created_at),
        "end_time": iso(execution.end_time),
        "status": STATUS.get(execution.status, execution.status),
        "trigger": "SCHEDULE" if execution.trigger == "SCHEDULE" else "MANUAL",
        "dry_run": bool(execution.parameters.get("dry_run")),
    }


def task_shape(task: TaskRecord) -> dict[str, Any]:
    result = task.result or {}
    status = STATUS.get(task.status, task.status)
    return {
        "id": task.id, "execution_id": task.execution_id, "repository": "",
        "job_id": str(task.id), "status": status, "status_code": 0, "status_revision": 0,
        "start_time": iso(task.start_time), "end_time": iso(task.end_time),
        "total": int(result.get("total", 0)), "retained": int(result.get("retained", 0)),
    }


class RetentionApi:
    def __init__(self, services: Services) -> None:
        self.control = RetentionControl(services.identity.db, services.config)

    def register(self, router: Router) -> None:
        router.add("/retentions", POST=self.create)
        router.add("/retentions/metadatas", GET=self.metadatas)
        router.add("/retentions/{id}", GET=self.get, PUT=self.update, DELETE=self.delete)
        router.add("/retentions/{id}/executions", GET=self.executions, POST=self.trigger)
        router.add("/retentions/{id}/executions/{eid}", PATCH=self.stop)
        router.add("/retentions/{id}/executions/{eid}/tasks", GET=self.tasks)
        router.add("/retentions/{id}/executions/{eid}/tasks/{tid}", GET=self.log)

    async def metadatas(self, call: Call) -> Reply:
        return Reply(body=retention.metadata())

    async def create(self, call: Call) -> Reply:
        policy_id = await self.control.create(call.actor, call.json())
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{policy_id}"})

    async def get(self, call: Call) -> Reply:
        return Reply(body=policy_shape(await self.control.get(call.principal,
                                                              call.int_param("id"))))

    async def update(self, call: Call) -> Reply:
        await self.control.update(call.actor, call.int_param("id"), call.json())
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.control.delete(call.actor, call.int_param("id"))
        return Reply()

    async def trigger(self, call: Call) -> Reply:
        dry_run = call.body(required=False).boolean("dry_run") or False
        execution_id = await self.control.trigger(call.actor, call.int_param("id"), dry_run)
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{execution_id}"})

    async def executions(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        policy_id = call.int_param("id")
        found, total = await self.control.executions(call.principal, policy_id,
                                                     (page - 1) * page_size, page_size)
        return paged(call, [execution_shape(policy_id, e) for e in found], total, page,
                     page_size)

    async def stop(self, call: Call) -> Reply:
        action = call.body().string("action", required=True)
        if action != "stop":
            raise bad_request("action must be stop")
        await self.control.stop(call.actor, call.int_param("id"), call.int_param("eid"))
        return Reply()

    async def tasks(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        _, tasks = await self.control.tasks(call.principal, call.int_param("id"),
                                            call.int_param("eid"))
        shown = tasks[(page - 1) * page_size:page * page_size]
        return paged(call, [task_shape(t) for t in shown], len(tasks), page, page_size)

    async def log(self, call: Call) -> Reply:
        return Reply(text=await self.control.task_log(
            call.principal, call.int_param("id"), call.int_param("eid"), call.int_param("tid")))
