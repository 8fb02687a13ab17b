"""``/audit-logs``: the audit log across projects, as far as the caller may read it."""

from __future__ import annotations

from harbor_twisted.api.call import Call, Reply
from harbor_twisted.api.listing import listing_of, paged
from harbor_twisted.api.routing import Router
from harbor_twisted.api.services import Services
from harbor_twisted.api.shapes import audit_log


class AuditLogsApi:
    def __init__(self, services: Services) -> None:
        self.audit = services.audit

    def register(self, router: Router) -> None:
        router.add("/audit-logs", GET=self.list)

    async def list(self, call: Call) -> Reply:
        listing = listing_of(call)
        entries, total = await self.audit.list(call.principal, listing)
        return paged(call, [audit_log(e) for e in entries], total, listing.page,
                     listing.page_size)
