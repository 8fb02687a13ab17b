"""Garbage collection as the API drives it: trigger now, schedule, history, log, stop.

System administrators only. Triggering and schedule changes are audited in the transaction
that makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from harbor_twisted.common.clock import utcnow
from harbor_twisted.common.cron import PRESETS, InvalidCron, check_cron, next_after
from harbor_twisted.config import Config
from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import Conflict, Invalid, NotFound
from harbor_twisted.core.rbac import Principal, require_sysadmin
from harbor_twisted.db import audit_store, job_store, schedule_store
from harbor_twisted.db.engine import Database
from harbor_twisted.gc.job import GC_JOB, GC_VENDOR, MAX_WORKERS

SCHEDULE_TYPES = ("Hourly", "Daily", "Weekly", "Custom", "Manual", "None")


def gc_parameters(raw: dict[str, Any]) -> dict[str, Any]:
    """Harbor's GC parameters, checked: ``delete_untagged``, ``dry_run``, ``workers``."""
    params: dict[str, Any] = {}
    for name in ("delete_untagged", "dry_run"):
        value = raw.get(name, False)
        if not isinstance(value, bool):
            raise Invalid(f"parameters.{name} must be true or false")
        params[name] = value
    workers = raw.get("workers", 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise Invalid(f"parameters.workers must be an integer from 1 to {MAX_WORKERS}")
    params["workers"] = workers
    return params


@dataclass(frozen=True)
class ScheduleRequest:
    type: str
    cron: str
    parameters: dict[str, Any]


def schedule_request(schedule_type: str, cron: str, parameters: dict[str, Any]) -> ScheduleRequest:
    if schedule_type not in SCHEDULE_TYPES:
        raise Invalid(f"schedule.type must be one of {', '.join(SCHEDULE_TYPES)}")
    if schedule_type in PRESETS:
        cron = PRESETS[schedule_type]
    elif schedule_type == "Custom":
        try:
            cron = check_cron(cron)
        except InvalidCron as exc:
            raise Invalid(str(exc)) from None
    else:
        cron = ""
    return ScheduleRequest(schedule_type, cron, gc_parameters(parameters))


class GcControl:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    async def trigger(self, actor: Actor, parameters: dict[str, Any]) -> int:
        require_sysadmin(actor.principal, "manage garbage collection")
        return await self.db.run(self._trigger, actor, gc_parameters(parameters))

    def _trigger(self, conn: Connection, actor: Actor, params: dict[str, Any]) -> int:
        if job_store.active_executions(conn, GC_VENDOR):
            raise Conflict("a garbage collection is already pending or running")
        execution_id = job_store.create_execution(
            conn, GC_VENDOR, GC_JOB, params, self.config.job_retry_limit)
        audit_store.write_audit(conn, [actor.record(
            "create", "gc", f"gc/{execution_id}", detail={"parameters": params})])
        return execution_id

    async def set_schedule(self, actor: Actor, request: ScheduleRequest) -> None:
        require_sysadmin(actor.principal, "manage garbage collection")
        await self.db.run(self._set_schedule, actor, request)

    def _set_schedule(self, conn: Connection, actor: Actor, request: ScheduleRequest) -> None:
        if request.type == "None":
            if schedule_store.delete_schedule(conn, GC_VENDOR):
                audit_store.write_audit(conn, [actor.record(
                    "delete", "gc_schedule", "gc schedule")])
            return
        schedule_store.put_schedule(conn, GC_VENDOR, request.type, request.cron, request.parameters,
                               next_after(request.cron, utcnow()))
        audit_store.write_audit(conn, [actor.record(
            "update", "gc_schedule", "gc schedule",
            detail={"type": request.type, "cron": request.cron,
                    "parameters": request.parameters})])

    async def schedule(self, principal: Principal) -> schedule_store.Schedule | None:
        require_sysadmin(principal, "manage garbage collection")
        return await self.db.run(schedule_store.get_schedule, GC_VENDOR)

    async def history(
        self, principal: Principal, page: int, page_size: int
    ) -> tuple[list[job_store.Execution], int]:
        require_sysadmin(principal, "manage garbage collection")
        return await self.db.run(job_store.list_executions, GC_VENDOR,
                                 (page - 1) * page_size, page_size)

    async def get(self, principal: Principal, execution_id: int) -> job_store.Execution:
        require_sysadmin(principal, "manage garbage collection")
        found = await self.db.run(job_store.get_execution, GC_VENDOR, execution_id)
        if found is None:
            raise NotFound(f"garbage collection {execution_id} not found")
        return found

    async def log(self, principal: Principal, execution_id: int) -> str:
        require_sysadmin(principal, "manage garbage collection")
        text = await self.db.run(job_store.execution_log, GC_VENDOR, execution_id)
        if text is None:
            raise NotFound(f"garbage collection {execution_id} not found")
        return text

    async def stop(self, actor: Actor, execution_id: int) -> None:
        require_sysadmin(actor.principal, "manage garbage collection")
        found = await self.db.run(job_store.request_stop, GC_VENDOR, execution_id)
        if found is None:
            raise NotFound(f"garbage collection {execution_id} not found")
