"""Workers: claim tasks from the database, run their bodies in threads, keep leases alive.

The reactor only polls, heartbeats and records outcomes (through ``Database.run``); bodies
run in a pool of ``max_job_workers`` threads. A heartbeat every third of the lease renews
it, flushes the task's log lines and brings stop requests to the body. A task whose
heartbeat finds the claim gone (its lease expired and another worker took it) is told to
stop and its outcome is dropped. A job kind may name a hook (``JobKind.on_final``) that runs
in the transaction recording a final outcome — replication and retention announce their end
in the event outbox that way.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection
from twisted.application import service
from twisted.internet import defer, reactor, task
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from harbor_twisted.common.clock import utcnow
from harbor_twisted.config import Config
from harbor_twisted.db import job_store
from harbor_twisted.db.engine import Database
from harbor_twisted.jobs.context import JobContext, JobOutcome, JobStopped
from harbor_twisted.jobs.kinds import JobKinds
from harbor_twisted.jobs.metrics import JobMetrics
from harbor_twisted.storage.base import BlobStore

_reactor = cast(IReactorFromThreads, reactor)  # the global reactor runs thread pools
log = Logger(namespace="harbor_twisted.jobs.worker")
MAX_BACKOFF_SECONDS = 3600.0
SHUTDOWN_GRACE_SECONDS = 15.0


def backoff_seconds(config: Config, attempt: int) -> float:
    """Exponential: base, twice the base, four times… capped at an hour."""
    return min(config.job_retry_backoff_seconds * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)


def finish(
    conn: Connection, config: Config, claim: job_store.ClaimedTask, status: str,
    message: str | None = None, result: dict[str, Any] | None = None,
    retry_at: datetime | None = None, kinds: JobKinds | None = None,
) -> bool:
    """Record the task's outcome; a final one also runs its kind's hook, atomically."""
    recorded = job_store.finish_task(conn, claim.id, claim.token, status, message, result,
                                     retry_at)
    hook = None if kinds is None else kinds.on_final(claim.job_name)
    if recorded and hook is not None and status in job_store.FINAL:
        outcome = JobOutcome(config, claim.execution_id, claim.parameters, status, result or {})
        try:
            with conn.begin_nested():  # a failing hook must not keep the outcome unrecorded
                hook(conn, outcome)
        except Exception:
            log.failure("the end-of-job hook of task {id} failed", id=claim.id)
    return recorded


@dataclass
class Running:
    claim: job_store.ClaimedTask
    ctx: JobContext
    done: defer.Deferred[Any]
    started: float = field(default_factory=time.monotonic)


class JobWorkers(service.Service):
    def __init__(self, config: Config, db: Database, blobs: BlobStore, kinds: JobKinds) -> None:
        self.kinds = kinds
        self.config = config
        self.db = db
        self.blobs = blobs
        self.capacity = config.max_job_workers
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ThreadPool(minthreads=0, maxthreads=self.capacity, name="jobs")
        self.tasks: dict[int, Running] = {}
        self.metrics = JobMetrics(kinds)
        self._polling = False
        self._poll_loop = task.LoopingCall(self.poll)
        self._beat_loop = task.LoopingCall(self.heartbeat)

    @property
    def lease(self) -> float:
        return float(self.config.job_lease_seconds)

    def startService(self) -> None:  # noqa: N802 - twisted's name
        super().startService()
        self.pool.start()
        self._poll_loop.start(self.config.job_poll_seconds, now=True).addErrback(
            lambda f: log.failure("job polling stopped", f))
        self._beat_loop.start(max(self.lease / 3, 0.2), now=False).addErrback(
            lambda f: log.failure("job heartbeats stopped", f))
        self.metrics.announce(self.capacity)
        log.info("job workers {worker} started ({n} threads)", worker=self.worker_id,
                 n=self.capacity)

    async def _stop(self) -> None:
        for loop in (self._poll_loop, self._beat_loop):
            if loop.running:
                loop.stop()
        for running in list(self.tasks.values()):
            running.ctx.shutting_down.set()
        pending = [r.done for r in self.tasks.values()]
        if pending:
            waiting = defer.DeferredList(pending, consumeErrors=True)
            waiting.addTimeout(SHUTDOWN_GRACE_SECONDS, reactor)
            try:
                await waiting
            except defer.TimeoutError:
                log.warn("job bodies still running at shutdown; their leases will expire")
        self.pool.stop()

    def stopService(self) -> defer.Deferred[None]:  # noqa: N802 - twisted's name
        super().stopService()
        return defer.ensureDeferred(self._stop())

    # -- claiming ---------------------------------------------------------------------------

    async def _poll(self) -> None:
        while len(self.tasks) < self.capacity and self._poll_loop.running:
            claim = await self.db.run(job_store.claim_task, self.worker_id, self.lease)
            if claim is None:
                return
            self._start(claim)

    def poll(self) -> defer.Deferred[None] | None:
        if self._polling:
            return None
        self._polling = True
        d = defer.ensureDeferred(self._poll())
        d.addErrback(lambda f: log.failure("claiming a job failed", f))

        def done(result: object) -> object:
            self._polling = False
            return result

        d.addBoth(done)
        return d

    def _start(self, claim: job_store.ClaimedTask) -> None:
        ctx = JobContext(claim.id, claim.execution_id, claim.attempts, claim.parameters,
                         self.db, self.blobs, self.config)
        log.info("task {id} ({name}) attempt {attempt} claimed", id=claim.id,
                 name=claim.job_name, attempt=claim.attempts)
        done = deferToThreadPool(_reactor, self.pool, self._body, claim, ctx)
        running = Running(claim, ctx, done)
        self.tasks[claim.id] = running
        done.addBoth(lambda outcome: defer.ensureDeferred(self._finished(running, outcome)))

    def _body(self, claim: job_store.ClaimedTask, ctx: JobContext) -> Any:
        if claim.attempts > claim.max_retries + 1:
            raise RuntimeError("the job's worker was lost on its last allowed attempt")
        body = self.kinds.body(claim.job_name)
        if body is None:
            raise RuntimeError(f"no job named {claim.job_name!r}")
        return body(ctx, claim.parameters)

    # -- outcomes ---------------------------------------------------------------------------

    async def _finished(self, running: Running, outcome: Any) -> None:
        claim, ctx = running.claim, running.ctx
        try:
            await self.db.run(job_store.append_log, claim.id, ctx.take_lines())
            if ctx.lease_lost.is_set():
                log.warn("task {id}: lease lost; outcome dropped", id=claim.id)
            elif isinstance(outcome, Failure):
                await self._failed(claim, ctx, outcome)
            else:
                await self._finish(claim, job_store.SUCCESS, None,
                                  outcome or {})
                log.info("task {id} succeeded", id=claim.id)
        except Exception:
            log.failure("recording the outcome of task {id} failed", id=claim.id)
        finally:
            self.tasks.pop(claim.id, None)
        if self._poll_loop.running:
            self.poll()

    async def _failed(
        self, claim: job_store.ClaimedTask, ctx: JobContext, failure: Failure
    ) -> None:
        error = failure.value
        if isinstance(error, JobStopped):
            if ctx.stop_requested.is_set():
                await self.db.run(job_store.append_log, claim.id, [(utcnow(), "stopped")])
                await self._finish(claim, job_store.STOPPED,
                                  "stopped on request")
            else:
                await self.db.run(job_store.release_task, claim.id, claim.token)
            return
        message = f"{type(error).__name__}: {error}"
        lines = [(utcnow(), f"attempt {claim.attempts} failed: {message}")]
        lines += [(utcnow(), line) for line in traceback.format_exception(error)[-3:]]
        await self.db.run(job_store.append_log, claim.id, lines)
        if claim.attempts <= claim.max_retries:
            delay = backoff_seconds(self.config, claim.attempts)
            await self._finish(claim, job_store.PENDING,
                              f"{message}; retry in {delay:.0f}s", None,
                              utcnow() + timedelta(seconds=delay))
            log.warn("task {id} failed ({m}); retry in {d}s", id=claim.id, m=message, d=delay)
        else:
            await self._finish(claim, job_store.ERROR, message)
            log.warn("task {id} failed for good: {m}", id=claim.id, m=message)

    async def _finish(self, claim: job_store.ClaimedTask, status: str,
                      message: str | None = None, result: dict[str, Any] | None = None,
                      retry_at: datetime | None = None) -> None:
        recorded = await self.db.run(finish, self.config, claim, status, message, result,
                                     retry_at, self.kinds)
        running = self.tasks.get(claim.id)
        if recorded and running is not None:
            self.metrics.task_done(claim.job_name, status, time.monotonic() - running.started)

    # -- heartbeats -------------------------------------------------------------------------

    def heartbeat(self) -> defer.Deferred[None]:
        d = defer.ensureDeferred(self._heartbeat())
        d.addErrback(lambda f: log.failure("job heartbeat failed", f))
        return d

    async def _heartbeat(self) -> None:
        for running in list(self.tasks.values()):
            claim, ctx = running.claim, running.ctx
            await self.db.run(job_store.append_log, claim.id, ctx.take_lines())
            state = await self.db.run(job_store.heartbeat, claim.id, claim.token, self.lease)
            if state is None:
                ctx.lease_lost.set()
            elif state:
                ctx.stop_requested.set()

