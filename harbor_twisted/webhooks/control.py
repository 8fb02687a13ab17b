"""Webhook policies as the API drives them (``/projects/{p}/webhook/…``): Project Admins
(and system admins) manage them, Maintainers may read them and their executions, as in
Harbor's matrix. Changes are audited in their transaction; neither the audit nor any
answer carries an auth header, which goes to the secrets directory (``secrets.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from harbor_twisted.common import webhook_secrets as secrets
from harbor_twisted.config import Config
from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import Conflict, NotFound
from harbor_twisted.core.projects import ProjectRef, authorize
from harbor_twisted.core.rbac import Principal
from harbor_twisted.db import audit_store, webhook_store
from harbor_twisted.db.engine import Database
from harbor_twisted.db.job_store import Execution
from harbor_twisted.db.project_store import ProjectRecord
from harbor_twisted.db.webhook_store import Policy, Target, Task
from harbor_twisted.webhooks.policies import PolicyInput, check_policy

RESOURCE = "webhook"


@dataclass(frozen=True)
class ExecutionView:
    execution: Execution
    event_type: str
    task_counts: dict[str, int]


def _audit_detail(values: dict[str, Any]) -> dict[str, Any]:
    """What changed, without secrets (targets say only whether they have a header)."""
    detail = {k: v for k, v in values.items() if k != "targets"}
    if "targets" in values:
        detail["targets"] = [t.as_json() for t in values["targets"]]
    return detail


class WebhookControl:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    # -- policies -------------------------------------------------------------------------

    async def list_policies(
        self, principal: Principal, ref: ProjectRef, name: str | None, exact: bool,
        offset: int, limit: int,
    ) -> tuple[list[Policy], int]:
        def run(conn: Connection) -> tuple[list[Policy], int]:
            project = authorize(conn, principal, ref, RESOURCE, "list").project
            return webhook_store.list_policies(conn, project.id, name, offset, limit, exact)

        return await self.db.run(run)

    async def get_policy(self, principal: Principal, ref: ProjectRef, policy_id: int) -> Policy:
        def run(conn: Connection) -> Policy:
            project = authorize(conn, principal, ref, RESOURCE, "read").project
            return _found(conn, project, policy_id)

        return await self.db.run(run)

    async def create_policy(self, actor: Actor, ref: ProjectRef, data: Any) -> int:
        checked = check_policy(data)

        def run(conn: Connection) -> int:
            project = authorize(conn, actor.principal, ref, RESOURCE, "create").project
            if webhook_store.name_taken(conn, project.id, checked.values["name"]):
                raise Conflict(f"a webhook policy named {checked.values['name']} already "
                               f"exists in project {project.name}")
            values = {**checked.values, "creator": actor.username,
                      "targets": _with_headers(checked, [])}
            try:
                policy_id = webhook_store.create_policy(conn, project.id, values)
            except IntegrityError:  # the same name, created at the same moment
                raise Conflict(f"a webhook policy named {values['name']} already exists "
                               f"in project {project.name}") from None
            self._store_headers(policy_id, checked, [])
            audit_store.write_audit(conn, [actor.record(
                "create", "webhook_policy", _resource(project, policy_id), project.id,
                _audit_detail(values))])
            return policy_id

        return await self.db.run(run)

    async def update_policy(self, actor: Actor, ref: ProjectRef, policy_id: int,
                            data: Any) -> None:
        def run(conn: Connection) -> None:
            project = authorize(conn, actor.principal, ref, RESOURCE, "update").project
            existing = _found(conn, project, policy_id)
            checked = check_policy(data, existing)
            name = checked.values.get("name")
            if name and webhook_store.name_taken(conn, project.id, name, policy_id):
                raise Conflict(f"a webhook policy named {name} already exists in project "
                               f"{project.name}")
            values = dict(checked.values)
            if "targets" in values:
                values["targets"] = _with_headers(checked, existing.targets)
                self._store_headers(policy_id, checked, existing.targets)
            try:
                webhook_store.update_policy(conn, policy_id, values)
            except IntegrityError:
                raise Conflict(f"a webhook policy named {name} already exists in project "
                               f"{project.name}") from None
            audit_store.write_audit(conn, [actor.record(
                "update", "webhook_policy", _resource(project, policy_id), project.id,
                _audit_detail(values))])

        await self.db.run(run)

    async def delete_policy(self, actor: Actor, ref: ProjectRef, policy_id: int) -> None:
        def run(conn: Connection) -> None:
            project = authorize(conn, actor.principal, ref, RESOURCE, "delete").project
            if webhook_store.delete_policy(conn, project.id, policy_id) is None:
                raise NotFound(f"webhook policy {policy_id} not found")
            secrets.forget_all(self.config, policy_id)
            audit_store.write_audit(conn, [actor.record(
                "delete", "webhook_policy", _resource(project, policy_id), project.id)])

        await self.db.run(run)

    def _store_headers(self, policy_id: int, checked: PolicyInput,
                       old: list[Target]) -> None:
        """Write new headers, drop cleared ones and those of targets that went (blocking:
        runs in the database thread, like the registry endpoints' secrets)."""
        for index, header in enumerate(checked.auth_headers):
            if header:
                secrets.store(self.config, policy_id, index, header)
            elif header == "" or index >= len(old):
                secrets.forget(self.config, policy_id, index)
        secrets.forget_all(self.config, policy_id, keep=len(checked.auth_headers))

    # -- executions, tasks, logs ----------------------------------------------------------

    async def executions(self, principal: Principal, ref: ProjectRef, policy_id: int,
                         offset: int, limit: int) -> tuple[list[ExecutionView], int]:
        def run(conn: Connection) -> tuple[list[ExecutionView], int]:
            project = authorize(conn, principal, ref, RESOURCE, "read").project
            _found(conn, project, policy_id)
            found, total = webhook_store.list_executions(conn, policy_id, offset, limit)
            counts = webhook_store.task_counts(conn, [e.id for e, _ in found])
            return [ExecutionView(e, t, counts[e.id]) for e, t in found], total

        return await self.db.run(run)

    async def tasks(self, principal: Principal, ref: ProjectRef, policy_id: int,
                    execution_id: int, offset: int, limit: int) -> tuple[list[Task], int]:
        def run(conn: Connection) -> tuple[list[Task], int]:
            project = authorize(conn, principal, ref, RESOURCE, "read").project
            _found_execution(conn, project, policy_id, execution_id)
            return webhook_store.list_tasks(conn, execution_id, offset, limit)

        return await self.db.run(run)

    async def task_log(self, principal: Principal, ref: ProjectRef, policy_id: int,
                       execution_id: int, task_id: int) -> str:
        def run(conn: Connection) -> str:
            project = authorize(conn, principal, ref, RESOURCE, "read").project
            _found_execution(conn, project, policy_id, execution_id)
            text = webhook_store.task_log(conn, execution_id, task_id)
            if text is None:
                raise NotFound(f"task {task_id} of execution {execution_id} not found")
            return text

        return await self.db.run(run)

    async def check_read(self, principal: Principal, ref: ProjectRef) -> None:
        await self.db.run(lambda conn: authorize(conn, principal, ref, RESOURCE, "read"))

    async def last_triggers(
        self, principal: Principal, ref: ProjectRef
    ) -> list[tuple[Policy, str, datetime | None]]:
        def run(conn: Connection) -> list[tuple[Policy, str, datetime | None]]:
            project = authorize(conn, principal, ref, RESOURCE, "list").project
            return webhook_store.last_triggers(conn, project.id)

        return await self.db.run(run)


def _resource(project: ProjectRecord, policy_id: int) -> str:
    return f"{project.name}/webhook/policies/{policy_id}"


def _found(conn: Connection, project: ProjectRecord, policy_id: int) -> Policy:
    policy = webhook_store.get_policy(conn, policy_id, project.id)
    if policy is None:
        raise NotFound(f"webhook policy {policy_id} not found in project {project.name}")
    return policy


def _found_execution(conn: Connection, project: ProjectRecord, policy_id: int,
                     execution_id: int) -> None:
    _found(conn, project, policy_id)
    if not webhook_store.execution_exists(conn, policy_id, execution_id):
        raise NotFound(f"execution {execution_id} of webhook policy {policy_id} not found")


def _with_headers(checked: PolicyInput, old: list[Target]) -> list[Target]:
    """The new targets, each saying whether it has a header once the change is made."""
    targets = []
    for index, target in enumerate(checked.values["targets"]):
        header = checked.auth_headers[index]
        kept = header is None and index < len(old) and old[index].has_auth_header
        targets.append(replace(target, has_auth_header=bool(header) or kept))
    return targets
