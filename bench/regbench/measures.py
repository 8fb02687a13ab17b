"""What we measure: each measure runs once against one server and returns its figures."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import client, cpu, wrk
from .payload import Blob, Payload, small_blob
from .rss import RssSampler, hwm_mib, tree_rss_mib
from .servers import HOST, RunningServer

MB = 1_000_000
MiB = 1024 * 1024


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    unit: str
    higher_is_better: bool
    comparable: bool = True  # False: a ratio would be noise (near-zero values, error counts)


@dataclass(frozen=True)
class Settings:
    big_bytes: int = 256 * MiB
    rss_bytes: int = 2048 * MiB
    patch_chunk: int = 32 * MiB
    stream_chunk: int = 32 * 1024  # Go's io.Copy buffer: what the docker daemon sends
    pull_repeats: int = 3
    pull_buffer: int = 1 * MiB
    wrk_threads: int = 2
    wrk_connections: int = 32
    wrk_seconds: int = 5
    wrk_warmup_seconds: int = 1
    rss_interval: float = 0.05


@dataclass
class Context:
    settings: Settings
    big: Payload | None = None
    huge: Payload | None = None
    pushed: dict[str, Blob] = field(default_factory=dict)  # label -> a big blob it holds
    images: dict[str, str] = field(default_factory=dict)  # label -> manifest digest

    def new_round(self) -> None:
        """Servers restart with empty storage every round."""
        self.pushed.clear()
        self.images.clear()

    def big_payload(self) -> Payload:
        if self.big is None:
            raise RuntimeError("the big payload was not generated")
        return self.big

    def huge_payload(self) -> Payload:
        if self.huge is None:
            raise RuntimeError("the RSS payload was not generated")
        return self.huge


Figures = dict[str, float]
Run = Callable[[RunningServer, Context], Figures]


@dataclass(frozen=True)
class Measure:
    name: str
    metrics: tuple[Metric, ...]
    run: Run
    needs_big: bool = False
    needs_huge: bool = False


# Under `library/`, the project every harbor-twisted has (Distribution takes any name).
PUSH_REPO = "library/bench-push"
IMAGE_REPO = "library/bench-image"


def _mbps(size: int, seconds: float) -> float:
    return size / MB / seconds


def _settle() -> None:
    """Flush the previous step's dirty pages so they are not written during this one."""
    os.sync()


@dataclass(frozen=True)
class Timed:
    seconds: float
    baseline_mib: float  # server RSS just before the push
    peak_mib: float  # highest server RSS sampled during it

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.baseline_mib


def _timed_push(
    server: RunningServer, ctx: Context, blob: Blob, push: Callable[..., None], *args: int
) -> Timed:
    """One push on a fresh connection, timed from POST to the 201, server RSS sampled."""
    _settle()
    baseline = tree_rss_mib(server.pid)
    conn = client.connect(server.port)
    try:
        with RssSampler(server.pid, ctx.settings.rss_interval) as sampler:
            started = time.perf_counter()
            push(conn, PUSH_REPO, blob, *args)
            seconds = time.perf_counter() - started
    finally:
        conn.close()
    peak = max(baseline, sampler.peak_mib)
    return Timed(seconds=seconds, baseline_mib=baseline, peak_mib=peak)


def _push_figures(prefix: str, blob: Blob, timed: Timed) -> Figures:
    return {
        f"{prefix}_mbps": _mbps(blob.size, timed.seconds),
        f"{prefix}_rss_growth_mib": timed.growth_mib,
    }


def push_mono(server: RunningServer, ctx: Context) -> Figures:
    blob = ctx.big_payload().blob()
    timed = _timed_push(server, ctx, blob, client.push_monolithic)
    ctx.pushed[server.spec.label] = blob
    return _push_figures("push_mono", blob, timed)


def push_chunked(server: RunningServer, ctx: Context) -> Figures:
    blob = ctx.big_payload().blob()
    timed = _timed_push(server, ctx, blob, client.push_chunked, ctx.settings.patch_chunk)
    return _push_figures("push_chunked", blob, timed)


def push_stream(server: RunningServer, ctx: Context) -> Figures:
    blob = ctx.big_payload().blob()
    timed = _timed_push(server, ctx, blob, client.push_streamed, ctx.settings.stream_chunk)
    return _push_figures("push_stream", blob, timed)


def _blob_on(server: RunningServer, ctx: Context) -> Blob:
    """A big blob the server holds: this round's monolithic one, or a new one (untimed)."""
    blob = ctx.pushed.get(server.spec.label)
    if blob is None:
        blob = ctx.big_payload().blob()
        _timed_push(server, ctx, blob, client.push_monolithic)
        ctx.pushed[server.spec.label] = blob
    return blob


def pull(server: RunningServer, ctx: Context) -> Figures:
    blob = _blob_on(server, ctx)
    _settle()
    conn = client.connect(server.port)
    try:
        started = time.perf_counter()
        for _ in range(ctx.settings.pull_repeats):
            got = client.pull(conn, PUSH_REPO, blob.digest, ctx.settings.pull_buffer)
            if got != blob.size:
                raise client.ProtocolError(f"pulled {got} bytes of {blob.size}")
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return {"pull_mbps": _mbps(blob.size * ctx.settings.pull_repeats, seconds)}


def push_image(server: RunningServer, repo: str, tag: str) -> str:
    """A small image (config + one layer), checked by reading it back; its manifest digest."""
    layer = small_blob(os.urandom(4096))
    config = small_blob(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}')
    conn = client.connect(server.port)
    try:
        for data, digest in (config, layer):
            client.push_bytes(conn, repo, data, digest)
            if client.fetch(conn, repo, digest) != data:
                raise client.ProtocolError(f"{digest} came back different")
        digest = client.put_manifest(conn, repo, tag, client.image_manifest(config, layer))
        reply = client.expect(client.get_manifest(conn, repo, tag), 200, "GET manifest")
    finally:
        conn.close()
    if digest and reply.header("Docker-Content-Digest") not in ("", digest):
        raise client.ProtocolError("GET manifest: digest differs from the PUT's")
    return digest


def warm_up(server: RunningServer, ctx: Context) -> None:
    """First requests after a start (imports, caches), and a check that the server works."""
    ctx.images[server.spec.label] = push_image(server, IMAGE_REPO, "v1")


def manifest_load(server: RunningServer, ctx: Context) -> Figures:
    if server.spec.label not in ctx.images:
        warm_up(server, ctx)
    settings = ctx.settings
    url = f"http://{HOST}:{server.port}/v2/{IMAGE_REPO}/manifests/v1"
    headers = {"Accept": client.MANIFEST_ACCEPT, **client.auth_headers(server.port, IMAGE_REPO)}
    load = (settings.wrk_threads, settings.wrk_connections)
    wrk.run(url, headers, *load, settings.wrk_warmup_seconds)
    _settle()
    result = wrk.run(url, headers, *load, settings.wrk_seconds)
    return {
        "manifest_rps": result.requests_per_s,
        "manifest_p50_ms": result.p50_ms,
        "manifest_p99_ms": result.p99_ms,
        "manifest_errors": float(result.errors),
    }


def rss_upload(server: RunningServer, ctx: Context) -> Figures:
    blob = ctx.huge_payload().blob()
    timed = _timed_push(server, ctx, blob, client.push_monolithic)
    return {
        "rss_push_mbps": _mbps(blob.size, timed.seconds),
        "rss_baseline_mib": timed.baseline_mib,
        "rss_peak_mib": timed.peak_mib,
        "rss_growth_mib": timed.growth_mib,
        "rss_hwm_mib": hwm_mib(server.pid),
    }


CLIENT_COUNTS = (1, 4, 8)


def _together(server: RunningServer, clients: int, work: Callable[[int], None]
              ) -> tuple[float, float]:
    """``work(i)`` in ``clients`` threads at once, each on its own connection; the wall
    seconds from their common start to the last one's end, and the server's CPU use over
    them in % of one core (all its processes)."""
    _settle()
    start = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            work(index)
        except BaseException as error:  # raised again in the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu.server_seconds(server.pid)
    started = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return seconds, (cpu.server_seconds(server.pid) - cpu_before) / seconds * 100


def push_together(clients: int) -> Run:
    """Each client pushes its own big blob (monolithic) to its own repository."""

    def measure(server: RunningServer, ctx: Context) -> Figures:
        blobs = [ctx.big_payload().blob() for _ in range(clients)]

        def push(index: int) -> None:
            conn = client.connect(server.port)
            try:
                client.push_monolithic(conn, f"{PUSH_REPO}-{index}", blobs[index])
            finally:
                conn.close()

        seconds, cpu_percent = _together(server, clients, push)
        total = sum(blob.size for blob in blobs)
        return {f"push_x{clients}_mbps": _mbps(total, seconds),
                f"push_x{clients}_cpu": cpu_percent}

    return measure


def pull_together(clients: int) -> Run:
    """Each client pulls the round's big blob once, at the same time."""

    def measure(server: RunningServer, ctx: Context) -> Figures:
        blob = _blob_on(server, ctx)

        def fetch(_index: int) -> None:
            conn = client.connect(server.port)
            try:
                got = client.pull(conn, PUSH_REPO, blob.digest, ctx.settings.pull_buffer)
            finally:
                conn.close()
            if got != blob.size:
                raise client.ProtocolError(f"pulled {got} bytes of {blob.size}")

        seconds, cpu_percent = _together(server, clients, fetch)
        return {f"pull_x{clients}_mbps": _mbps(blob.size * clients, seconds),
                f"pull_x{clients}_cpu": cpu_percent}

    return measure


def disk_write(server: RunningServer, ctx: Context) -> Figures:
    """The disk's own rate: the big blob's size written to the server's filesystem and
    fdatasynced (what a monolithic push can at best reach)."""
    _settle()
    path = server.workdir / "disk-rate.bin"
    block = os.urandom(MiB)
    size = ctx.settings.big_bytes
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size // MiB):
            os.write(fd, block)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - started
    path.unlink()
    return {"disk_mbps": _mbps(size, seconds)}


def sha256_rate(server: RunningServer, ctx: Context) -> Figures:
    """SHA-256 over the big blob's size on one core, from memory: a push's other limit.

    A registry verifies each blob's digest before it acknowledges it, and SHA-256 is
    sequential, so no server can take one blob faster than one core hashes it."""
    _settle()
    block = os.urandom(MiB)
    hasher = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(ctx.settings.big_bytes // MiB):
        hasher.update(block)
    seconds = time.perf_counter() - started
    return {"sha256_mbps": _mbps(ctx.settings.big_bytes, seconds)}


def _together_measures() -> tuple[Measure, ...]:
    made = []
    for kind, title, run in (("push", "blob push, monolithic", push_together),
                             ("pull", "blob pull", pull_together)):
        for clients in CLIENT_COUNTS:
            made.append(Measure(
                f"{kind}-x{clients}",
                (_m(f"{kind}_x{clients}_mbps", f"{title}, {clients} clients at once", "MB/s"),
                 _m(f"{kind}_x{clients}_cpu", "  server CPU (% of one core)", "%", False,
                    False)),
                run(clients),
                needs_big=True,
            ))
    return tuple(made)


def _m(
    key: str, title: str, unit: str, higher_is_better: bool = True, comparable: bool = True
) -> Metric:
    return Metric(key, title, unit, higher_is_better, comparable)


def _push_metrics(prefix: str, title: str) -> tuple[Metric, ...]:
    return (
        _m(f"{prefix}_mbps", title, "MB/s"),
        _m(f"{prefix}_rss_growth_mib", "  server RSS growth during it", "MiB", False, False),
    )


MEASURES: tuple[Measure, ...] = (
    Measure(
        "push-mono",
        _push_metrics("push_mono", "blob push, monolithic PUT"),
        push_mono,
        needs_big=True,
    ),
    Measure(
        "push-chunked",
        _push_metrics("push_chunked", "blob push, PATCHes with Content-Range"),
        push_chunked,
        needs_big=True,
    ),
    Measure(
        "push-stream",
        _push_metrics("push_stream", "blob push, one chunked-TE PATCH (docker)"),
        push_stream,
        needs_big=True,
    ),
    Measure("pull", (_m("pull_mbps", "blob pull", "MB/s"),), pull, needs_big=True),
    Measure(
        "manifest",
        (
            _m("manifest_rps", "manifest GET under load", "req/s"),
            _m("manifest_p50_ms", "  latency p50", "ms", False),
            _m("manifest_p99_ms", "  latency p99", "ms", False),
            _m("manifest_errors", "  non-2xx and socket errors", "count", False, False),
        ),
        manifest_load,
    ),
    Measure(
        "rss",
        (
            _m("rss_push_mbps", "big blob push, monolithic PUT", "MB/s"),
            _m("rss_baseline_mib", "  server RSS before it", "MiB", False),
            _m("rss_peak_mib", "  server RSS peak during it", "MiB", False),
            _m("rss_growth_mib", "  server RSS growth", "MiB", False, False),
            _m("rss_hwm_mib", "  server VmHWM since start", "MiB", False),
        ),
        rss_upload,
        needs_huge=True,
    ),
    Measure("disk", (_m("disk_mbps", "disk write + fdatasync (no server)", "MB/s"),),
            disk_write, needs_big=True),
    Measure("sha256", (_m("sha256_mbps", "SHA-256 on one core (no server)", "MB/s"),),
            sha256_rate),
    *_together_measures(),
)


def describe_settings(settings: Settings) -> str:
    return (
        f"big blob {settings.big_bytes // MiB} MiB (pulled {settings.pull_repeats}x per round), "
        f"PATCH chunks {settings.patch_chunk // MiB} MiB, TE chunks {settings.stream_chunk // 1024}"
        f" KiB, RSS blob {settings.rss_bytes // MiB} MiB, wrk -t{settings.wrk_threads} "
        f"-c{settings.wrk_connections} -d{settings.wrk_seconds}s"
    )


def by_name(names: list[str]) -> list[Measure]:
    known = {measure.name: measure for measure in MEASURES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown measure(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [measure for measure in MEASURES if measure.name in names]  # canonical order
