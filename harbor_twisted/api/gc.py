"""``/system/gc``: garbage collection history, logs, stop and schedule (Harbor's
``GCHistory``, ``Schedule`` and ``ScheduleObj`` shapes). System administrators only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.rbac import require_sysadmin
from harbor_twisted.db.job_store import Execution
from harbor_twisted.db.schedule_store import Schedule
from harbor_twisted.gc.control import GcControl, schedule_request
from harbor_twisted.web.errors import bad_request


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def gc_history(execution: Execution) -> dict[str, Any]:
    kind = "SCHEDULE" if execution.trigger == "SCHEDULE" else "MANUAL"
    return {
        "id": execution.id,
        "job_name": "GARBAGE_COLLECTION",
        "job_kind": kind,
        "job_parameters": json.dumps(execution.parameters, sort_keys=True),
        "schedule": {"type": "Schedule" if kind == "SCHEDULE" else "Manual"},
        "job_status": execution.status,
        "deleted": False,
        "creation_time": _time(execution.created_at),
        "update_time": _time(execution.updated_at),
        "result": execution.result,
        "status_message": execution.status_message or "",
    }


def gc_schedule(schedule: Schedule | None) -> dict[str, Any]:
    if schedule is None:
        return {"schedule": {"type": "None", "cron": ""}, "parameters": {}}
    return {
        "id": schedule.id,
        "creation_time": _time(schedule.created_at),
        "update_time": _time(schedule.updated_at),
        "schedule": {"type": schedule.cron_type, "cron": schedule.cron,
                     "next_scheduled_time": _time(schedule.next_run)},
        "parameters": schedule.parameters,
    }


def _schedule_body(call: Call) -> tuple[str, str, dict[str, Any]]:
    body = call.body()
    schedule = body.object("schedule", required=True)
    assert schedule is not None
    schedule_type = schedule.string("type", required=True) or ""
    cron = schedule.string("cron") or ""
    parameters = body.data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise bad_request("parameters must be an object")
    return schedule_type, cron, parameters


class GcApi:
    def __init__(self, services: Services) -> None:
        self.gc = GcControl(services.identity.db, services.config)

    def register(self, router: Router) -> None:
        router.add("/system/gc", GET=self.history)
        router.add("/system/gc/schedule", GET=self.get_schedule, POST=self.create_schedule,
                   PUT=self.update_schedule)
        router.add("/system/gc/{gc_id}", GET=self.get, PUT=self.stop)
        router.add("/system/gc/{gc_id}/log", GET=self.log)

    async def history(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        executions, total = await self.gc.history(call.principal, page, page_size)
        return paged(call, [gc_history(e) for e in executions], total, page, page_size)

    async def get(self, call: Call) -> Reply:
        return Reply(body=gc_history(await self.gc.get(call.principal, call.int_param("gc_id"))))

    async def log(self, call: Call) -> Reply:
        return Reply(text=await self.gc.log(call.principal, call.int_param("gc_id")))

    async def stop(self, call: Call) -> Reply:
        await self.gc.stop(call.actor, call.int_param("gc_id"))
        return Reply()

    async def get_schedule(self, call: Call) -> Reply:
        return Reply(body=gc_schedule(await self.gc.schedule(call.principal)))

    async def create_schedule(self, call: Call) -> Reply:
        """``Manual`` runs a collection now; the other types set the schedule."""
        require_sysadmin(call.principal, "manage garbage collection")
        schedule_type, cron, parameters = _schedule_body(call)
        request = schedule_request(schedule_type, cron, parameters)
        if request.type == "Manual":
            execution_id = await self.gc.trigger(call.actor, request.parameters)
            return Reply(201, headers={"Location": f"{call.raw_path.rsplit('/', 1)[0]}/"
                                                  f"{execution_id}"})
        if request.type == "None":
            raise bad_request("schedule.type None removes a schedule: use PUT")
        await self.gc.set_schedule(call.actor, request)
        return Reply(201, headers={"Location": call.raw_path})

    async def update_schedule(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage garbage collection")
        schedule_type, cron, parameters = _schedule_body(call)
        request = schedule_request(schedule_type, cron, parameters)
        if request.type == "Manual":
            raise bad_request("schedule.type Manual runs a collection: use POST")
        await self.gc.set_schedule(call.actor, request)
        return Reply()
