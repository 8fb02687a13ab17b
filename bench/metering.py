"""What request metrics cost per request, in this process: the tally (HttpMeter.begin and
end) with a flush every FLUSH_EVERY requests, against updating prometheus_client's families
directly; single-process and multiprocess (several workers) mode.

    .venv/bin/python bench/metering.py            # runs both modes, each in a fresh process
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

N = 100_000
FLUSH_EVERY = 1000  # a flush a second at 1000 requests a second: pessimistic for the tally
ROUNDS = 5


def _per_request(fn) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) / N * 1e6)
    return sorted(times)[ROUNDS // 2]


def run(mode: str) -> None:
    if mode == "multi":
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
    from harbor_twisted.common import metrics
    from harbor_twisted.web.metering import HttpMeter

    meter = HttpMeter()

    def tallied() -> None:
        for i in range(N):
            meter.begin("blob")
            meter.end("blob", "", "GET", "200", 0.003, 0, 1234)
            if i % FLUSH_EVERY == 0:
                meter.flush()
        meter.flush()

    def direct() -> None:
        for _ in range(N):
            metrics.REGISTRY_IN_FLIGHT.labels("blob").inc()
            metrics.REGISTRY_IN_FLIGHT.labels("blob").dec()
            metrics.REGISTRY_REQUESTS.labels("200", "blob", "GET").inc()
            metrics.REGISTRY_DURATION.labels("blob", "GET").observe(0.003)
            metrics.REGISTRY_REQUEST_SIZE.labels("blob").observe(0)
            metrics.REGISTRY_RESPONSE_SIZE.labels("blob").observe(1234)

    print(f"{mode:6}  tallied {_per_request(tallied):5.2f} µs/request   "
          f"prometheus_client directly {_per_request(direct):5.2f} µs/request (median of "
          f"{ROUNDS} rounds of {N})")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        run(sys.argv[1])
    else:
        for mode in ("single", "multi"):
            subprocess.run([sys.executable, __file__, mode], check=True)
