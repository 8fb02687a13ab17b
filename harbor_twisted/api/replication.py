"""``/replication``: policies, executions (PUT stops one), tasks and task logs — Harbor's
``ReplicationPolicy``, ``ReplicationExecution`` and ``ReplicationTask`` shapes."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Fields, Reply
from harbor_twisted.api.listing import page_of, paged
from harbor_twisted.api.registries import registry_shape, time_text
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.rbac import require_sysadmin
from harbor_twisted.db.replication_store import Policy, Registry, Task
from harbor_twisted.replication.control import (
    ExecutionView,
    PolicyInput,
    ReplicationControl,
    check_filters,
    check_namespace,
    check_trigger,
)
from harbor_twisted.web.errors import bad_request


def _registry_ref(body: Fields, key: str) -> int | None:
    ref = body.object(key)
    if ref is None:
        return None
    registry_id = ref.integer("id")
    return registry_id or None  # id 0 is this registry, as in Harbor


def policy_input(body: Fields) -> PolicyInput:
    name = body.string("name", required=True) or ""
    if not name.strip() or len(name) > 255:
        raise bad_request("name must be 1 to 255 characters")
    trigger = body.object("trigger")
    kind, cron = "manual", ""
    if trigger is not None:
        kind = trigger.string("type") or "manual"
        settings = trigger.object("trigger_settings")
        cron = (settings.string("cron") if settings else None) or ""
    kind, cron = check_trigger(kind, cron)
    replace_count = body.integer("dest_namespace_replace_count")
    speed = body.integer("speed")
    if replace_count is not None and not -1 <= replace_count <= 100:
        raise bad_request("dest_namespace_replace_count must be from -1 to 100")
    if speed is not None and not -1 <= speed <= 2**31 - 1:
        raise bad_request("speed must be -1 (unlimited) or a number of KB/s")
    enabled = body.boolean("enabled")
    override = body.boolean("override")
    return PolicyInput({
        "name": name,
        "description": body.string("description") or "",
        "src_registry_id": _registry_ref(body, "src_registry"),
        "dest_registry_id": _registry_ref(body, "dest_registry"),
        "dest_namespace": check_namespace(body.string("dest_namespace") or ""),
        "dest_namespace_replace_count": -1 if replace_count is None else replace_count,
        "trigger_type": kind,
        "cron": cron,
        "filters": check_filters(body.data.get("filters")),
        "replicate_deletion": bool(body.boolean("replicate_deletion")),
        "override": True if override is None else override,
        "enabled": True if enabled is None else enabled,
        "speed": speed if speed else -1,
    })


def policy_shape(policy: Policy, registries: dict[int, Registry]) -> dict[str, Any]:
    def ref(registry_id: int | None) -> dict[str, Any] | None:
        if registry_id is None or registry_id not in registries:
            return None
        return registry_shape(registries[registry_id])

    trigger: dict[str, Any] = {"type": policy.trigger_type}
    if policy.trigger_type == "scheduled":
        trigger["trigger_settings"] = {"cron": policy.cron}
    return {
        "id": policy.id, "name": policy.name, "description": policy.description,
        "src_registry": ref(policy.src_registry_id),
        "dest_registry": ref(policy.dest_registry_id),
        "dest_namespace": policy.dest_namespace,
        "dest_namespace_replace_count": policy.dest_namespace_replace_count,
        "trigger": trigger, "filters": policy.filters,
        "replicate_deletion": policy.replicate_deletion, "deletion": policy.replicate_deletion,
        "override": policy.override, "enabled": policy.enabled, "speed": policy.speed,
        "creation_time": time_text(policy.created_at),
        "update_time": time_text(policy.updated_at),
    }


def execution_shape(view: ExecutionView) -> dict[str, Any]:
    execution, counts = view.execution, view.counts
    return {
        "id": execution.id, "policy_id": view.policy_id, "status": execution.status,
        "status_text": execution.status_message or "", "trigger": execution.trigger.lower(),
        "start_time": time_text(execution.start_time or execution.created_at),
        "end_time": time_text(execution.end_time),
        "total": counts.total, "failed": counts.failed, "succeed": counts.succeed,
        "in_progress": counts.in_progress, "stopped": counts.stopped,
    }


def task_shape(task: Task) -> dict[str, Any]:
    return {
        "id": task.id, "execution_id": task.execution_id, "resource_type": task.resource_type,
        "operation": task.operation, "job_id": str(task.id), "status": task.status,
        "src_resource": task.src_resource, "dst_resource": task.dst_resource,
        "start_time": time_text(task.start_time), "end_time": time_text(task.end_time),
    }


class ReplicationApi:
    def __init__(self, services: Services) -> None:
        self.control = ReplicationControl(services.identity.db, services.config)

    def register(self, router: Router) -> None:
        router.add("/replication/policies", GET=self.list_policies, POST=self.create_policy)
        router.add("/replication/policies/{policy_id}", GET=self.get_policy,
                   PUT=self.update_policy, DELETE=self.delete_policy)
        router.add("/replication/executions", GET=self.list_executions, POST=self.start)
        router.add("/replication/executions/{execution_id}", GET=self.get_execution,
                   PUT=self.stop)
        router.add("/replication/executions/{execution_id}/tasks", GET=self.tasks)
        router.add("/replication/executions/{execution_id}/tasks/{task_id}/log",
                   GET=self.task_log)

    async def list_policies(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        policies, total, registries = await self.control.list_policies(
            call.principal, call.arg("name"), page, page_size)
        return paged(call, [policy_shape(p, registries) for p in policies], total, page,
                     page_size)

    async def create_policy(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage replication")
        policy_id = await self.control.create_policy(call.actor, policy_input(call.body()))
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{policy_id}"})

    async def get_policy(self, call: Call) -> Reply:
        policy, registries = await self.control.get_policy(call.principal,
                                                           call.int_param("policy_id"))
        return Reply(body=policy_shape(policy, registries))

    async def update_policy(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage replication")
        await self.control.update_policy(call.actor, call.int_param("policy_id"),
                                         policy_input(call.body()))
        return Reply()

    async def delete_policy(self, call: Call) -> Reply:
        await self.control.delete_policy(call.actor, call.int_param("policy_id"))
        return Reply()

    async def start(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage replication")
        policy_id = call.body().integer("policy_id", required=True)
        assert policy_id is not None
        if policy_id < 1:
            raise bad_request("policy_id must be a positive integer")
        execution_id = await self.control.start(call.actor, policy_id)
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{execution_id}"})

    async def list_executions(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        policy_id = call.int_arg("policy_id", 0, 0, 2**62) or None
        views, total = await self.control.executions(call.principal, policy_id, page,
                                                     page_size)
        return paged(call, [execution_shape(v) for v in views], total, page, page_size)

    async def get_execution(self, call: Call) -> Reply:
        return Reply(body=execution_shape(await self.control.execution(
            call.principal, call.int_param("execution_id"))))

    async def stop(self, call: Call) -> Reply:
        await self.control.stop(call.actor, call.int_param("execution_id"))
        return Reply()

    async def tasks(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        tasks, total = await self.control.tasks(call.principal, call.int_param("execution_id"),
                                                page, page_size)
        return paged(call, [task_shape(t) for t in tasks], total, page, page_size)

    async def task_log(self, call: Call) -> Reply:
        return Reply(text=await self.control.task_log(
            call.principal, call.int_param("execution_id"), call.int_param("task_id")))
