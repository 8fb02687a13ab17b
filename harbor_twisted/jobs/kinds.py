"""What a job service can run: kinds by name, which kind serves which vendor type, the hook
that runs when a job of a kind ends for good (in the transaction recording it), and the
consumers of outbox events. The queue knows no kind itself: services.py registers them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from harbor_twisted.config import Config
from harbor_twisted.db.event_store import Event
from harbor_twisted.jobs.context import JobContext, JobOutcome

JobBody = Callable[[JobContext, dict[str, Any]], "dict[str, Any] | None"]
FinalHook = Callable[[Connection, JobOutcome], None]
# turns a batch of events into executions (in the consumer's transaction); how many it made
EventHandler = Callable[[Connection, Config, list[Event]], int]


@dataclass(frozen=True)
class JobKind:
    name: str
    body: JobBody
    vendor: str | None = None  # schedules of this vendor type start this kind
    on_final: FinalHook | None = None


@dataclass(frozen=True)
class EventConsumerKind:
    name: str  # for the log line: "events enqueued 3 replication …"
    handle: EventHandler


class JobKinds:
    """The registered kinds and event consumers of one job service."""

    def __init__(self, kinds: Iterable[JobKind] = (),
                 consumers: Iterable[EventConsumerKind] = ()) -> None:
        self.kinds = {kind.name: kind for kind in kinds}
        self.consumers = tuple(consumers)
        self._by_vendor = {kind.vendor: kind.name for kind in self.kinds.values() if kind.vendor}

    def body(self, name: str) -> JobBody | None:
        kind = self.kinds.get(name)
        return None if kind is None else kind.body

    def on_final(self, name: str) -> FinalHook | None:
        kind = self.kinds.get(name)
        return None if kind is None else kind.on_final

    def for_vendor(self, vendor_type: str) -> str:
        """The kind a schedule of ``vendor_type`` starts (KeyError when none is registered)."""
        return self._by_vendor[vendor_type]
