"""Retention policies as the API drives them (``/retentions``): one policy per project,
managed by the project's Project Admins, Maintainers and Developers (Harbor's matrix);
runs are job service executions (manual, dry run, or fired by the policy's cron).
Every change is audited in its transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from harbor_twisted.common.clock import utcnow
from harbor_twisted.common.cron import next_after
from harbor_twisted.config import Config
from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import Conflict, Invalid, NotFound, Unauthenticated
from harbor_twisted.core.projects import Access, ProjectRef, authorize
from harbor_twisted.core.rbac import Principal
from harbor_twisted.core.retention import PolicyRequest, check_policy
from harbor_twisted.db import audit_store, job_store, project_store, retention_store
from harbor_twisted.db.engine import Database
from harbor_twisted.db.job_store import Execution
from harbor_twisted.db.retention_store import VENDOR, PolicyRecord, TaskRecord

RESOURCE = "tag-retention"


def trigger_of(cron: str) -> dict[str, Any]:
    return {"kind": "Schedule", "settings": {"cron": cron}, "references": {}}


def _find(
    conn: Connection, principal: Principal, policy_id: int, action: str
) -> tuple[PolicyRecord, Access]:
    policy = retention_store.get_policy(conn, policy_id)
    if policy is None:
        if principal.anonymous:
            raise Unauthenticated("authentication required")
        raise NotFound(f"retention policy {policy_id} not found")
    access = authorize(conn, principal, ProjectRef(str(policy.project_id)), RESOURCE, action)
    return policy, access


def _schedule(conn: Connection, policy_id: int, cron: str) -> None:
    retention_store.set_schedule(conn, policy_id, cron,
                                 next_after(cron, utcnow()) if cron else None)


class RetentionControl:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    async def create(self, actor: Actor, data: Any) -> int:
        request = check_policy(data)

        def run(conn: Connection) -> int:
            ref = ProjectRef(str(request.project_id))
            project = authorize(conn, actor.principal, ref, RESOURCE, "create").project
            if retention_store.policy_of_project(conn, project.id) is not None:
                raise Conflict(f"project {project.name} already has a retention policy")
            policy_id = retention_store.create_policy(conn, project.id, request.rules,
                                                      trigger_of(request.cron))
            _schedule(conn, policy_id, request.cron)
            project_store.put_project_metadata(conn, project.id,
                                                {"retention_id": str(policy_id)})
            self._audit(conn, actor, "create", project.name, project.id, policy_id, request)
            return policy_id

        return await self.db.run(run)

    @staticmethod
    def _audit(conn: Connection, actor: Actor, operation: str, project_name: str,
               project_id: int, policy_id: int, request: PolicyRequest | None) -> None:
        detail = None if request is None else {"rules": request.rules, "cron": request.cron}
        audit_store.write_audit(conn, [actor.record(
            operation, "retention_policy", f"{project_name}/retentions/{policy_id}",
            project_id, detail)])

    async def get(self, principal: Principal, policy_id: int) -> PolicyRecord:
        return await self.db.run(lambda conn: _find(conn, principal, policy_id, "read")[0])

    async def update(self, actor: Actor, policy_id: int, data: Any) -> None:
        def run(conn: Connection) -> None:
            policy, access = _find(conn, actor.principal, policy_id, "update")
            if isinstance(data, dict) and "scope" not in data:
                data["scope"] = {"level": "project", "ref": policy.project_id}
            request = check_policy(data)
            if request.project_id != policy.project_id:
                raise Invalid("scope.ref cannot change: a policy belongs to its project")
            retention_store.update_policy(conn, policy_id, request.rules,
                                          trigger_of(request.cron))
            _schedule(conn, policy_id, request.cron)
            self._audit(conn, actor, "update", access.project.name, access.project.id,
                        policy_id, request)

        await self.db.run(run)

    async def delete(self, actor: Actor, policy_id: int) -> None:
        def run(conn: Connection) -> None:
            _, access = _find(conn, actor.principal, policy_id, "delete")
            retention_store.delete_policy(conn, policy_id)
            project_store.delete_project_metadata(conn, access.project.id, "retention_id")
            self._audit(conn, actor, "delete", access.project.name, access.project.id,
                        policy_id, None)

        await self.db.run(run)

    # -- executions -----------------------------------------------------------------------

    async def trigger(self, actor: Actor, policy_id: int, dry_run: bool) -> int:
        def run(conn: Connection) -> int:
            _, access = _find(conn, actor.principal, policy_id, "update")
            params = {"dry_run": dry_run, "policy_id": policy_id}
            execution_id = job_store.create_execution(
                conn, VENDOR, "retention", params, self.config.job_retry_limit)
            retention_store.claim_execution(conn, execution_id, policy_id)
            audit_store.write_audit(conn, [actor.record(
                "create", "retention_execution",
                f"{access.project.name}/retentions/{policy_id}/executions/{execution_id}",
                access.project.id, params)])
            return execution_id

        return await self.db.run(run)

    async def executions(
        self, principal: Principal, policy_id: int, offset: int, limit: int
    ) -> tuple[list[Execution], int]:
        def run(conn: Connection) -> tuple[list[Execution], int]:
            _find(conn, principal, policy_id, "read")
            return retention_store.list_executions(conn, policy_id, offset, limit)

        return await self.db.run(run)

    def _execution(self, conn: Connection, principal: Principal, policy_id: int,
                   execution_id: int, action: str) -> tuple[Execution, Access]:
        _, access = _find(conn, principal, policy_id, action)
        found = retention_store.get_execution(conn, policy_id, execution_id)
        if found is None:
            raise NotFound(f"retention execution {execution_id} not found")
        return found, access

    async def stop(self, actor: Actor, policy_id: int, execution_id: int) -> None:
        def run(conn: Connection) -> None:
            _, access = self._execution(conn, actor.principal, policy_id, execution_id,
                                        "update")
            job_store.request_stop(conn, VENDOR, execution_id)
            audit_store.write_audit(conn, [actor.record(
                "stop", "retention_execution",
                f"{access.project.name}/retentions/{policy_id}/executions/{execution_id}",
                access.project.id)])

        await self.db.run(run)

    async def tasks(
        self, principal: Principal, policy_id: int, execution_id: int
    ) -> tuple[Execution, list[TaskRecord]]:
        def run(conn: Connection) -> tuple[Execution, list[TaskRecord]]:
            execution, _ = self._execution(conn, principal, policy_id, execution_id, "read")
            return execution, retention_store.list_tasks(conn, execution_id)

        return await self.db.run(run)

    async def task_log(
        self, principal: Principal, policy_id: int, execution_id: int, task_id: int
    ) -> str:
        def run(conn: Connection) -> str:
            self._execution(conn, principal, policy_id, execution_id, "read")
            text = retention_store.task_log(conn, execution_id, task_id)
            if text is None:
                raise NotFound(f"retention task {task_id} not found")
            return text

        return await self.db.run(run)
