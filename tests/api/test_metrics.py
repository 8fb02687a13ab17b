"""Prometheus metrics on a listener of their own: registry requests by Distribution's route
names, API requests by route template, bytes in and out, job outcomes, GC and pool figures;
several workers add up; off by default, with no listener at all."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.api.test_processes import _free_port, _start_jobservice
from tests.conftest import BACKENDS
from tests.rest.artifact_helpers import repo_path
from tests.rest.test_gc import run_gc
from tests.support.metrics import METRICS_ENV, Samples, metrics_url, scrape
from tests.support.oci import push_image, sha256, unique_repo
from tests.support.server import RegistryServer, admin_http, start_server

API = "/api/v2.0"


@pytest.fixture(scope="module", params=BACKENDS)
def metered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RegistryServer]:
    url = "" if request.param == "sqlite" else (
        request.getfixturevalue("postgres_cluster").create_database())
    server = start_server(tmp_path_factory.mktemp(f"metrics-{request.param}"), url,
                          {**METRICS_ENV, "HT_GC_GRACE_MINUTES": "0", "HT_JOB_POLL_SECONDS": "1"})
    yield server
    assert server.stop() == 0, server.log_text()[-3000:]


def _delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return after.get(name, **labels) - before.get(name, **labels)


def _chunked_push(server: RegistryServer, repo: str, data: bytes) -> str:
    """POST, one PATCH, then the closing PUT: the docker client's way."""
    start = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/", timeout=30)
    assert start.status_code == 202, start.text
    location = server.url + start.headers["Location"]
    patch = admin_http.patch(location, data=data, timeout=30,
                             headers={"Content-Type": "application/octet-stream"})
    assert patch.status_code == 202, patch.text
    digest = sha256(data)
    put = admin_http.put(server.url + patch.headers["Location"], params={"digest": digest},
                         timeout=30)
    assert put.status_code == 201, put.text
    return digest


def test_push_and_pull_count_by_route_status_and_bytes(metered):
    url = metrics_url(metered)
    repo = unique_repo("metrics")
    before = scrape(url)
    image = push_image(metered.url, repo, seed="metrics")
    chunk = b"chunked layer " * 3000
    chunk_digest = _chunked_push(metered, repo, chunk)
    manifest = admin_http.get(f"{metered.url}/v2/{repo}/manifests/latest", timeout=30,
                              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert manifest.status_code == 200
    blobs = [image.config, *image.layers, chunk]
    for digest, data in zip([sha256(b) for b in blobs[:-1]] + [chunk_digest], blobs,
                            strict=True):
        response = admin_http.get(f"{metered.url}/v2/{repo}/blobs/{digest}", timeout=30)
        assert response.status_code == 200 and response.content == data
    after = scrape(url)

    def requests_of(handler: str, method: str, code: str) -> float:
        return _delta(before, after, "registry_http_requests_total", handler=handler,
                      method=method, code=code)

    pushed = [image.config, *image.layers]
    assert requests_of("blob-upload", "POST", "201") == len(pushed)  # monolithic, with digest
    assert requests_of("blob-upload", "POST", "202") == 1  # the chunked upload's start
    assert requests_of("blob-upload-chunk", "PATCH", "202") == 1
    assert requests_of("blob-upload-chunk", "PUT", "201") == 1
    assert requests_of("manifest", "PUT", "201") == 1
    assert requests_of("manifest", "GET", "200") == 1
    assert requests_of("blob", "GET", "200") == len(blobs)
    # bytes received and sent, by route: the size histograms' sums
    assert _delta(before, after, "registry_http_request_size_bytes_sum",
                  handler="blob-upload") == sum(len(b) for b in pushed)
    assert _delta(before, after, "registry_http_request_size_bytes_sum",
                  handler="blob-upload-chunk") == len(chunk)
    assert _delta(before, after, "registry_http_response_size_bytes_sum",
                  handler="blob") == sum(len(b) for b in blobs)
    assert _delta(before, after, "registry_http_request_duration_seconds_count",
                  handler="blob", method="GET") == len(blobs)
    assert after.get("registry_http_in_flight_requests") == 0
    # no raw path (repository names, digests, upload ids) in any label
    assert repo not in after.text and chunk_digest not in after.text


def test_api_requests_are_counted_by_route_template(metered):
    url = metrics_url(metered)
    admin = ("admin", metered.admin_password)
    before = scrape(url)
    for _ in range(2):
        assert requests.get(metered.url + API + "/projects/library", auth=admin,
                            timeout=30).status_code == 200
    assert requests.get(metered.url + API + "/no/such/thing", auth=admin,
                        timeout=30).status_code == 404
    after = scrape(url)
    assert _delta(before, after, "harbor_core_http_request_total", method="GET", code="200",
                  operation=API + "/projects/{project}") == 2
    assert _delta(before, after, "harbor_core_http_request_total", method="GET", code="404",
                  operation="/api/*") == 1
    assert _delta(before, after, "harbor_core_http_request_duration_seconds_count",
                  method="GET", operation=API + "/projects/{project}") == 2
    assert after.get("harbor_core_http_inflight_requests") == 0


def test_gc_run_counts_its_outcome_and_freed_bytes(metered):
    url = metrics_url(metered)
    repo = unique_repo("metrics-gc")
    image = push_image(metered.url, repo, seed="gc")
    project, _, name = repo.partition("/")
    response = requests.delete(metered.url + API + repo_path(project, name)
                               + f"/artifacts/{image.digest}",
                               auth=("admin", metered.admin_password), timeout=30)
    assert response.status_code == 200, response.text
    before = scrape(url)
    run_gc(metered, dry_run=True)  # counted as a task, frees nothing
    done = run_gc(metered)
    after = scrape(url)
    freed = done["result"]["freed_bytes"]
    # the image's blobs, and any other unreferenced one (the other tests' chunked upload)
    assert freed >= len(image.config) + sum(len(layer) for layer in image.layers)
    assert _delta(before, after, "harbor_jobservice_gc_freed_bytes_total") == freed
    assert _delta(before, after, "harbor_jobservice_gc_deleted_total",
                  object="blob") == done["result"]["blobs_deleted"]
    assert _delta(before, after, "harbor_jobservice_task_total", type="GARBAGE_COLLECTION",
                  status="Success") == 2
    assert _delta(before, after, "harbor_jobservice_task_process_time_seconds_count",
                  type="GARBAGE_COLLECTION", status="Success") == 2
    assert after.get("harbor_jobservice_info", pool="default", workers="10") == 1
    assert "harbor_task_queue_size" in after.text
    # the pools' gauges are sampled: the request pool's size is db_threads (4)
    assert after.get("harbor_database_connections", pool="main", state="max") == 4


def test_metrics_off_by_default_opens_no_listener(tmp_path: Path):
    port = _free_port()
    server = start_server(tmp_path / "data", extra_env={"HT_METRICS_PORT": str(port)})
    try:
        assert requests.get(server.url + "/v2/", timeout=10).status_code in (200, 401)
        assert "metrics listening" not in server.log_text()
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        # and the service's own port does not serve them either
        assert requests.get(server.url + "/metrics", timeout=10).status_code == 404
    finally:
        assert server.stop() == 0


def test_metrics_path_is_configurable_and_other_paths_are_404(tmp_path: Path):
    server = start_server(tmp_path / "data",
                          extra_env={**METRICS_ENV, "HT_METRICS_PATH": "/custom/prom"})
    try:
        base = metrics_url(server, path="")
        assert "harbor_core_http_inflight_requests" in scrape(base + "/custom/prom").text
        assert requests.get(base + "/metrics", timeout=10).status_code == 404
    finally:
        assert server.stop() == 0


def _worker_pids(server: RegistryServer) -> list[int]:
    path = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _wait_until_listening(server: RegistryServer, starts: int, timeout: float = 90) -> None:
    """Until ``starts`` workers (first ones and replacements) have served."""
    deadline = time.monotonic() + timeout
    while server.log_text().count("registry listening on") < starts:
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        time.sleep(0.1)


def _until_counted(url: str, before: Samples, sent: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        counted = _delta(before, scrape(url), "registry_http_requests_total", handler="base",
                         method="GET")
        assert counted <= sent
        if counted == sent:
            return
        assert time.monotonic() < deadline, f"{counted} of {sent} requests counted"
        time.sleep(0.2)


def _bursts_until_both_workers_answer(server: RegistryServer) -> int:
    """GET /v2/ on new connections, in concurrent bursts (the kernel spreads those over the
    workers), until both workers answered; how many requests that took."""
    seen: Counter[str] = Counter()
    sent = 0

    def one(_: int) -> requests.Response:
        return requests.get(server.url + "/v2/", headers={"Connection": "close"}, timeout=10)

    while len(seen) < 2 and sent < 800:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(one, range(8)))
        seen.update(response.headers["X-Harbor-Worker"] for response in responses)
        sent += len(responses)
    assert set(seen) == {"0", "1"}, seen
    return sent


def test_two_workers_scrapes_add_up_both_and_survive_a_restart(tmp_path: Path):
    server = start_server(tmp_path / "data", extra_env={**METRICS_ENV, "HT_WORKERS": "2"})
    try:
        url = metrics_url(server)
        _wait_until_listening(server, 2)
        before = scrape(url)
        sent = _bursts_until_both_workers_answer(server)
        # whichever worker answers a scrape, it counts the requests of both (the other's
        # within its flush second), never more
        _until_counted(url, before, sent)
        for _ in range(6):
            assert _delta(before, scrape(url), "registry_http_requests_total",
                          handler="base", method="GET") == sent
        # a worker killed outright and replaced: its counts stay, its gauges go
        os.kill(_worker_pids(server)[-1], signal.SIGKILL)
        _wait_until_listening(server, 3)  # the replacement serves
        for _ in range(4):
            after = scrape(url)
            assert _delta(before, after, "registry_http_requests_total",
                          handler="base", method="GET") == sent
            assert after.get("registry_http_in_flight_requests") == 0
    finally:
        assert server.stop() == 0, server.log_text()[-3000:]


def test_core_registry_and_jobservice_each_expose_their_own(start_registry, tmp_path,
                                                             monkeypatch):
    for name, value in METRICS_ENV.items():  # every process started below
        monkeypatch.setenv(name, value)
    data_dir = tmp_path / "split"
    registry_url = f"http://127.0.0.1:{_free_port()}"
    core = start_registry({"HT_REGISTRY_URL": registry_url}, data_dir=data_dir, command="core")
    registry = start_registry({"HT_TOKEN_REALM": f"{core.url}/service/token",
                               "HT_PORT": registry_url.rsplit(":", 1)[1]},
                              data_dir=data_dir, command="registry")
    jobs, job_log = _start_jobservice(data_dir, registry_url)
    try:
        core_before, registry_before = scrape(metrics_url(core)), scrape(metrics_url(registry))
        token = requests.get(f"{core.url}/service/token", auth=("admin", core.admin_password),
                             params={"service": "harbor-registry",
                                     "scope": "repository:library/split:pull,push"},
                             timeout=30).json()["token"]
        data = b"split metrics " * 100
        pushed = requests.post(f"{registry.url}/v2/library/split/blobs/uploads/",
                               params={"digest": sha256(data)}, data=data, timeout=30,
                               headers={"Authorization": f"Bearer {token}"})
        assert pushed.status_code == 201
        core_after, registry_after = scrape(metrics_url(core)), scrape(metrics_url(registry))
        assert _delta(core_before, core_after, "harbor_core_http_request_total",
                      operation="/service/token", code="200") == 1
        assert _delta(registry_before, registry_after, "registry_http_requests_total",
                      handler="blob-upload", code="201") == 1
        assert _delta(registry_before, registry_after, "registry_http_request_size_bytes_sum",
                      handler="blob-upload") == len(data)
        # each counts only what it serves
        assert _delta(core_before, core_after, "registry_http_requests_total") == 0
        assert _delta(registry_before, registry_after, "harbor_core_http_request_total") == 0
        jobservice = scrape(metrics_url(job_log))
        assert jobservice.get("harbor_jobservice_info", pool="default") == 1
        assert ("harbor_task_queue_size", frozenset({("type", "GARBAGE_COLLECTION")})) in (
            jobservice.values)
    finally:
        jobs.terminate()
        assert jobs.wait(30) == 0, "".join(job_log)[-3000:]
