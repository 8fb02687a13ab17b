"""Process kinds and logging: the registry alone verifies tokens a core issued; core,
registry and job service as three processes on one database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from harbor_twisted.db import job_store
from harbor_twisted.db.engine import Database, make_engine
from tests.support.auth import TokenAuth
from tests.support.oci import OCI_MANIFEST, push_image, sha256
from tests.support.server import ROOT, _shared_signing_key


def test_registry_alone_accepts_tokens_from_the_all_in_one_token_service(start_registry):
    core = start_registry()
    registry = start_registry({"HT_TOKEN_REALM": f"{core.url}/service/token"},
                              command="registry")
    challenge = requests.get(f"{registry.url}/v2/", timeout=10).headers["WWW-Authenticate"]
    assert f'realm="{core.url}/service/token"' in challenge
    assert requests.get(f"{registry.url}/service/token", timeout=10).status_code == 404
    scope = "repository:library/split:pull,push"
    token = TokenAuth(core.url, "admin", core.admin_password).token(scope)
    data = os.urandom(1000)
    pushed = requests.post(f"{registry.url}/v2/library/split/blobs/uploads/",
                           params={"digest": sha256(data)}, data=data,
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert pushed.status_code == 201
    anonymous = requests.post(f"{registry.url}/v2/library/split/blobs/uploads/", timeout=10)
    assert anonymous.status_code == 401


def test_json_log_format_writes_one_json_object_per_line(start_registry):
    server = start_registry({"HT_LOG_FORMAT": "json"})
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(record["message"].startswith("registry listening on 127.0.0.1:")
               for record in records)


def test_manifest_size_limit_is_configurable(start_registry):
    server = start_registry({"HT_MANIFEST_MAX_BYTES": "2048"})
    body = b'{"schemaVersion": 2, "padding": "' + b"x" * 3000 + b'"}'
    response = server.session.put(
        f"{server.url}/v2/library/limits/manifests/big", data=body,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=10)
    assert response.status_code == 413
    assert response.json()["errors"][0]["detail"] == {"limit": 2048}


def test_read_only_mode_refuses_writes_clearly_and_keeps_pulls(start_registry, tmp_path):
    data_dir = tmp_path / "ro"
    writable = start_registry(data_dir=data_dir)
    image = push_image(writable.url, "library/readonly")
    writable.stop()
    server = start_registry({"HT_READ_ONLY": "true"}, data_dir=data_dir)
    pulled = server.session.get(f"{server.url}/v2/library/readonly/manifests/latest",
                                timeout=10)
    assert pulled.status_code == 200
    assert pulled.content == image.manifest
    for method, path in (("POST", "/v2/library/readonly/blobs/uploads/"),
                         ("DELETE", f"/v2/library/readonly/manifests/{image.digest}")):
        refused = server.session.request(method, server.url + path, timeout=10)
        assert refused.status_code == 403
        error = refused.json()["errors"][0]
        assert error["code"] == "DENIED"
        assert "read-only" in error["message"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_jobservice(data_dir: Path, registry_url: str) -> tuple[subprocess.Popen[str], list]:
    """``harbor-twisted jobservice`` on ``data_dir``, reaching the registry at ``registry_url``."""
    key_file, cert_file = _shared_signing_key()
    env = dict(os.environ)
    env.update({"HT_DATA": str(data_dir), "HT_REGISTRY_URL": registry_url, "HT_LOG_LEVEL": "info",
                "HT_JOB_POLL_SECONDS": "1", "HT_GC_GRACE_MINUTES": "0",
                "HT_TOKEN_SIGNING_KEY": str(key_file), "HT_TOKEN_SIGNING_CERT": str(cert_file)})
    process = subprocess.Popen([sys.executable, "-m", "harbor_twisted.cli", "jobservice"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "job workers" in line and "started" in line:
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    ready.wait(30)
    assert process.poll() is None, "".join(lines)
    return process, lines


def test_core_registry_and_jobservice_as_three_processes_on_one_database(
    start_registry, tmp_path
):
    data_dir = tmp_path / "split"
    registry_url = f"http://127.0.0.1:{_free_port()}"
    core = start_registry({"HT_REGISTRY_URL": registry_url}, data_dir=data_dir, command="core")
    health = requests.get(f"{core.url}/api/v2.0/health", timeout=10).json()
    assert health["status"] == "unhealthy"  # the core checks the registry it names
    registry = start_registry({"HT_TOKEN_REALM": f"{core.url}/service/token",
                               "HT_PORT": registry_url.rsplit(":", 1)[1]},
                              data_dir=data_dir, command="registry")
    jobs, job_log = _start_jobservice(data_dir, registry_url)
    try:
        health = requests.get(f"{core.url}/api/v2.0/health", timeout=10).json()
        assert health["status"] == "healthy", health
        # each process serves its own part only
        assert requests.get(f"{core.url}/v2/", timeout=10).status_code == 404
        assert "core listening on" in core.log_text()
        assert "job workers" not in core.log_text()
        assert requests.get(f"{registry.url}/api/v2.0/ping", timeout=10).status_code == 404
        assert requests.get(f"{registry.url}/service/token", timeout=10).status_code == 404

        # a push to the registry with tokens from the core
        registry.session.auth = TokenAuth(core.url, "admin", core.admin_password)
        image = push_image(registry.url, "library/three")
        admin = ("admin", core.admin_password)
        api = f"{core.url}/api/v2.0"
        artifacts = requests.get(f"{api}/projects/library/repositories/three/artifacts",
                                 auth=admin, timeout=10)
        assert [a["digest"] for a in artifacts.json()] == [image.digest]

        # Basic credentials on the registry process, checked with its own identity service
        basic = requests.get(f"{registry.url}/v2/library/three/manifests/latest", auth=admin,
                             headers={"Accept": OCI_MANIFEST}, timeout=10)
        assert basic.status_code == 200 and sha256(basic.content) == image.digest
        wrong = requests.get(f"{registry.url}/v2/library/three/manifests/latest",
                             auth=("admin", "wrong-password"), timeout=10)
        assert wrong.status_code == 401 and "Bearer realm=" in wrong.headers["WWW-Authenticate"]

        # a garbage collection started through the core's API runs in the job service
        deleted = requests.delete(
            f"{api}/projects/library/repositories/three/artifacts/{image.digest}",
            auth=admin, timeout=10)
        assert deleted.status_code == 200, deleted.text
        started = requests.post(f"{api}/system/gc/schedule", auth=admin, timeout=10,
                                json={"schedule": {"type": "Manual"}, "parameters": {}})
        assert started.status_code == 201, started.text
        gc_id = int(started.headers["Location"].rsplit("/", 1)[1])
        deadline = time.monotonic() + 60
        history: dict = {}
        while time.monotonic() < deadline:
            history = requests.get(f"{api}/system/gc/{gc_id}", auth=admin, timeout=10).json()
            if history["job_status"] in ("Success", "Error", "Stopped"):
                break
            time.sleep(0.2)
        assert history["job_status"] == "Success", "".join(job_log)
        assert history["result"]["blobs_deleted"] == 3  # config and two layers
        engine = make_engine(f"sqlite:///{data_dir / 'registry.db'}", 1)
        try:
            tasks = Database(engine, 1).run_sync(job_store.task_states, gc_id)
        finally:
            engine.dispose()
        assert [f":{jobs.pid}:" in task["worker"] for task in tasks] == [True]
        gone = registry.session.get(f"{registry.url}/v2/library/three/blobs/{sha256(image.config)}",
                                    timeout=10)
        assert gone.status_code == 404
    finally:
        jobs.terminate()
        jobs.wait(20)
