"""``sample``: a job that waits and may fail on purpose (Harbor has one too).

Used to test the queue itself — leases, retries, stop — and to check that a job service
runs jobs at all. Parameters: ``seconds`` to wait, ``fail_attempts`` (the first N attempts
fail), ``marker`` (a file created when the job starts, so tests can see it running).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harbor_twisted.jobs.context import JobContext


def run_sample(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.log(f"sample job, attempt {ctx.attempt}")
    marker = params.get("marker")
    if marker:
        Path(str(marker)).write_text(str(ctx.attempt), encoding="utf-8")
    ctx.sleep(float(params.get("seconds", 0)))
    if ctx.attempt <= int(params.get("fail_attempts", 0)):
        raise RuntimeError(f"failing attempt {ctx.attempt} on purpose")
    ctx.log("sample job done")
    return {"attempt": ctx.attempt}
