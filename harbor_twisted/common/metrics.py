"""Prometheus metrics of every process, under Harbor's names where Harbor has one.

- ``/v2/`` requests: Docker Distribution's ``registry_http_*`` families and labels (Harbor's
  registry is Distribution), ``handler`` being Distribution's route name (``blob``,
  ``blob-upload-chunk``, ``manifest``…), never the raw path.
- every other request (REST API, token service, portal): Harbor core's ``harbor_core_http_*``
  families, ``operation`` being the API route template (``/api/v2.0/projects/{project_name}``).
  Harbor's duration is a summary; ours is a histogram under the same name, because summaries
  cannot be added across worker processes or hosts and histograms can.
- the job service: ``harbor_jobservice_*`` (tasks by type and status, their run time) and the
  exporter's ``harbor_task_queue_size``/``harbor_task_queue_latency``; garbage collection and
  the database pools have no Harbor metric, so theirs are named in the same style.

Several worker processes (``workers: N``) run prometheus_client's multiprocess mode: each
worker writes its values to memory-mapped files of its own in one directory the supervisor
creates (``PROMETHEUS_MULTIPROC_DIR``, set before any worker imports this module), and a scrape
answered by any worker adds the files of all of them. Asking each worker instead is not
possible — the shared socket hands a scrape to one worker chosen by the kernel — and summing
per-worker answers elsewhere would lose a dead worker's counts: its files stay, so the
counters never go backwards when the supervisor restarts a worker. Gauges say how they add
up (``livesum``: a dead worker's values are removed by the supervisor). A single process keeps
its values in memory (prometheus_client's default).
"""

from __future__ import annotations

import os

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

prometheus_client.disable_created_metrics()  # *_created series: noise for counters of a service

# Distribution's buckets: latencies 5 ms to a minute, sizes 1 KiB to 2 GiB
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60)
SIZE_BUCKETS = tuple(float(1024 * 2**i) for i in range(22))
TASK_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600)

# -- registry (/v2/) --------------------------------------------------------------------------
REGISTRY_REQUESTS = Counter(
    "registry_http_requests", "Total number of HTTP requests made.",
    ["code", "handler", "method"])
REGISTRY_DURATION = Histogram(
    "registry_http_request_duration_seconds", "The HTTP request latencies in seconds.",
    ["handler", "method"], buckets=DURATION_BUCKETS)
REGISTRY_IN_FLIGHT = Gauge(
    "registry_http_in_flight_requests", "The in-flight HTTP requests", ["handler"],
    multiprocess_mode="livesum")
REGISTRY_REQUEST_SIZE = Histogram(
    "registry_http_request_size_bytes", "The HTTP request sizes in bytes.", ["handler"],
    buckets=SIZE_BUCKETS)
REGISTRY_RESPONSE_SIZE = Histogram(
    "registry_http_response_size_bytes", "The HTTP response sizes in bytes.", ["handler"],
    buckets=SIZE_BUCKETS)

# -- core (REST API, token service, portal) -------------------------------------------------
CORE_REQUESTS = Counter(
    "harbor_core_http_request", "The total number of requests",
    ["method", "code", "operation"])
CORE_DURATION = Histogram(
    "harbor_core_http_request_duration_seconds", "The time duration of the requests",
    ["method", "operation"], buckets=DURATION_BUCKETS)
CORE_IN_FLIGHT = Gauge(
    "harbor_core_http_inflight_requests", "The total number of requests",
    multiprocess_mode="livesum")

# -- job service -------------------------------------------------------------------------------
JOBSERVICE_INFO = Gauge(
    "harbor_jobservice_info", "the information of jobservice", ["node", "pool", "workers"],
    multiprocess_mode="livemax")
TASKS = Counter(
    "harbor_jobservice_task", "The number of processed tasks", ["type", "status"])
TASK_TIME = Histogram(
    "harbor_jobservice_task_process_time_seconds",
    "The time duration of the task processing time", ["type", "status"], buckets=TASK_BUCKETS)
QUEUE_SIZE = Gauge(
    "harbor_task_queue_size", "Total number of tasks waiting in the queue", ["type"],
    multiprocess_mode="livemax")
QUEUE_LATENCY = Gauge(
    "harbor_task_queue_latency",
    "Seconds since the oldest task still waiting in the queue became runnable", ["type"],
    multiprocess_mode="livemax")
GC_FREED_BYTES = Counter(
    "harbor_jobservice_gc_freed_bytes", "Bytes of blob storage freed by garbage collection")
GC_DELETED = Counter(
    "harbor_jobservice_gc_deleted", "Objects deleted by garbage collection", ["object"])

# -- database ---------------------------------------------------------------------------------
DB_CONNECTIONS = Gauge(
    "harbor_database_connections",
    "Connections of a database pool (in_use, idle, max), sampled every few seconds",
    ["pool", "state"], multiprocess_mode="livesum")
DB_THREADS = Gauge(
    "harbor_database_threads",
    "Database work of a pool's threads: busy threads, and calls queued for one",
    ["pool", "state"], multiprocess_mode="livesum")


def multiprocess_dir() -> str | None:
    """The directory the workers' values live in, None for a single process."""
    return os.environ.get(MULTIPROC_ENV) or None


def scrape() -> bytes:
    """The exposition text: blocking (reads every worker's files), so run it in a thread."""
    directory = multiprocess_dir()
    if directory is None:
        return prometheus_client.generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return prometheus_client.generate_latest(registry)


def forget_process(pid: int, directory: str) -> None:
    """A worker died: its live gauges (in-flight requests, pools) no longer count."""
    multiprocess.mark_process_dead(pid, directory)
