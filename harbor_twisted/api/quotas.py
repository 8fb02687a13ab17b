"""``/quotas``: per-project storage quotas (Harbor's ``Quota`` and ``QuotaUpdateReq``).
System administrators only."""

from __future__ import annotations

from typing import Any

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import page_of, paged, parse_sort
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import iso
from harbor_twisted.core.quotas import QuotaService
from harbor_twisted.db.quota_store import QuotaRecord
from harbor_twisted.web.errors import bad_request


def quota_shape(record: QuotaRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "ref": {"id": record.project_id, "name": record.project_name,
                "owner_name": record.owner_name},
        "hard": {"storage": record.hard},
        "used": {"storage": record.used},
        "creation_time": iso(record.creation_time),
        "update_time": iso(record.update_time),
    }


class QuotasApi:
    def __init__(self, services: Services) -> None:
        self.quotas = QuotaService(services.identity.db)

    def register(self, router: Router) -> None:
        router.add("/quotas", GET=self.list)
        router.add("/quotas/{quota_id}", GET=self.get, PUT=self.update)

    async def list(self, call: Call) -> Reply:
        page, page_size = page_of(call)
        sorts = [(s.key, s.descending) for s in parse_sort(call.arg("sort") or "")]
        records, total = await self.quotas.list(
            call.principal, call.arg("reference"), call.arg("reference_id"), sorts, page,
            page_size)
        return paged(call, [quota_shape(r) for r in records], total, page, page_size)

    async def get(self, call: Call) -> Reply:
        record = await self.quotas.get(call.principal, call.int_param("quota_id"))
        return Reply(body=quota_shape(record))

    async def update(self, call: Call) -> Reply:
        hard = call.body().object("hard", required=True)
        assert hard is not None
        storage = hard.data.get("storage")
        if storage is None:
            raise bad_request("hard.storage is required")
        await self.quotas.set_hard(call.actor, call.int_param("quota_id"), storage)
        return Reply()
