"""Replication as the API drives it: registry endpoints (secrets to the secrets directory),
policies (schedules kept in the job scheduler), executions and their tasks.

System administrators only. Changes are audited in the transaction that makes them; audit
details never carry a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection
from twisted.internet.threads import deferToThread

from harbor_twisted.common.clock import utcnow
from harbor_twisted.common.cron import InvalidCron, check_cron, next_after
from harbor_twisted.common.outbound_tls import describe_tls_failure
from harbor_twisted.config import Config
from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import (
    Conflict,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from harbor_twisted.core.rbac import Principal, require_sysadmin
from harbor_twisted.db import audit_store, job_store, replication_store
from harbor_twisted.db.engine import Database
from harbor_twisted.replication import credentials
from harbor_twisted.replication.client import RegistryClient, RegistryClientError
from harbor_twisted.replication.filters import DECORATIONS

VENDOR = replication_store.REPLICATION_VENDOR
REGISTRY_TYPES = ("harbor", "docker-registry")
TRIGGERS = ("manual", "scheduled", "event_based")
FILTER_TYPES = ("name", "tag", "resource")
_NAMESPACE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


@dataclass(frozen=True)
class RegistryInput:
    """What the API may set on an endpoint; ``secret`` None leaves the stored one."""

    values: dict[str, Any]
    secret: str | None


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken [IPv6] host
        raise Invalid("url must be an http:// or https:// URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("url must be an http:// or https:// URL")
    return url.rstrip("/")


def check_registry_type(kind: str) -> str:
    if kind not in REGISTRY_TYPES:
        raise Invalid(f"type must be one of {', '.join(REGISTRY_TYPES)}")
    return kind


@dataclass(frozen=True)
class PolicyInput:
    values: dict[str, Any]


def check_filters(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("filters must be a list")
    filters = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("each filter must be an object")
        kind, value = item.get("type"), item.get("value", "")
        decoration = item.get("decoration") or "matches"
        if kind == "label":
            raise Invalid("label filters are not supported")
        if kind not in FILTER_TYPES:
            raise Invalid(f"filter type must be one of {', '.join(FILTER_TYPES)}")
        if not isinstance(value, str) or "\x00" in value or len(value) > 255:
            raise Invalid("filter value must be a string of at most 255 characters")
        if decoration not in DECORATIONS:
            raise Invalid(f"filter decoration must be one of {', '.join(DECORATIONS)}")
        filters.append({"type": kind, "value": value, "decoration": decoration})
    return filters


def check_trigger(kind: str, cron: str) -> tuple[str, str]:
    if kind not in TRIGGERS:
        raise Invalid(f"trigger.type must be one of {', '.join(TRIGGERS)}")
    if kind != "scheduled":
        return kind, ""
    try:
        return kind, check_cron(cron)
    except InvalidCron as exc:
        raise Invalid(str(exc)) from None


def check_namespace(namespace: str) -> str:
    if namespace and (len(namespace) > 255 or not _NAMESPACE.match(namespace)):
        raise Invalid("dest_namespace must be a lowercase repository path")
    return namespace


class ReplicationControl:
    def __init__(self, db: Database, config: Config) -> None:
        self.db = db
        self.config = config

    # -- registries ---------------------------------------------------------------------

    async def create_registry(self, actor: Actor, data: RegistryInput) -> int:
        require_sysadmin(actor.principal, "manage replication")
        return await self.db.run(self._create_registry, actor, data)

    def _create_registry(self, conn: Connection, actor: Actor, data: RegistryInput) -> int:
        if replication_store.registry_name_taken(conn, data.values["name"]):
            raise Conflict(f"a registry named {data.values['name']} already exists")
        registry_id = replication_store.create_registry(
            conn, {**data.values, "has_secret": bool(data.secret)})
        if data.secret:
            credentials.store_secret(self.config, registry_id, data.secret)
        audit_store.write_audit(conn, [actor.record(
            "create", "registry", f"registry/{registry_id}",
            detail={"name": data.values["name"], "url": data.values["url"]})])
        return registry_id

    async def update_registry(self, actor: Actor, registry_id: int, data: RegistryInput) -> None:
        require_sysadmin(actor.principal, "manage replication")
        await self.db.run(self._update_registry, actor, registry_id, data)

    def _update_registry(
        self, conn: Connection, actor: Actor, registry_id: int, data: RegistryInput
    ) -> None:
        if replication_store.get_registry(conn, registry_id) is None:
            raise NotFound(f"registry {registry_id} not found")
        name = data.values.get("name")
        if name and replication_store.registry_name_taken(conn, name, registry_id):
            raise Conflict(f"a registry named {name} already exists")
        values = dict(data.values)
        if data.secret is not None:
            values["has_secret"] = bool(data.secret)
        if values:
            replication_store.update_registry(conn, registry_id, values)
        if data.secret:
            credentials.store_secret(self.config, registry_id, data.secret)
        elif data.secret == "":
            credentials.forget_secret(self.config, registry_id)
        audit_store.write_audit(conn, [actor.record(
            "update", "registry", f"registry/{registry_id}",
            detail={k: v for k, v in data.values.items() if k != "access_key"} or None)])

    async def delete_registry(self, actor: Actor, registry_id: int) -> None:
        require_sysadmin(actor.principal, "manage replication")
        await self.db.run(self._delete_registry, actor, registry_id)

    def _delete_registry(self, conn: Connection, actor: Actor, registry_id: int) -> None:
        if replication_store.get_registry(conn, registry_id) is None:
            raise NotFound(f"registry {registry_id} not found")
        if replication_store.registry_in_use(conn, registry_id):
            raise PreconditionFailed("the registry is used by replication policies")
        replication_store.delete_registry(conn, registry_id)
        credentials.forget_secret(self.config, registry_id)
        audit_store.write_audit(conn, [actor.record(
            "delete", "registry", f"registry/{registry_id}")])

    async def get_registry(self, principal: Principal, registry_id: int
                           ) -> replication_store.Registry:
        require_sysadmin(principal, "manage replication")
        found = await self.db.run(replication_store.get_registry, registry_id)
        if found is None:
            raise NotFound(f"registry {registry_id} not found")
        return found

    async def list_registries(
        self, principal: Principal, name: str | None, page: int, page_size: int
    ) -> tuple[list[replication_store.Registry], int]:
        require_sysadmin(principal, "manage replication")
        return await self.db.run(replication_store.list_registries, name,
                                 (page - 1) * page_size, page_size)

    async def ping(self, principal: Principal, registry_id: int | None, url: str | None,
                   insecure: bool | None, access_key: str | None,
                   access_secret: str | None) -> None:
        """A ping of a stored endpoint (fields given override it) or of an unsaved one."""
        require_sysadmin(principal, "manage replication")
        stored = None
        if registry_id is not None:
            stored = await self.get_registry(principal, registry_id)
        url = url or (stored.url if stored else None)
        if not url:
            raise Invalid("url or id is required")
        if access_key is None and stored is not None:
            access_key = stored.access_key or ""
            if access_secret is None and stored.has_secret:
                access_secret = await deferToThread(credentials.load_secret, self.config,
                                                    stored.id)
        if insecure is None:
            insecure = stored.insecure if stored else False
        client = RegistryClient(check_url(url), access_key or "", access_secret or "", insecure,
                                trusted_ca_file=self.config.trusted_ca_file)

        def ping() -> str | None:
            try:
                client.ping()
                return None
            except RegistryClientError as exc:
                return str(exc)
            except Exception as exc:  # connection refused, TLS, timeouts
                return describe_tls_failure(exc) or type(exc).__name__
            finally:
                client.close()

        problem = await deferToThread(ping)
        if problem is not None:
            raise Invalid(f"failed to ping the registry: {problem}")

    # -- policies -----------------------------------------------------------------------

    def _check_policy(self, conn: Connection, values: dict[str, Any]) -> None:
        src, dest = values["src_registry_id"], values["dest_registry_id"]
        if (src is None) == (dest is None):
            raise Invalid("exactly one of src_registry and dest_registry must be a remote "
                          "registry (the other side is this registry)")
        remote = src if src is not None else dest
        if replication_store.get_registry(conn, remote) is None:
            raise Invalid(f"registry {remote} not found")
        if values["trigger_type"] == "event_based" and src is not None:
            raise Invalid("event_based triggers work for push-based policies only")

    def _schedule(self, conn: Connection, policy_id: int, values: dict[str, Any]) -> None:
        if values["trigger_type"] == "scheduled" and values["enabled"]:
            replication_store.set_schedule(conn, policy_id, values["cron"],
                                           next_after(values["cron"], utcnow()))
        else:
            replication_store.set_schedule(conn, policy_id, None, None)

    async def create_policy(self, actor: Actor, data: PolicyInput) -> int:
        require_sysadmin(actor.principal, "manage replication")
        return await self.db.run(self._create_policy, actor, data.values)

    def _create_policy(self, conn: Connection, actor: Actor, values: dict[str, Any]) -> int:
        if replication_store.policy_name_taken(conn, values["name"]):
            raise Conflict(f"a policy named {values['name']} already exists")
        self._check_policy(conn, values)
        policy_id = replication_store.create_policy(conn, values)
        self._schedule(conn, policy_id, values)
        audit_store.write_audit(conn, [actor.record(
            "create", "replication_policy", f"replication_policy/{policy_id}",
            detail={"name": values["name"]})])
        return policy_id

    async def update_policy(self, actor: Actor, policy_id: int, data: PolicyInput) -> None:
        require_sysadmin(actor.principal, "manage replication")
        await self.db.run(self._update_policy, actor, policy_id, data.values)

    def _update_policy(
        self, conn: Connection, actor: Actor, policy_id: int, values: dict[str, Any]
    ) -> None:
        if replication_store.get_policy(conn, policy_id) is None:
            raise NotFound(f"replication policy {policy_id} not found")
        if replication_store.policy_name_taken(conn, values["name"], policy_id):
            raise Conflict(f"a policy named {values['name']} already exists")
        self._check_policy(conn, values)
        replication_store.update_policy(conn, policy_id, values)
        self._schedule(conn, policy_id, values)
        audit_store.write_audit(conn, [actor.record(
            "update", "replication_policy", f"replication_policy/{policy_id}",
            detail={"name": values["name"]})])

    async def delete_policy(self, actor: Actor, policy_id: int) -> None:
        require_sysadmin(actor.principal, "manage replication")
        await self.db.run(self._delete_policy, actor, policy_id)

    def _delete_policy(self, conn: Connection, actor: Actor, policy_id: int) -> None:
        if replication_store.get_policy(conn, policy_id) is None:
            raise NotFound(f"replication policy {policy_id} not found")
        ids, _ = replication_store.list_execution_ids(conn, policy_id, 0, 1000)
        for execution_id in ids:
            job_store.request_stop(conn, VENDOR, execution_id)
        replication_store.delete_policy(conn, policy_id)
        audit_store.write_audit(conn, [actor.record(
            "delete", "replication_policy", f"replication_policy/{policy_id}")])

    async def get_policy(
        self, principal: Principal, policy_id: int
    ) -> tuple[replication_store.Policy, dict[int, replication_store.Registry]]:
        require_sysadmin(principal, "manage replication")

        def run(conn: Connection) -> Any:
            policy = replication_store.get_policy(conn, policy_id)
            if policy is None:
                raise NotFound(f"replication policy {policy_id} not found")
            return policy, _registries_of(conn, [policy])

        return await self.db.run(run)

    async def list_policies(
        self, principal: Principal, name: str | None, page: int, page_size: int
    ) -> tuple[list[replication_store.Policy], int, dict[int, replication_store.Registry]]:
        require_sysadmin(principal, "manage replication")

        def run(conn: Connection) -> Any:
            policies, total = replication_store.list_policies(
                conn, name, (page - 1) * page_size, page_size)
            return policies, total, _registries_of(conn, policies)

        return await self.db.run(run)

    # -- executions ---------------------------------------------------------------------

    async def start(self, actor: Actor, policy_id: int) -> int:
        require_sysadmin(actor.principal, "manage replication")
        return await self.db.run(self._start, actor, policy_id)

    def _start(self, conn: Connection, actor: Actor, policy_id: int) -> int:
        policy = replication_store.get_policy(conn, policy_id)
        if policy is None:
            raise NotFound(f"replication policy {policy_id} not found")
        if not policy.enabled:
            raise Invalid(f"replication policy {policy_id} is disabled")
        execution_id = job_store.create_execution(
            conn, VENDOR, "replication", {"policy_id": policy_id},
            self.config.job_retry_limit, trigger="MANUAL", vendor_id=policy_id)
        audit_store.write_audit(conn, [actor.record(
            "create", "replication_execution", f"replication_execution/{execution_id}",
            detail={"policy_id": policy_id})])
        return execution_id

    async def executions(
        self, principal: Principal, policy_id: int | None, page: int, page_size: int
    ) -> tuple[list[ExecutionView], int]:
        require_sysadmin(principal, "manage replication")

        def run(conn: Connection) -> Any:
            ids, total = replication_store.list_execution_ids(
                conn, policy_id, (page - 1) * page_size, page_size)
            return _views(conn, ids), total

        return await self.db.run(run)

    async def execution(self, principal: Principal, execution_id: int) -> ExecutionView:
        require_sysadmin(principal, "manage replication")
        views = await self.db.run(_views, [execution_id])
        if not views:
            raise NotFound(f"replication execution {execution_id} not found")
        return views[0]

    async def stop(self, actor: Actor, execution_id: int) -> None:
        require_sysadmin(actor.principal, "manage replication")
        found = await self.db.run(job_store.request_stop, VENDOR, execution_id)
        if found is None:
            raise NotFound(f"replication execution {execution_id} not found")

    async def tasks(
        self, principal: Principal, execution_id: int, page: int, page_size: int
    ) -> tuple[list[replication_store.Task], int]:
        await self.execution(principal, execution_id)
        return await self.db.run(replication_store.list_tasks, execution_id,
                                 (page - 1) * page_size, page_size)

    async def task_log(self, principal: Principal, execution_id: int, task_id: int) -> str:
        await self.execution(principal, execution_id)
        text = await self.db.run(replication_store.task_log, execution_id, task_id)
        if text is None:
            raise NotFound(f"task {task_id} of execution {execution_id} not found")
        return text


@dataclass(frozen=True)
class ExecutionView:
    execution: job_store.Execution
    policy_id: int
    counts: replication_store.TaskCounts


def _views(conn: Connection, ids: list[int]) -> list[ExecutionView]:
    counts = replication_store.task_counts(conn, ids)
    views = []
    for execution_id in ids:
        execution = job_store.get_execution(conn, VENDOR, execution_id)
        if execution is None:
            continue
        policy_id = replication_store.execution_policy(conn, execution_id) or 0
        views.append(ExecutionView(execution, policy_id, counts.get(
            execution_id, replication_store.TaskCounts())))
    return views


def _registries_of(
    conn: Connection, policies: list[replication_store.Policy]
) -> dict[int, replication_store.Registry]:
    ids = {i for p in policies for i in (p.src_registry_id, p.dest_registry_id) if i}
    found = {}
    for registry_id in ids:
        registry = replication_store.get_registry(conn, registry_id)
        if registry is not None:
            found[registry_id] = registry
    return found
