"""``/registries``: replication endpoints (Harbor's ``Registry``, ``RegistryPing``). The
credential's secret is write-only: answers carry its type and access key only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harbor_twisted.api.call import Call, Fields, Reply
from harbor_twisted.api.listing import page_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.core.rbac import require_sysadmin
from harbor_twisted.db.replication_store import Registry
from harbor_twisted.replication.control import (
    RegistryInput,
    ReplicationControl,
    check_registry_type,
    check_url,
)
from harbor_twisted.web.errors import bad_request


def time_text(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def registry_shape(registry: Registry) -> dict[str, Any]:
    return {
        "id": registry.id, "name": registry.name, "url": registry.url, "type": registry.type,
        "description": registry.description, "insecure": registry.insecure,
        "credential": {"type": registry.credential_type,
                       "access_key": registry.access_key or ""},
        "status": "unknown",
        "creation_time": time_text(registry.created_at),
        "update_time": time_text(registry.updated_at),
    }


def _credential(body: Fields) -> tuple[str | None, str | None, str | None]:
    credential = body.object("credential")
    if credential is None:
        return None, None, None
    kind = credential.string("type") or "basic"
    return kind, credential.string("access_key"), credential.string("access_secret")


def _registry_input(body: Fields, creating: bool) -> RegistryInput:
    values: dict[str, Any] = {}
    name = body.string("name", required=creating)
    if name is not None:
        if not name.strip() or len(name) > 255:
            raise bad_request("name must be 1 to 255 characters")
        values["name"] = name
    url = body.string("url", required=creating)
    if url is not None:
        values["url"] = check_url(url)
    kind = body.string("type", required=creating)
    if kind is not None:
        values["type"] = check_registry_type(kind)
    for key in ("description",):
        text = body.string(key)
        if text is not None:
            values[key] = text
    insecure = body.boolean("insecure")
    if insecure is not None:
        values["insecure"] = insecure
    credential_type, access_key, secret = _credential(body)
    # RegistryUpdate's flat fields
    access_key = body.string("access_key") if access_key is None else access_key
    secret = body.string("access_secret") if secret is None else secret
    credential_type = body.string("credential_type") or credential_type
    if credential_type is not None:
        values["credential_type"] = credential_type[:32]
    if access_key is not None:
        values["access_key"] = access_key[:255]
    if creating:
        values.setdefault("description", "")
        values.setdefault("insecure", False)
        values.setdefault("credential_type", "basic")
    return RegistryInput(values, secret)


class RegistriesApi:
    def __init__(self, services: Services) -> None:
        self.control = ReplicationControl(services.identity.db, services.config)

    def register(self, router: Router) -> None:
        router.add("/registries", GET=self.list, POST=self.create)
        router.add("/registries/ping", POST=self.ping)
        router.add("/registries/{registry_id}", GET=self.get, PUT=self.update,
                   DELETE=self.delete)

    async def list(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        found, total = await self.control.list_registries(call.principal, call.arg("name"),
                                                          page, page_size)
        return paged(call, [registry_shape(r) for r in found], total, page, page_size)

    async def create(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage replication")
        registry_id = await self.control.create_registry(
            call.actor, _registry_input(call.body(), True))
        return Reply(201, headers={"Location": f"{call.raw_path.rstrip('/')}/{registry_id}"})

    async def get(self, call: Call) -> Reply:
        return Reply(body=registry_shape(await self.control.get_registry(
            call.principal, call.int_param("registry_id"))))

    async def update(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage replication")
        await self.control.update_registry(call.actor, call.int_param("registry_id"),
                                           _registry_input(call.body(), False))
        return Reply()

    async def delete(self, call: Call) -> Reply:
        await self.control.delete_registry(call.actor, call.int_param("registry_id"))
        return Reply()

    async def ping(self, call: Call) -> Reply:
        require_sysadmin(call.principal, "manage replication")
        body = call.body()
        _kind, access_key, secret = _credential(body)
        registry_type = body.string("type")
        if registry_type is not None:
            check_registry_type(registry_type)
        await self.control.ping(call.principal, body.integer("id"), body.string("url"),
                                body.boolean("insecure"), access_key, secret)
        return Reply()
