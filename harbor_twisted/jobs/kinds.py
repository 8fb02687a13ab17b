"""The job bodies a worker can run, by name, and which body serves which vendor type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harbor_twisted.jobs.context import JobContext
from harbor_twisted.jobs.gc import run_gc
from harbor_twisted.jobs.sample import run_sample

JobBody = Callable[[JobContext, dict[str, Any]], "dict[str, Any] | None"]

GC_VENDOR = "GARBAGE_COLLECTION"
SAMPLE_VENDOR = "SAMPLE"

BODIES: dict[str, JobBody] = {"gc": run_gc, "sample": run_sample}
VENDOR_JOBS: dict[str, str] = {GC_VENDOR: "gc", SAMPLE_VENDOR: "sample"}
