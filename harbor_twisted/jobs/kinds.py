"""The job bodies a worker can run, by name, which body serves which vendor type, and the
hooks that run when a job of a kind ends for good (in the transaction recording it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from harbor_twisted.jobs import retention
from harbor_twisted.jobs.context import JobContext, JobOutcome
from harbor_twisted.jobs.gc import run_gc
from harbor_twisted.jobs.sample import run_sample
from harbor_twisted.replication import outcome as replication_outcome
from harbor_twisted.replication.job import run_replication
from harbor_twisted.webhooks.delivery import run_webhook

JobBody = Callable[[JobContext, dict[str, Any]], "dict[str, Any] | None"]
FinalHook = Callable[[Connection, JobOutcome], None]

GC_VENDOR = "GARBAGE_COLLECTION"
SAMPLE_VENDOR = "SAMPLE"
REPLICATION_VENDOR = "REPLICATION"
RETENTION_VENDOR = "RETENTION"

BODIES: dict[str, JobBody] = {"gc": run_gc, "sample": run_sample,
                              "replication": run_replication,
                              "retention": retention.run_retention, "webhook": run_webhook}
VENDOR_JOBS: dict[str, str] = {GC_VENDOR: "gc", SAMPLE_VENDOR: "sample",
                               REPLICATION_VENDOR: "replication", RETENTION_VENDOR: "retention"}
ON_FINAL: dict[str, FinalHook] = {"replication": replication_outcome.announce,
                                  "retention": retention.announce}
