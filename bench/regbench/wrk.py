"""Run wrk against one URL and read its summary."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)


class WrkError(RuntimeError):
    """wrk failed, or the server answered with errors under load."""


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int


def parse(output: str) -> WrkResult:
    rate, total = _RATE.search(output), _TOTAL.search(output)
    if rate is None or total is None:
        raise WrkError(f"cannot read wrk's output:\n{output}")
    percentiles = {p: float(v) * UNITS_MS[u] for p, v, u in _PERCENTILE.findall(output)}
    non_2xx = _NON_2XX.search(output)
    sockets = _SOCKET.search(output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return WrkResult(
        requests_per_s=float(rate.group(1)),
        requests=int(total.group(1)),
        p50_ms=percentiles.get("50", 0.0),
        p99_ms=percentiles.get("99", 0.0),
        errors=errors,
    )


def run(
    url: str, headers: dict[str, str], threads: int, connections: int, seconds: int
) -> WrkResult:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    return parse(done.stdout)
