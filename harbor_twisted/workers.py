"""Several worker processes of one kind on one listening socket (``workers: N``).

The parent binds the socket once, starts N copies of its own command, each adopting the
socket, and supervises them: a worker that dies is started again, SIGTERM and SIGINT are
passed on and the parent waits for every worker to finish its requests. The socket stays
open in the parent, so connections that arrive while a worker restarts wait in the
kernel's queue instead of being refused.

Worker 0 starts alone first: it migrates the schema, creates the token signing key and the
admin user, and only once it serves do the others start (told not to migrate). In the
all-in-one only worker 0 runs the job service; the scheduler, the claims and the leases
are safe across processes anyway (the split deployment already relies on them).

What each worker keeps for itself, and why that is right:
- uploads live on disk under a flock (any worker resumes any upload; only the running hash
  is per process, and a commit in another worker re-hashes the stored bytes);
- digest locks are flocks in the data directory, shared by every process;
- the verified-credential cache and the settings are re-read like a split deployment's
  (``settings_refresh_seconds``; a changed password is refused by the worker that changed
  it at once and by the others within the cache's minute);
- pull audit batches are flushed by each worker on stop;
- metrics (``metrics_enabled``): the parent binds the metrics port too and every worker
  adopts it, so whichever worker the kernel hands a scrape answers it with the values of all
  of them (prometheus_client's multiprocess mode over a directory the parent creates and
  removes; common/metrics.py says why).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

from twisted.application import service
from twisted.internet import defer, reactor, task, tcp
from twisted.internet.interfaces import IProtocolFactory
from twisted.logger import Logger

from harbor_twisted.common import metrics
from harbor_twisted.config import Config

log = Logger(namespace="harbor_twisted.workers")

LISTEN_FD_ENV = "HARBOR_TWISTED_LISTEN_FD"
METRICS_FD_ENV = "HARBOR_TWISTED_METRICS_FD"
WORKER_ENV = "HARBOR_TWISTED_WORKER"
READY_FD_ENV = "HARBOR_TWISTED_READY_FD"
PARENT_ENV = "HARBOR_TWISTED_SUPERVISOR"
STOP_GRACE_SECONDS = 30.0
QUICK_DEATH_SECONDS = 5.0  # a worker that dies sooner than this after its start…
QUICK_DEATHS_ALLOWED = 5  # …this many times in a row stops the whole service


def worker_index() -> int | None:
    """This process's worker number, None when it is not one of several workers."""
    text = os.environ.get(WORKER_ENV)
    return int(text) if text else None


def runs_once_per_host() -> bool:
    """Whether parts that need one copy per host (the job service) run in this process."""
    return worker_index() in (None, 0)


class _FairPort(tcp.Port):
    """Accepts one connection per wake-up, so idle workers pick up the next ones.

    Twisted accepts as many as are queued; on a shared socket the first worker awake would
    take a whole burst of clients and leave the other cores idle.
    """

    @property  # an attribute in tcp.Port
    def numberAccepts(self) -> int:  # noqa: N802 - twisted's name
        return 1

    @numberAccepts.setter
    def numberAccepts(self, _value: int) -> None:  # noqa: N802 - twisted's name
        pass


class AdoptedPortService(service.Service):
    """Serves ``site`` (the web site, or it behind TLS) on the socket the parent bound and
    passed down."""

    def __init__(self, site: IProtocolFactory, fd: int, ipv6: bool, watch_parent: bool = True
                 ) -> None:
        self.site = site
        self.watch_parent = watch_parent  # one port per worker watches (it stops the reactor)
        self.fd = fd
        self.family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self.port: tcp.Port | None = None
        self._waitingForPort: defer.Deferred[tcp.Port] | None = None  # as twisted's names it
        # from the parent itself: a parent gone before this worker got here would otherwise
        # be taken for init, and never missed
        self._parent = int(os.environ.get(PARENT_ENV) or os.getppid())
        self._orphan_check = task.LoopingCall(self._stop_if_orphaned)

    def _stop_if_orphaned(self) -> None:
        """A parent killed outright cannot stop its workers: they notice and stop."""
        if os.getppid() != self._parent and self.running:
            log.warn("the supervising process is gone; stopping")
            self._orphan_check.stop()
            reactor.stop()

    def startService(self) -> None:  # noqa: N802 - twisted's name
        super().startService()
        self.port = _FairPort._fromListeningDescriptor(reactor, self.fd, self.family, self.site)
        self.port.startListening()
        os.close(self.fd)  # the port holds its own duplicate
        self._waitingForPort = defer.succeed(self.port)
        if self.watch_parent:
            self._orphan_check.start(1.0, now=False)

    def stopService(self) -> defer.Deferred[None] | None:  # noqa: N802 - twisted's name
        super().stopService()
        if self._orphan_check.running:
            self._orphan_check.stop()
        if self.port is None:
            return None
        return defer.maybeDeferred(self.port.stopListening)


def adopted_port_service(site: IProtocolFactory, ipv6: bool, fd_env: str = LISTEN_FD_ENV,
                         watch_parent: bool = True) -> AdoptedPortService | None:
    """The listening service of a worker on the socket named by ``fd_env``; None when this
    process binds its own port."""
    text = os.environ.get(fd_env)
    return AdoptedPortService(site, int(text), ipv6, watch_parent) if text else None


def worker_header() -> bytes | None:
    """What a worker names itself by in the ``X-Harbor-Worker`` response header."""
    index = worker_index()
    return None if index is None else str(index).encode()


def announce_ready() -> None:
    """Tell the parent this worker serves (worker 0's signal to start the others)."""
    text = os.environ.pop(READY_FD_ENV, None)
    if text:
        with contextlib.suppress(OSError):
            os.write(int(text), b"1")
        os.close(int(text))


def bind(config: Config) -> socket.socket:
    return _bind(config.listen_address, config.port)


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(1024)
    # shared by every worker's copy: a worker woken for a connection another took must get
    # EAGAIN, not block its reactor in accept()
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts, restarts and stops the workers; blocking, without a reactor."""

    def __init__(self, argv: Sequence[str], count: int, sock: socket.socket,
                 metrics_sock: socket.socket | None = None) -> None:
        self.argv = list(argv)
        self.count = count
        self.sock = sock
        self.metrics_sock = metrics_sock
        self.children: dict[int, tuple[int, float, subprocess.Popen[bytes]]] = {}
        self.stopping = False
        self.quick_deaths = 0

    def _spawn(self, index: int, ready_fd: int | None = None) -> None:
        fd = self.sock.fileno()
        env = dict(os.environ, HT_WORKERS="1", **{LISTEN_FD_ENV: str(fd), WORKER_ENV: str(index),
                                                   PARENT_ENV: str(os.getpid())})
        if index > 0:
            env["HT_AUTO_MIGRATE"] = "false"  # worker 0 migrated before the others started
        fds: tuple[int, ...] = (fd,)
        if self.metrics_sock is not None:
            env[METRICS_FD_ENV] = str(self.metrics_sock.fileno())
            fds += (self.metrics_sock.fileno(),)
        if ready_fd is not None:
            env[READY_FD_ENV] = str(ready_fd)
            fds += (ready_fd,)
        # a group of its own: a terminal's Ctrl-C reaches the parent alone, which passes it
        # on once (a second signal would make twisted stop a stopping reactor)
        child = subprocess.Popen(self.argv, env=env, pass_fds=fds, process_group=0)
        self.children[child.pid] = (index, time.monotonic(), child)

    def _start_first(self) -> bool:
        """Worker 0 alone, until it serves: one-time start work must not race."""
        read_end, write_end = os.pipe()
        try:
            self._spawn(0, write_end)
        finally:
            os.close(write_end)
        # One byte once it serves; end of file if it exits first. A signal meanwhile stops
        # it (``stop``), which ends the wait too. No time limit: a first start may migrate
        # a large database.
        try:
            return os.read(read_end, 1) == b"1"
        finally:
            os.close(read_end)

    def stop(self, signum: int, _frame: FrameType | None = None) -> None:
        if self.stopping:
            return
        self.stopping = True
        log.warn("stopping {count} workers (signal {signum})", count=len(self.children),
                 signum=signum)
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        timer = threading.Timer(STOP_GRACE_SECONDS, self._kill_all)
        timer.daemon = True
        timer.start()

    def _kill_all(self) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _reap(self, pid: int, status: int) -> None:
        entry = self.children.pop(pid, None)
        if entry is None:
            return
        index, started, child = entry
        child.returncode = os.waitstatus_to_exitcode(status)
        directory = metrics.multiprocess_dir()
        if directory is not None:
            metrics.forget_process(pid, directory)
        if self.stopping:
            return
        quick = time.monotonic() - started < QUICK_DEATH_SECONDS
        self.quick_deaths = self.quick_deaths + 1 if quick else 0
        log.error("worker {index} (pid {pid}) exited with {code}; starting it again",
                  index=index, pid=pid, code=child.returncode)
        if self.quick_deaths > QUICK_DEATHS_ALLOWED:
            log.critical("workers keep dying at start; stopping")
            self.stop(signal.SIGTERM)
            return
        if quick:
            time.sleep(1.0)
        self._spawn(index)

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)
        if not self._start_first():
            self.stop(signal.SIGTERM)
            self._wait_all()
            print("harbor-twisted: cannot start: worker 0 did not start", file=sys.stderr)
            return 1
        for index in range(1, self.count):
            if not self.stopping:
                self._spawn(index)
        log.warn("{count} workers share {address}", count=self.count,
                 address=self.sock.getsockname()[:2])
        self._wait_all()
        return 0

    def _wait_all(self) -> None:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            self._reap(pid, status)


def run_workers(config: Config, argv: Sequence[str], start_logging: Any) -> int:
    """Run ``argv`` (this process's own command) as ``config.workers`` workers."""
    start_logging(config.log_level, config.log_format)
    try:
        sock = bind(config)
    except OSError as exc:
        print(f"harbor-twisted: cannot listen on {config.listen_address}:{config.port}: "
              f"{exc.strerror}", file=sys.stderr)
        return 1
    with sock, _metrics_socket(config) as metrics_sock, _multiprocess_metrics(config):
        return Supervisor(argv, config.workers, sock, metrics_sock).run()


@contextlib.contextmanager
def _metrics_socket(config: Config) -> Iterator[socket.socket | None]:
    if not config.metrics_enabled:
        yield None
        return
    try:
        sock = _bind(config.effective_metrics_address, config.metrics_port)
    except OSError as exc:
        raise SystemExit(f"harbor-twisted: cannot listen on {config.effective_metrics_address}:"
                         f"{config.metrics_port} for metrics: {exc.strerror}") from None
    with sock:
        yield sock


@contextlib.contextmanager
def _multiprocess_metrics(config: Config) -> Iterator[None]:
    """A fresh directory for the workers' metric files, named to them by the environment
    (inherited by every worker started later), removed when the workers are gone."""
    if not config.metrics_enabled:
        yield
        return
    base = os.environ.get("RUNTIME_DIRECTORY") or (
        "/dev/shm" if os.access("/dev/shm", os.W_OK) else None)  # memory, not disk
    directory = tempfile.mkdtemp(prefix="harbor-twisted-metrics-", dir=base)
    os.environ[metrics.MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(metrics.MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
