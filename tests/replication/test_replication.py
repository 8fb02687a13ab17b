"""Replication between two live harbor-twisted instances: push- and pull-based, manual,
scheduled and event-based, digests compared on both sides; a destination killed mid-copy;
credentials never in clear; admin-only API."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time

from tests.replication.conftest import (
    FAST_JOBS,
    add_endpoint,
    add_policy,
    admin,
    manifest_digest,
    run_policy,
    wait_digest,
    wait_execution,
)
from tests.rest.conftest import create_user
from tests.support.oci import OCI_CONFIG, OCI_LAYER, descriptor, push_blob, push_image
from tests.support.server import admin_http


def _name_filter(repo: str) -> list[dict[str, str]]:
    return [{"type": "name", "value": repo}]


def test_manual_push_based_copies_the_image_with_its_digest(pair):
    a, b = pair
    client = admin(a)
    image = push_image(a.url, "library/rep/manual", tag="v1")
    push_image(a.url, "library/rep/manual", tag="skip-me", seed="other")
    endpoint = add_endpoint(client, b)
    policy = add_policy(client, dest_registry={"id": endpoint},
                        filters=[*_name_filter("library/rep/**"),
                                 {"type": "tag", "value": "skip-*", "decoration": "excludes"}])
    execution = wait_execution(client, run_policy(client, policy))
    assert execution["status"] == "Success", execution
    assert (execution["total"], execution["succeed"], execution["failed"]) == (1, 1, 0)
    assert manifest_digest(b, image.repo, "v1") == image.digest == manifest_digest(
        a, image.repo, "v1")
    assert manifest_digest(b, image.repo, "skip-me") is None
    for layer in image.layers:
        got = admin_http.get(f"{b.url}/v2/{image.repo}/blobs/sha256:"
                             f"{hashlib.sha256(layer).hexdigest()}", timeout=30)
        assert got.content == layer
    tasks = client.get(f"/replication/executions/{execution['id']}/tasks").json()
    assert [t["status"] for t in tasks] == ["Success"]
    assert tasks[0]["src_resource"] == f"{image.repo}:v1"
    log = client.get(f"/replication/executions/{execution['id']}/tasks/{tasks[0]['id']}/log")
    assert "copied" in log.text
    # a second run finds everything there already
    again = wait_execution(client, run_policy(client, policy))
    assert again["status"] == "Success"
    log = client.get(f"/replication/executions/{again['id']}/tasks").json()
    assert "already at" in client.get(
        f"/replication/executions/{again['id']}/tasks/{log[0]['id']}/log").text


def test_credentials_never_in_clear(pair):
    a, b = pair
    client = admin(a)
    endpoint = add_endpoint(client, b)
    shown = client.get(f"/registries/{endpoint}").json()
    assert shown["credential"] == {"type": "basic", "access_key": "admin"}
    assert b.admin_password not in json.dumps(client.get("/registries").json())
    assert client.post("/registries/ping", json={"id": endpoint}).status_code == 200
    bad = client.post("/registries/ping", json={
        "url": b.url, "credential": {"access_key": "admin", "access_secret": "wrong"}})
    assert bad.status_code == 400
    database = (a.data_dir / "registry.db").read_bytes()
    for suffix in ("", "-wal"):
        path = a.data_dir / f"registry.db{suffix}"
        if path.exists():
            assert b.admin_password.encode() not in path.read_bytes()
    assert b.admin_password.encode() not in database
    secret_files = [p for p in (a.data_dir / "secrets").iterdir() if p.name.startswith("registry-")]
    assert len(secret_files) == 1
    assert stat.S_IMODE(os.stat(secret_files[0]).st_mode) == 0o600
    assert b.admin_password not in a.log_text()
    assert client.delete(f"/registries/{endpoint}").status_code == 200
    assert not secret_files[0].exists()


def test_event_based_push_and_delete(pair):
    a, b = pair
    client = admin(a)
    endpoint = add_endpoint(client, b)
    add_policy(client, dest_registry={"id": endpoint}, trigger={"type": "event_based"},
               replicate_deletion=True, filters=_name_filter("library/evt/**"))
    image = push_image(a.url, "library/evt/app", tag="v1")
    push_image(a.url, "library/other/app", tag="v1")
    assert wait_digest(b, image.repo, "v1", image.digest) == image.digest
    assert manifest_digest(b, "library/other/app", "v1") is None
    # a tag added through the API is replicated too (Harbor's replication hears tag creation)
    tags = "/projects/library/repositories/evt%252Fapp/artifacts/v1/tags"
    assert client.post(tags, json={"name": "stable"}).status_code == 201
    assert wait_digest(b, image.repo, "stable", image.digest) == image.digest
    assert admin_http.delete(f"{a.url}/v2/{image.repo}/manifests/v1", timeout=30
                             ).status_code == 202
    assert wait_digest(b, image.repo, "v1", None) is None
    # deleting by tag removes that tag only: the artifact keeps "stable" on both sides
    assert manifest_digest(b, image.repo, "stable") == image.digest
    executions = [wait_execution(client, e["id"])
                  for e in client.get("/replication/executions").json()]
    assert len(executions) == 3  # push v1, tag "stable", delete v1
    assert {e["trigger"] for e in executions} == {"event_based"}
    assert all(e["status"] == "Success" for e in executions), executions


def test_pull_based_and_scheduled(pair):
    a, b = pair
    client = admin(a)
    image = push_image(b.url, "library/pull/app", tag="v1")
    endpoint = add_endpoint(client, b)
    policy = add_policy(client, src_registry={"id": endpoint}, dest_namespace="library",
                        dest_namespace_replace_count=-1, filters=_name_filter("library/pull/**"))
    execution = wait_execution(client, run_policy(client, policy))
    assert execution["status"] == "Success", execution
    assert execution["total"] == 1, execution
    assert manifest_digest(a, "library/app", "v1") == image.digest
    # scheduled, every two seconds
    later = push_image(b.url, "library/pull/app", tag="v2", seed="v2")
    response = client.put(f"/replication/policies/{policy}", json={
        "name": "scheduled", "src_registry": {"id": endpoint}, "dest_namespace": "library",
        "dest_namespace_replace_count": -1, "filters": _name_filter("library/pull/**"),
        "trigger": {"type": "scheduled", "trigger_settings": {"cron": "*/2 * * * * *"}}})
    assert response.status_code == 200, response.text
    assert wait_digest(a, "library/app", "v2", later.digest) == later.digest
    shown = client.get(f"/replication/policies/{policy}").json()
    assert shown["trigger"] == {"type": "scheduled",
                                "trigger_settings": {"cron": "*/2 * * * * *"}}
    triggers = {e["trigger"] for e in client.get(
        "/replication/executions", params={"policy_id": policy}).json()}
    assert "schedule" in triggers


def test_destination_killed_mid_copy_resumes(start_registry, tmp_path):
    a = start_registry(FAST_JOBS)
    b = start_registry(FAST_JOBS)
    client = admin(a)
    repo = "library/big/app"
    layers = [os.urandom(6 * 1024 * 1024) for _ in range(3)]
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    for blob in [config, *layers]:
        push_blob(a.url, repo, blob)
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": descriptor(OCI_CONFIG, config),
                           "layers": [descriptor(OCI_LAYER, layer) for layer in layers]}).encode()
    assert admin_http.put(f"{a.url}/v2/{repo}/manifests/v1", data=manifest, headers={
        "Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=30
    ).status_code == 201
    endpoint = add_endpoint(client, b)
    policy = add_policy(client, dest_registry={"id": endpoint}, speed=3000,
                        filters=_name_filter(repo))
    execution_id = run_policy(client, policy)
    time.sleep(3)  # a layer or so copied at 3 MB/s
    port = b.host.rsplit(":", 1)[1]
    b.stop()
    time.sleep(3)
    b2 = start_registry({**FAST_JOBS, "HT_PORT": port}, data_dir=b.data_dir)
    execution = wait_execution(client, execution_id, timeout=120)
    assert execution["status"] == "Success", (execution, client.get(
        f"/replication/executions/{execution_id}/tasks").json())
    digest = manifest_digest(a, repo, "v1")
    assert manifest_digest(b2, repo, "v1") == digest


def test_api_is_for_system_administrators_only(pair):
    a, _ = pair
    client = admin(a)
    user = create_user(client)
    for method, path in [("get", "/registries"), ("post", "/registries"),
                         ("post", "/registries/ping"), ("get", "/replication/policies"),
                         ("post", "/replication/policies"), ("get", "/replication/executions"),
                         ("post", "/replication/executions")]:
        response = getattr(user.client, method)(path, json={})
        assert response.status_code == 403, (method, path, response.text)
        assert getattr(client.anonymous(), method)(path, json={}).status_code == 401


def test_event_based_on_postgresql(start_registry, postgres_cluster):
    a = start_registry(FAST_JOBS, database_url=postgres_cluster.create_database())
    b = start_registry(FAST_JOBS)
    client = admin(a)
    endpoint = add_endpoint(client, b)
    policy = add_policy(client, dest_registry={"id": endpoint}, trigger={"type": "event_based"},
                        filters=_name_filter("library/pg/**"))
    image = push_image(a.url, "library/pg/app", tag="v1")
    assert wait_digest(b, image.repo, "v1", image.digest) == image.digest
    execution = wait_execution(client, run_policy(client, policy))
    assert execution["status"] == "Success", execution
    tasks = client.get(f"/replication/executions/{execution['id']}/tasks").json()
    assert "already at" in client.get(
        f"/replication/executions/{execution['id']}/tasks/{tasks[0]['id']}/log").text


def test_missing_destination_projects_are_created_as_harbor_does(pair):
    """Push-based into a Harbor-type remote and pull-based into this instance: a project
    that does not exist yet is created (private) before the copy, so the replicated image
    is reachable through the token service afterwards."""
    a, b = pair
    client_a, client_b = admin(a), admin(b)
    image = push_image(a.url, "library/fresh/app", tag="v1")
    to_b = add_endpoint(client_a, b)
    pushed = add_policy(client_a, dest_registry={"id": to_b}, dest_namespace="mirror",
                        dest_namespace_replace_count=1, filters=_name_filter("library/fresh/**"))
    assert wait_execution(client_a, run_policy(client_a, pushed))["status"] == "Success"
    project = client_b.get("/projects/mirror")
    assert project.status_code == 200, project.text
    assert project.json()["metadata"]["public"] == "false"
    assert manifest_digest(b, "mirror/fresh/app", "v1") == image.digest

    from_b = add_endpoint(client_a, b, name="source")
    pulled = add_policy(client_a, src_registry={"id": from_b}, dest_namespace="pulled",
                        dest_namespace_replace_count=1, filters=_name_filter("mirror/**"))
    assert wait_execution(client_a, run_policy(client_a, pulled))["status"] == "Success"
    assert client_a.get("/projects/pulled").status_code == 200
    assert manifest_digest(a, "pulled/fresh/app", "v1") == image.digest
    created = client_a.get("/audit-logs", params={"q": "resource=pulled"}).json()
    assert [(e["operation"], e["username"]) for e in created
            if e["resource_type"] == "project"] == [("create", "harbor-replication")]
