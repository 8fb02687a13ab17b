"""Garbage collection through ``/system/gc`` on SQLite and PostgreSQL: what it frees and
keeps, dry runs, delete_untagged, the grace window, schedules — and pushes running during
collections that all pull back afterwards with every blob intact."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import BACKENDS
from tests.rest.artifact_helpers import repo_path
from tests.rest.conftest import Client, create_user
from tests.support.oci import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, sha256, unique_repo
from tests.support.server import RegistryServer, admin_http


@pytest.fixture(params=BACKENDS)
def gc_server(request: pytest.FixtureRequest, start_registry) -> Iterator[RegistryServer]:
    url = "" if request.param == "sqlite" else (
        request.getfixturevalue("postgres_cluster").create_database())
    yield start_registry({"HT_GC_GRACE_MINUTES": "0", "HT_JOB_POLL_SECONDS": "1"},
                         database_url=url)


def _admin(server: RegistryServer) -> Client:
    return Client(server.url, ("admin", server.admin_password))


@dataclass
class Image:
    repo: str
    tag: str | None
    digest: str
    blobs: dict[str, bytes]


def _blob_known(server: RegistryServer, repo: str, digest: str) -> bool:
    response = admin_http.head(f"{server.url}/v2/{repo}/blobs/{digest}", timeout=30)
    return response.status_code == 200


def push(server: RegistryServer, repo: str, tag: str | None, layers: list[bytes],
         seed: str, check_existing: bool = False, media_type: str = OCI_MANIFEST,
         extra: dict | None = None) -> Image:
    """Push like docker: (optionally) skip blobs the repository already has."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    blobs = {sha256(b): b for b in [config, *layers]}
    for digest, data in blobs.items():
        if check_existing and _blob_known(server, repo, digest):
            continue
        response = admin_http.post(f"{server.url}/v2/{repo}/blobs/uploads/",
                                   params={"digest": digest}, data=data, timeout=30)
        assert response.status_code == 201, response.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(b), "size": len(b)}
                   for b in layers],
        **(extra or {}),
    }).encode()
    reference = tag or sha256(manifest)
    response = admin_http.put(f"{server.url}/v2/{repo}/manifests/{reference}", data=manifest,
                              headers={"Content-Type": media_type}, timeout=30)
    if response.status_code != 201:
        raise PushRefused(response.text)
    return Image(repo, tag, sha256(manifest), blobs)


class PushRefused(RuntimeError):
    """The registry refused the manifest (a blob it referenced was swept meanwhile)."""


def run_gc(server: RegistryServer, timeout: float = 120, **parameters: object) -> dict:
    admin = _admin(server)
    deadline = time.monotonic() + timeout
    while True:
        response = admin.post("/system/gc/schedule", json={
            "schedule": {"type": "Manual"}, "parameters": parameters})
        if response.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # a previous collection is still running
    assert response.status_code == 201, response.text
    gc_id = int(response.headers["Location"].rsplit("/", 1)[1])
    while time.monotonic() < deadline:
        history = admin.get(f"/system/gc/{gc_id}").json()
        if history["job_status"] in ("Success", "Error", "Stopped"):
            assert history["job_status"] == "Success", admin.get(f"/system/gc/{gc_id}/log").text
            return history
        time.sleep(0.2)
    raise AssertionError("garbage collection did not finish")


def _file_exists(server: RegistryServer, digest: str) -> bool:
    algorithm, hexdigest = digest.split(":")
    return (server.data_dir / "blobs" / algorithm / hexdigest[:2] / hexdigest).exists()


def _delete_artifact(server: RegistryServer, image: Image) -> None:
    project, _, name = image.repo.partition("/")
    response = _admin(server).delete(f"{repo_path(project, name)}/artifacts/{image.digest}")
    assert response.status_code == 200, response.text


def test_gc_frees_the_unique_blobs_of_a_deleted_image_and_keeps_shared_ones(gc_server):
    repo = unique_repo("gc")
    shared = b"shared layer " * 500
    gone = push(gc_server, repo, "old", [shared, b"unique to old " * 700], "old")
    kept = push(gc_server, repo, "new", [shared, b"unique to new " * 300], "new")
    _delete_artifact(gc_server, gone)
    unique = {d: b for d, b in gone.blobs.items() if d not in kept.blobs}
    dry = run_gc(gc_server, dry_run=True)
    assert dry["result"]["dry_run"] is True
    assert dry["result"]["freed_bytes"] == sum(len(b) for b in unique.values())
    assert all(_file_exists(gc_server, d) for d in gone.blobs)  # a dry run deletes nothing
    log = _admin(gc_server).get(f"/system/gc/{dry['id']}/log")
    assert log.headers["Content-Type"].startswith("text/plain")
    assert all(f"would delete blob {d}" in log.text for d in unique)
    done = run_gc(gc_server)
    assert done["result"]["freed_bytes"] == sum(len(b) for b in unique.values())
    assert done["result"]["blobs_deleted"] == len(unique)
    assert not any(_file_exists(gc_server, d) for d in unique)
    for digest, data in kept.blobs.items():
        response = admin_http.get(f"{gc_server.url}/v2/{repo}/blobs/{digest}", timeout=30)
        assert response.status_code == 200 and response.content == data


def test_delete_untagged_sweeps_untagged_manifests_but_keeps_index_children(gc_server):
    repo = unique_repo("gc")
    untagged = push(gc_server, repo, None, [b"untagged layer " * 100], "untagged")
    child = push(gc_server, repo, None, [b"child layer " * 100], "child")
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": child.digest,
         "size": len(admin_http.get(f"{gc_server.url}/v2/{repo}/manifests/{child.digest}",
                                    timeout=30).content),
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    response = admin_http.put(f"{gc_server.url}/v2/{repo}/manifests/multi", data=index,
                              headers={"Content-Type": OCI_INDEX}, timeout=30)
    assert response.status_code == 201
    referrer = push(gc_server, repo, None, [b"signature " * 10], "sig",
                    extra={"subject": {"mediaType": OCI_INDEX, "digest": sha256(index),
                                       "size": len(index)}})
    kept_plain = run_gc(gc_server)  # without delete_untagged, manifests stay
    assert kept_plain["result"]["manifests_deleted"] == 0
    result = run_gc(gc_server, delete_untagged=True)["result"]
    assert result["manifests_deleted"] == 1
    manifest_url = f"{gc_server.url}/v2/{repo}/manifests/"
    assert admin_http.get(manifest_url + untagged.digest, timeout=30).status_code == 404
    for alive in (child.digest, referrer.digest, sha256(index)):
        assert admin_http.get(manifest_url + alive, timeout=30).status_code == 200
    assert not any(_file_exists(gc_server, d) for d in untagged.blobs
                   if d not in child.blobs and d not in referrer.blobs)


def test_the_grace_window_protects_fresh_blobs(start_registry):
    server = start_registry({"HT_GC_GRACE_MINUTES": "60"})
    repo = unique_repo("gc")
    image = push(server, repo, "fresh", [b"fresh layer " * 100], "fresh")
    _delete_artifact(server, image)
    result = run_gc(server)["result"]
    assert result["blobs_deleted"] == 0 and result["freed_bytes"] == 0
    assert all(_file_exists(server, d) for d in image.blobs)


def test_gc_endpoints_are_for_system_admins_and_schedules_are_audited(gc_server):
    admin = _admin(gc_server)
    user = create_user(admin)
    assert user.client.get("/system/gc").status_code == 403
    assert admin.anonymous().get("/system/gc/schedule").status_code == 401
    body = {"schedule": {"type": "Custom", "cron": "0 30 2 * * *"},
            "parameters": {"delete_untagged": True, "workers": 2}}
    assert user.client.put("/system/gc/schedule", json=body).status_code == 403
    assert admin.put("/system/gc/schedule", json=body).status_code == 200
    schedule = admin.get("/system/gc/schedule").json()
    assert schedule["schedule"]["type"] == "Custom"
    assert schedule["schedule"]["cron"] == "0 30 2 * * *"
    assert schedule["schedule"]["next_scheduled_time"].endswith("Z")
    assert schedule["parameters"] == {"delete_untagged": True, "dry_run": False, "workers": 2}
    bad = {"schedule": {"type": "Custom", "cron": "not a cron"}}
    assert admin.put("/system/gc/schedule", json=bad).status_code == 400
    daily = {"schedule": {"type": "Daily"}}
    assert admin.put("/system/gc/schedule", json=daily).status_code == 200
    assert admin.get("/system/gc/schedule").json()["schedule"]["cron"] == "0 0 0 * * *"
    assert admin.put("/system/gc/schedule",
                     json={"schedule": {"type": "None"}}).status_code == 200
    assert admin.get("/system/gc/schedule").json()["schedule"]["type"] == "None"
    audit = admin.get("/audit-logs", params={"page_size": 50}).json()
    assert any(entry["resource_type"] == "gc_schedule" for entry in audit)
    run_gc(gc_server)
    history = admin.get("/system/gc", params={"page_size": 1})
    assert history.status_code == 200 and len(history.json()) == 1
    assert int(history.headers["X-Total-Count"]) >= 1
    assert admin.get("/system/gc/999999").status_code == 404


def test_pushes_during_collections_leave_every_image_whole(gc_server):
    """THE safety test: images sharing layers with deleted ones are pushed (docker-like,
    skipping blobs the registry says it has) while collections run with no grace window;
    afterwards every image that was pushed pulls with every blob intact."""
    repos = [unique_repo("gcrace") for _ in range(3)]
    shared = [f"shared layer {i} ".encode() * (200 + 40 * i) for i in range(6)]
    # images whose layers become garbage: the sweeps will chase the pushes below
    for i, repo in enumerate(repos):
        old = push(gc_server, repo, f"old{i}", shared[i::3], f"old{i}")
        _delete_artifact(gc_server, old)
    live: list[Image] = []
    refused = 0
    stop = threading.Event()
    errors: list[BaseException] = []

    def pusher() -> None:
        nonlocal refused
        n = 0
        try:
            while not stop.is_set():
                n += 1
                repo = repos[n % len(repos)]
                layers = [shared[n % len(shared)], shared[(n * 5) % len(shared)],
                          f"unique {n} ".encode() * 50]
                for _attempt in range(10):
                    try:
                        image = push(gc_server, repo, f"t{n}", layers, f"img{n}",
                                     check_existing=True)
                        break
                    except PushRefused:
                        refused += 1  # a layer was swept between HEAD and PUT: push again
                else:
                    raise AssertionError("push kept being refused")
                live.append(image)
                if n % 4 == 0:  # and make more garbage for the next collection
                    victim = live.pop(0)
                    _delete_artifact(gc_server, victim)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=pusher)
    thread.start()
    freed = 0
    try:
        for _ in range(6):
            freed += run_gc(gc_server, workers=2)["result"]["freed_bytes"]
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    freed += run_gc(gc_server)["result"]["freed_bytes"]
    assert freed > 0 and len(live) >= 10
    print(f"pushed {len(live)} live images; {refused} pushes refused and retried; "
          f"{freed} bytes freed")
    missing = []
    for image in live:
        response = admin_http.get(f"{gc_server.url}/v2/{image.repo}/manifests/{image.tag}",
                                  headers={"Accept": OCI_MANIFEST}, timeout=30)
        assert response.status_code == 200, response.text
        assert sha256(response.content) == image.digest
        for digest, data in image.blobs.items():
            blob = admin_http.get(f"{gc_server.url}/v2/{image.repo}/blobs/{digest}", timeout=30)
            if blob.status_code != 200 or hashlib.sha256(blob.content).hexdigest() != \
                    digest.split(":")[1] or blob.content != data:
                missing.append((image.repo, image.tag, digest, blob.status_code))
    assert missing == [], f"{len(missing)} missing blobs (pushes refused and retried: {refused})"
