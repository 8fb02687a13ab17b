"""Benchmark our registry against Docker Distribution, side by side, in interleaved rounds.

    .venv/bin/python bench/run.py [--quick] [--rounds N] [--only NAME[,NAME]] [--ours KIND]

See bench/README.md for what each measure does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path

from regbench import client, cpu, measures, report, servers, wrk
from regbench.measures import MEASURES, Context, Measure, Settings
from regbench.payload import make_payload
from regbench.servers import RunningServer, ServerSpec

MiB = 1024 * 1024
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
LABELS = ("ours", "theirs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds, smaller blobs, short wrk")
    parser.add_argument("--rounds", type=int, help="rounds per server (default 5, quick 2)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these measures (repeat or comma-separate): "
        f"{', '.join(m.name for m in MEASURES)}",
    )
    parser.add_argument(
        "--ours",
        choices=servers.KINDS,
        default="harbor",
        help="what runs in the 'ours' column; 'distribution' gives an A/A run that shows noise",
    )
    parser.add_argument("--ours-bin", type=Path, help="binary for 'ours' (default by kind)")
    parser.add_argument(
        "--ours-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a key in our server's config file (VALUE read as JSON if it parses)",
    )
    parser.add_argument(
        "--ours-auth",
        choices=("none", "token"),
        default="none",
        help="token: ours runs Docker token auth (Distribution stays anonymous, which favours it)",
    )
    parser.add_argument(
        "--ours-front",
        choices=servers.FRONTS,
        default="none",
        help="nginx: ours behind nginx with blob_serving: x-accel-redirect, as the role "
        "deploys it (every measure goes through nginx); haproxy: --ours-hosts service "
        "processes behind HAProxy, balanced as roles/load_balancer deploys it",
    )
    parser.add_argument("--ours-hosts", type=int, default=1,
                        help="with --ours-front haproxy: service processes behind it")
    parser.add_argument("--theirs-front", choices=servers.FRONTS, default="none",
                        help="with --theirs harbor: as --ours-front, for that server")
    parser.add_argument("--theirs-hosts", type=int, default=1,
                        help="with --theirs-front haproxy: service processes behind it")
    parser.add_argument("--theirs-bin", type=Path, help="binary for 'theirs' (default by kind)")
    parser.add_argument(
        "--theirs",
        choices=servers.KINDS,
        default="distribution",
        help="what runs in the 'theirs' column; 'harbor' compares two configurations of ours "
        "(e.g. --ours-set storage_driver=s3 ... against the filesystem)",
    )
    parser.add_argument(
        "--theirs-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --theirs harbor: set a key in that server's config file",
    )
    parser.add_argument("--blob-mib", type=int, help="big blob size (default 256, quick 64)")
    parser.add_argument("--rss-mib", type=int, help="RSS-test blob size (default 2048, quick 512)")
    parser.add_argument(
        "--te-chunk-kib", type=int, default=32, help="chunk size of the docker-style PATCH"
    )
    parser.add_argument("--wrk-seconds", type=int, help="manifest load duration (default 5)")
    parser.add_argument("--workdir", type=Path, help="where payloads and data dirs go (temp)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    return parser.parse_args(argv)


def selected_measures(only: list[str]) -> list[Measure]:
    names = [name.strip() for item in only for name in item.split(",") if name.strip()]
    return measures.by_name(names) if names else list(MEASURES)


def settings_from(args: argparse.Namespace) -> Settings:
    quick = args.quick
    return Settings(
        big_bytes=(args.blob_mib or (64 if quick else 256)) * MiB,
        rss_bytes=(args.rss_mib or (512 if quick else 2048)) * MiB,
        stream_chunk=args.te_chunk_kib * 1024,
        wrk_seconds=args.wrk_seconds or (3 if quick else 5),
    )


def config_overrides(items: list[str]) -> dict[str, object]:
    overrides: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            sys.exit(f"--ours-set {item!r}: expected KEY=VALUE")
        try:
            overrides[key] = json.loads(text)
        except json.JSONDecodeError:
            overrides[key] = text
    return overrides


def server_specs(args: argparse.Namespace) -> list[ServerSpec]:
    ours_binary = args.ours_bin or _default_binary(args.ours)
    return [
        ServerSpec(
            LABELS[0],
            args.ours,
            ours_binary,
            {"registry_auth": args.ours_auth, **config_overrides(args.ours_set)},
            front=args.ours_front,
            hosts=args.ours_hosts,
        ),
        ServerSpec(
            LABELS[1],
            args.theirs,
            args.theirs_bin or _default_binary(args.theirs),
            {"registry_auth": args.ours_auth, **config_overrides(args.theirs_set)}
            if args.theirs == "harbor" else {},
            front=args.theirs_front if args.theirs == "harbor" else "none",
            hosts=args.theirs_hosts,
        ),
    ]


def _default_binary(kind: str) -> Path:
    return servers.HARBOR_BIN if kind == "harbor" else servers.DISTRIBUTION_BIN


def _storage_of(spec: ServerSpec) -> str:
    return str(spec.overrides.get("storage_driver", "filesystem"))


def _front_of(spec: ServerSpec) -> str:
    if spec.front == "haproxy":
        return f"haproxy+{spec.hosts}"
    return spec.front if spec.front != "none" else "direct"


def column_headers(specs: list[ServerSpec]) -> tuple[str, str]:
    ours, theirs = specs
    if ours.kind == theirs.kind == "harbor":  # two configurations: name what differs
        if (ours.front, ours.hosts) != (theirs.front, theirs.hosts):
            return f"ours[{_front_of(ours)}]", f"ours[{_front_of(theirs)}]"
        return f"ours[{_storage_of(ours)}]", f"ours[{_storage_of(theirs)}]"
    first = "ours" if ours.kind == "harbor" else f"ours[{ours.kind}]"
    return first, theirs.kind


def check_tools(specs: list[ServerSpec], chosen: list[Measure]) -> None:
    missing = [str(s.binary) for s in specs if not os.access(s.binary, os.X_OK)]
    if any(s.front == "nginx" for s in specs) and not os.access(servers.NGINX_BIN, os.X_OK):
        missing.append(f"{servers.NGINX_BIN} (apt-get install nginx-light)")
    if any(s.front == "haproxy" for s in specs) and not os.access(servers.HAPROXY_BIN, os.X_OK):
        missing.append(f"{servers.HAPROXY_BIN} (apt-get install haproxy)")
    if any(m.name == "manifest" for m in chosen) and shutil.which("wrk") is None:
        missing.append("wrk")
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (scripts/setup-host.sh installs them)")


def make_context(settings: Settings, chosen: list[Measure], workdir: Path) -> Context:
    ctx = Context(settings=settings)
    started = time.monotonic()
    if any(m.needs_big for m in chosen):
        ctx.big = make_payload(workdir / "big.bin", settings.big_bytes)
    if any(m.needs_huge for m in chosen):
        ctx.huge = make_payload(workdir / "huge.bin", settings.rss_bytes)
    print(f"payloads ready in {time.monotonic() - started:.1f} s", flush=True)
    return ctx


def describe(measure: Measure, figures: measures.Figures) -> str:
    parts = []
    for metric in measure.metrics:
        if metric.key in figures:
            parts.append(f"{metric.key}={figures[metric.key]:.1f}")
    return " ".join(parts)


ROUND_ATTEMPTS = 3
RoundError = (servers.ServerError, client.ProtocolError, wrk.WrkError, OSError, HTTPException)


class RoundFailed(RuntimeError):
    """A round broke off (a server died or misbehaved); its figures are dropped."""


def run_round(
    round_no: int, order: list[RunningServer], chosen: list[Measure], ctx: Context
) -> list[report.Row]:
    rows = []
    for server in order:
        measures.warm_up(server, ctx)
    for measure in chosen:
        for server in order:
            before = cpu.snapshot(server.pid)
            figures = measure.run(server, ctx)
            other = cpu.other_percent(before, cpu.snapshot(server.pid))
            rows.append(report.Row(round_no, measure.name, server.spec.label, figures, other))
            print(
                f"  {measure.name:<13} {server.spec.label:<6} {describe(measure, figures)}"
                f"  [other CPU {other:.0f}%]",
                flush=True,
            )
    return rows


def _explain(error: Exception, running: list[RunningServer]) -> str:
    """The error, each server's state and the end of its log (someone may have killed it)."""
    lines = [f"{type(error).__name__}: {error}"]
    for server in running:
        try:
            code = server.process.wait(timeout=3)
            state = f"exited with {code}"
        except subprocess.TimeoutExpired:
            state = f"running, GET /v2/ -> {servers.probe(server.port) or 'no answer'}"
        lines.append(f"{server.spec.title}: {state}; log ends with:")
        lines.append(server.log_tail(10) or "(empty)")
    return "\n".join(lines)


def attempt_round(
    round_no: int, order: list[ServerSpec], chosen: list[Measure], ctx: Context, workdir: Path
) -> list[report.Row]:
    ctx.new_round()
    with servers.running(order, workdir) as running:
        try:
            return run_round(round_no, running, chosen, ctx)
        except RoundError as error:
            raise RoundFailed(_explain(error, running)) from error


def run_rounds(
    rounds: int,
    specs: list[ServerSpec],
    chosen: list[Measure],
    ctx: Context,
    results: report.Results,
    workdir: Path,
) -> None:
    """Both servers up at once, fresh each round; who goes first alternates per round.

    A round that breaks off is run again on fresh servers, at most ROUND_ATTEMPTS times.
    """
    for round_no in range(1, rounds + 1):
        order = specs if round_no % 2 else specs[::-1]
        print(f"round {round_no}/{rounds} ({' then '.join(s.label for s in order)})", flush=True)
        for attempt in range(1, ROUND_ATTEMPTS + 1):
            try:
                results.rows.extend(attempt_round(round_no, order, chosen, ctx, workdir))
                break
            except (RoundFailed, servers.ServerError) as error:
                results.failures.append(f"round {round_no} attempt {attempt}: {error}")
                print(f"  round {round_no} failed, figures dropped: {error}", flush=True)
                if attempt == ROUND_ATTEMPTS:
                    raise


def metadata(
    args: argparse.Namespace, settings: Settings, specs: list[ServerSpec], complete: bool
) -> dict[str, object]:
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": complete,
        "argv": sys.argv[1:],
        "host": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "loadavg_at_end": os.getloadavg(),
        },
        "settings": dataclasses.asdict(settings),
        "labels": dict(zip(LABELS, column_headers(specs), strict=True)),
        "servers": {
            s.label: {
                "kind": s.kind,
                "binary": str(s.binary),
                "version": servers.version_of(s),
                "config_overrides": s.overrides,
                "front": s.front,
            }
            for s in specs
        },
    }


def print_report(results: report.Results, specs: list[ServerSpec], settings: Settings) -> None:
    headers = column_headers(specs)
    print(f"\n{measures.describe_settings(settings)}")
    print(report.main_table(results, headers))
    print(
        f"\nmedians; ratio = {headers[0]}/{headers[1]}; MB = 10^6 bytes. MB/s, req/s: "
        "higher is better; ms, MiB, errors: lower is better."
    )
    print(f"\nspread over rounds ((max-min)/median):\n{report.noise_table(results, headers)}")
    print(f"\n{report.other_cpu_line(results)}")
    if results.failures:
        print(f"{len(results.failures)} round(s) broke off and were run again (see the JSON)")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        chosen = selected_measures(args.only)
    except ValueError as error:
        sys.exit(str(error))
    specs = server_specs(args)
    settings = settings_from(args)
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 5)
    if rounds < 1:
        sys.exit("--rounds must be at least 1")
    check_tools(specs, chosen)
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"load average {os.getloadavg()[0]:.2f}; {rounds} rounds of "
        f"{', '.join(m.name for m in chosen)}",
        flush=True,
    )
    results = report.Results(labels=LABELS, measures=chosen)
    complete = False
    workdir = Path(tempfile.mkdtemp(prefix="regbench-", dir=args.workdir))
    try:
        ctx = make_context(settings, chosen, workdir)
        run_rounds(rounds, specs, chosen, ctx, results, workdir)
        complete = True
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped and data deleted", file=sys.stderr)
    except (RoundFailed, servers.ServerError):
        print(f"\ngiving up after {ROUND_ATTEMPTS} failed attempts", file=sys.stderr)
    finally:
        with servers.interrupts_held():
            shutil.rmtree(workdir, ignore_errors=True)
    if results.rows:
        print_report(results, specs, settings)
        report.write_json(
            args.json, report.as_json(results, metadata(args, settings, specs, complete))
        )
        print(f"\nwrote {args.json}")
    return 0 if complete else 130


if __name__ == "__main__":
    sys.exit(main())
