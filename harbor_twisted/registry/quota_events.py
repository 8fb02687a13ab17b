"""QUOTA_EXCEED: a push the project's quota refused, announced in the event outbox.

The refusing transaction rolled back whole, so the event is written in a transaction of
its own; failing to write it is logged and never changes the client's answer.
"""

from __future__ import annotations

from twisted.logger import Logger

from harbor_twisted.db import event_store
from harbor_twisted.db.quota_store import QuotaExceeded
from harbor_twisted.registry.request import RegistryRequest
from harbor_twisted.registry.state import RegistryApp

log = Logger(namespace="harbor_twisted.registry.quota_events")


async def quota_refused(app: RegistryApp, request: RegistryRequest, repository: str, digest: str,
                        tag: str | None, refusal: QuotaExceeded) -> None:
    operator = request.username
    detail = {"event_data": {"custom_attributes": {"Details": str(refusal)}}}
    try:
        await app.db.run(event_store.record, event_store.QUOTA_EXCEED, repository, digest, tag,
                         operator, detail)
    except Exception:
        log.failure("recording the quota refusal of {repository} failed", repository=repository)
