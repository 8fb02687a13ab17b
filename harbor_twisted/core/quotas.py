"""Storage quotas through the API: listing, reading and changing the hard limit — system
administrators only, as in Harbor. Usage is kept by the registry's pushes and the deletes
(db/quota_store.py); changes here are audited in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection

from harbor_twisted.core.audit import Actor
from harbor_twisted.core.errors import Invalid, NotFound
from harbor_twisted.core.rbac import Principal, require_sysadmin
from harbor_twisted.db import audit_store, quota_store
from harbor_twisted.db.engine import Database
from harbor_twisted.db.quota_store import QuotaRecord

SORT_KEYS = frozenset(quota_store.SORTABLE)
MAX_BYTES = 2**63 - 1


def check_limit(value: object, what: str = "hard.storage") -> int:
    """-1 (unlimited) or a positive number of bytes."""
    if isinstance(value, bool) or not isinstance(value, int) or not (
            value == -1 or 0 < value <= MAX_BYTES):
        raise Invalid(f"{what} must be -1 (unlimited) or a positive number of bytes")
    return value


class QuotaService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self, principal: Principal, reference: str | None, reference_id: str | None,
        sorts: list[tuple[str, bool]], page: int, page_size: int,
    ) -> tuple[list[QuotaRecord], int]:
        require_sysadmin(principal, "read or change quotas")
        if reference not in (None, "", "project"):
            return [], 0  # Harbor's only reference type is project
        project_id = None
        if reference_id:
            if not reference_id.isdecimal() or len(reference_id) > 18:
                return [], 0
            project_id = int(reference_id)
        for key, _ in sorts:
            if key not in SORT_KEYS:
                raise Invalid(f"sort: unknown key {key} (known: {', '.join(sorted(SORT_KEYS))})")
        return await self.db.run(quota_store.list_quotas, project_id, sorts,
                                 (page - 1) * page_size, page_size)

    async def get(self, principal: Principal, quota_id: int) -> QuotaRecord:
        require_sysadmin(principal, "read or change quotas")
        found = await self.db.run(lambda conn: quota_store.get_quota(conn, quota_id=quota_id))
        if found is None:
            raise NotFound(f"quota {quota_id} not found")
        return found

    async def set_hard(self, actor: Actor, quota_id: int, hard: int) -> None:
        require_sysadmin(actor.principal, "read or change quotas")
        check_limit(hard)

        def run(conn: Connection) -> None:
            found = quota_store.get_quota(conn, quota_id=quota_id)
            if found is None:
                raise NotFound(f"quota {quota_id} not found")
            quota_store.set_hard(conn, quota_id, hard)
            audit_store.write_audit(conn, [actor.record(
                "update", "quota", found.project_name, found.project_id,
                {"hard": {"storage": hard}, "previous": {"storage": found.hard}})])

        await self.db.run(run)
