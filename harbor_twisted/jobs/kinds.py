"""The job bodies a worker can run, by name, and which body serves which vendor type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harbor_twisted.jobs.context import JobContext
from harbor_twisted.jobs.gc import run_gc
from harbor_twisted.jobs.retention import run_retention
from harbor_twisted.jobs.sample import run_sample
from harbor_twisted.replication.job import run_replication

JobBody = Callable[[JobContext, dict[str, Any]], "dict[str, Any] | None"]

GC_VENDOR = "GARBAGE_COLLECTION"
SAMPLE_VENDOR = "SAMPLE"
REPLICATION_VENDOR = "REPLICATION"
RETENTION_VENDOR = "RETENTION"

BODIES: dict[str, JobBody] = {"gc": run_gc, "sample": run_sample,
                              "replication": run_replication, "retention": run_retention}
VENDOR_JOBS: dict[str, str] = {GC_VENDOR: "gc", SAMPLE_VENDOR: "sample",
                               REPLICATION_VENDOR: "replication", RETENTION_VENDOR: "retention"}
