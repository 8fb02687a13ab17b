"""QUOTA_EXCEED: a push the project's quota refused, announced in the event outbox.

The refusing transaction rolled back whole, so the event is written in a transaction of
its own; failing to write it is logged and never changes the client's answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.logger import Logger
from twisted.web.iweb import IRequest

from harbor_twisted.db import event_store
from harbor_twisted.db.quota_store import QuotaExceeded

if TYPE_CHECKING:
    from harbor_twisted.registry.app import RegistryApp

log = Logger(namespace="harbor_twisted.registry.quota_events")


async def quota_refused(app: RegistryApp, request: IRequest, repository: str, digest: str,
                        tag: str | None, refusal: QuotaExceeded) -> None:
    grant = getattr(request, "grant", None)
    operator = grant.subject if grant is not None and grant.subject else "anonymous"
    detail = {"event_data": {"custom_attributes": {"Details": str(refusal)}}}
    try:
        await app.db.run(event_store.record, event_store.QUOTA_EXCEED, repository, digest, tag,
                         operator, detail)
    except Exception:
        log.failure("recording the quota refusal of {repository} failed", repository=repository)
