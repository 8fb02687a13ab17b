"""Several worker processes on one port (``workers: 3``): uploads, locks and jobs stay
right across them, and a worker that dies is replaced without losing anything."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support.auth import TokenAuth
from tests.support.oci import push_image, sha256, unique_repo
from tests.support.server import RegistryServer, start_server

WORKERS = 3


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[RegistryServer]:
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_cluster").create_database()
    data_dir: Path = tmp_path_factory.mktemp(f"workers-{request.param}")
    server = start_server(data_dir, url, {"HT_WORKERS": str(WORKERS)})
    yield server
    assert server.stop() == 0, server.log_text()[-4000:]
    assert not _children(server.pid), "a worker outlived the parent's stop"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


def _wait_for_workers(server: RegistryServer, count: int = WORKERS, timeout: float = 60
                      ) -> list[int]:
    """Until ``count`` workers run and every one started so far listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(server.pid)
        listening = server.log_text().count("registry listening on")
        if len(children) == count and listening >= _started(server, count):
            return children
        time.sleep(0.1)
    raise AssertionError(f"{count} workers expected, found {_children(server.pid)}")


def _started(server: RegistryServer, count: int) -> int:
    """Workers started so far: the first ones and every replacement."""
    return count + server.log_text().count("starting it again")


def _on_new_connection(server: RegistryServer, method: str, url: str,
                       **kwargs: object) -> requests.Response:
    """One request on a connection of its own, so the kernel may hand it to any worker."""
    if url.startswith("/"):  # a Location header
        url = server.url + url
    path = url.split(server.host, 1)[1]
    headers = {**server.auth_header(path), "Connection": "close"}
    with requests.Session() as session:
        return session.request(method, url, headers=headers, timeout=30, **kwargs)


def _sessions_on_distinct_workers(server: RegistryServer) -> dict[str, requests.Session]:
    """Keep-alive connections, one per worker that answered a burst of simultaneous ones.

    Sequential connections all go to whichever worker the kernel wakes first; a burst
    spreads over the workers, as several clients at once do."""
    for _ in range(20):
        sessions = [requests.Session() for _ in range(4 * WORKERS)]
        with ThreadPoolExecutor(len(sessions)) as pool:
            answers = list(pool.map(
                lambda session: session.get(f"{server.url}/v2/", timeout=30), sessions))
        by_worker: dict[str, requests.Session] = {}
        for session, answer in zip(sessions, answers, strict=True):
            by_worker.setdefault(answer.headers["X-Harbor-Worker"], session)
        if len(by_worker) >= 2:
            return by_worker
    raise AssertionError("every connection of every burst went to one worker")


def test_a_chunked_upload_continues_on_whichever_worker_gets_each_chunk(workers):
    _wait_for_workers(workers, WORKERS)
    sessions = list(_sessions_on_distinct_workers(workers).items())
    repo = unique_repo("spread")
    start_path = f"/v2/{repo}/blobs/uploads/"
    worker, session = sessions[0]
    started = session.post(workers.url + start_path, headers=workers.auth_header(start_path),
                           timeout=30)
    assert started.status_code == 202, started.text
    assert started.headers["X-Harbor-Worker"] == worker
    location = started.headers["Location"]
    answered_by = [worker]
    hasher = hashlib.sha256()
    offset = 0
    for index in range(6):  # each chunk on the next worker's connection
        worker, session = sessions[(index + 1) % len(sessions)]
        chunk = os.urandom(256 * 1024 + index)
        patched = session.patch(workers.url + location, data=chunk, timeout=30,
                                headers=workers.auth_header(location))
        assert patched.status_code == 202, patched.text
        assert patched.headers["Range"] == f"0-{offset + len(chunk) - 1}"
        answered_by.append(patched.headers["X-Harbor-Worker"])
        hasher.update(chunk)
        offset += len(chunk)
        location = patched.headers["Location"]
    assert len(set(answered_by)) >= 2, answered_by
    digest = "sha256:" + hasher.hexdigest()
    worker, session = sessions[-1]
    done = session.put(workers.url + location, params={"digest": digest}, timeout=30,
                       headers=workers.auth_header(location))
    assert done.status_code == 201, done.text
    pulled = _on_new_connection(workers, "GET", f"{workers.url}/v2/{repo}/blobs/{digest}")
    assert pulled.status_code == 200
    assert sha256(pulled.content) == digest
    assert len(pulled.content) == offset


def test_concurrent_pushes_of_one_blob_to_several_workers_agree(workers):
    data = os.urandom(3 * 1024 * 1024)
    digest = sha256(data)
    repos = [unique_repo("same") for _ in range(3)]

    def push(index: int) -> tuple[int, str]:
        repo = repos[index % len(repos)]
        if index % 2:  # monolithic
            response = _on_new_connection(
                workers, "POST", f"{workers.url}/v2/{repo}/blobs/uploads/",
                params={"digest": digest}, data=data)
            return response.status_code, response.headers.get("X-Harbor-Worker", "")
        started = _on_new_connection(workers, "POST", f"{workers.url}/v2/{repo}/blobs/uploads/")
        location = started.headers["Location"]
        half = len(data) // 2
        patched = _on_new_connection(workers, "PATCH", location, data=data[:half])
        finished = _on_new_connection(workers, "PUT", patched.headers["Location"],
                                      params={"digest": digest}, data=data[half:])
        return finished.status_code, finished.headers.get("X-Harbor-Worker", "")

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(push, range(24)))
    assert {status for status, _ in results} == {201}, results
    assert len({worker for _, worker in results}) >= 2, results
    for repo in repos:
        pulled = _on_new_connection(workers, "GET", f"{workers.url}/v2/{repo}/blobs/{digest}")
        assert pulled.status_code == 200 and sha256(pulled.content) == digest
    stored = workers.data_dir / "blobs" / "sha256" / digest[7:9] / digest[7:]
    assert stored.stat().st_size == len(data)
    assert not any((workers.data_dir / "uploads").iterdir()), "an upload was left behind"


def test_a_cron_schedule_fires_once_per_due_time_with_several_workers(workers):
    api = requests.Session()
    api.auth = ("admin", workers.admin_password)
    gc = f"{workers.url}/api/v2.0/system/gc"
    before = {run["id"] for run in api.get(gc, timeout=30).json()}
    every_five_seconds = {"schedule": {"type": "Custom", "cron": "*/5 * * * * *"},
                          "parameters": {"dry_run": True}}
    response = api.put(f"{gc}/schedule", json=every_five_seconds, timeout=30)
    assert response.status_code == 200, response.text
    time.sleep(12)  # two or three due times
    response = api.put(f"{gc}/schedule", json={"schedule": {"type": "None"}}, timeout=30)
    assert response.status_code == 200, response.text
    runs = [run for run in api.get(gc, timeout=30).json() if run["id"] not in before]
    # one run per due time; a schedule fired by every worker would make 6 to 9
    assert 1 <= len(runs) <= 3, [(run["creation_time"], run["job_status"]) for run in runs]


def test_a_killed_worker_is_replaced_and_nothing_acknowledged_is_lost(workers):
    repo = unique_repo("survivor")
    before = push_image(workers.url, repo, "v1", seed="before")
    victim = _wait_for_workers(workers, WORKERS)[-1]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in _children(workers.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the parent reaped it
    replaced = _wait_for_workers(workers, WORKERS)
    assert victim not in replaced
    assert "starting it again" in workers.log_text()
    for _ in range(2 * WORKERS):  # every worker, the new one among them, serves the image
        manifest = _on_new_connection(workers, "GET", f"{workers.url}/v2/{repo}/manifests/v1")
        assert manifest.status_code == 200
        assert manifest.headers["Docker-Content-Digest"] == before.digest
    after = push_image(workers.url, repo, "v2", seed="after")
    got = _on_new_connection(workers, "GET", f"{workers.url}/v2/{repo}/manifests/v2")
    assert got.headers["Docker-Content-Digest"] == after.digest


def test_workers_stop_by_themselves_when_their_parent_is_killed(tmp_path):
    server = start_server(tmp_path / "data", extra_env={"HT_WORKERS": "2"})
    orphans = _wait_for_workers(server, 2)
    server.process.kill()
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in orphans if Path(f"/proc/{pid}").exists()]
    for pid in alive:  # do not leave them behind when the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, server.log_text()[-3000:]


def test_the_registry_alone_runs_several_workers_behind_a_core(start_registry):
    core = start_registry()
    registry = start_registry({"HT_TOKEN_REALM": f"{core.url}/service/token",
                               "HT_WORKERS": "2"}, command="registry")
    _wait_for_workers(registry, 2)
    scope = "repository:library/split-workers:pull,push"
    token = TokenAuth(core.url, "admin", core.admin_password).token(scope)
    data = os.urandom(100_000)
    pushed = requests.post(f"{registry.url}/v2/library/split-workers/blobs/uploads/",
                           params={"digest": sha256(data)}, data=data,
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["X-Harbor-Worker"] in ("0", "1")
    assert requests.get(f"{registry.url}/v2/", timeout=10).status_code == 401
