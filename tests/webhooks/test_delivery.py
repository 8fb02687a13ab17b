"""Webhook deliveries end to end: registry and job events reach a real HTTP receiver in
Harbor's payload shape, with the target's auth header, retried when the receiver fails; a
disabled policy or an event type it does not select delivers nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.rest.conftest import Client, create_project, unique
from tests.support.oci import OCI_LAYER, push_image, sha256
from tests.support.server import admin_http
from tests.support.webhook_receiver import Received, Receiver, of_type
from tests.webhooks.conftest import (
    RETRY_LIMIT,
    create_policy,
    executions,
    policy_body,
    project_with_policy,
    wait_for_execution,
)


def _task(admin: Client, project: str, policy_id: int, execution_id: int) -> tuple[dict, str]:
    base = f"/projects/{project}/webhook/policies/{policy_id}/executions/{execution_id}/tasks"
    (task,) = admin.get(base).json()
    log = admin.get(f"{base}/{task['id']}/log")
    assert log.status_code == 200, log.text
    return task, log.text


def _artifact_event(received: Received, event_type: str, repo: str, digest: str,
                    tag: str) -> dict[str, Any]:
    payload = received.json
    assert payload["type"] == event_type
    assert payload["operator"] == "admin"
    assert abs(payload["occur_at"] - time.time()) < 120
    data = payload["event_data"]
    namespace, name = repo.split("/", 1)
    assert data["repository"]["name"] == name
    assert data["repository"]["namespace"] == namespace
    assert data["repository"]["repo_full_name"] == repo
    assert data["repository"]["repo_type"] == "private"
    (resource,) = data["resources"]
    assert resource["digest"] == digest
    assert resource["tag"] == tag
    assert resource["resource_url"].endswith(f"/{repo}:{tag}" if tag != digest
                                             else f"/{repo}@{digest}")
    return data


def test_push_delivers_push_artifact_with_the_auth_header(
        hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    token = f"Bearer {uuid.uuid4().hex}"
    project, policy_id = project_with_policy(hook_admin, receiver.url(path),
                                             target={"auth_header": token})
    repo = f"{project}/app"
    pushed = push_image(hook_server.url, repo, tag="v1")
    (received,) = receiver.wait(path)
    assert received.headers["authorization"] == token
    assert received.headers["content-type"] == "application/json"
    data = _artifact_event(received, "PUSH_ARTIFACT", repo, pushed.digest, "v1")
    assert data["repository"]["date_created"] > 0

    execution = wait_for_execution(hook_admin, project, policy_id)
    assert execution["status"] == "Success", execution
    assert execution["vendor_type"] == "WEBHOOK" and execution["vendor_id"] == policy_id
    assert execution["trigger"] == "EVENT"
    assert execution["extra_attrs"]["event_type"] == "PUSH_ARTIFACT"
    assert execution["metrics"]["task_count"] == 1
    assert execution["metrics"]["success_task_count"] == 1
    task, log = _task(hook_admin, project, policy_id, execution["id"])
    assert task["status"] == "Success" and task["run_count"] == 1
    assert "answered 200" in log and token not in log
    (trigger,) = hook_admin.get(f"/projects/{project}/webhook/lasttrigger").json()
    assert trigger["event_type"] == "PUSH_ARTIFACT" and trigger["last_trigger_time"]


def test_pulls_deliver_pull_artifact_and_unselected_types_nothing(
        hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    project, policy_id = project_with_policy(hook_admin, receiver.url(path), ["PULL_ARTIFACT"])
    repo = f"{project}/app"
    pushed = push_image(hook_server.url, repo, tag="v1")
    for reference in ("v1", pushed.digest):
        response = admin_http.get(f"{hook_server.url}/v2/{repo}/manifests/{reference}",
                                  timeout=30)
        assert response.status_code == 200
    found = receiver.wait(path, of_type("PULL_ARTIFACT"), count=2)
    by_tag = {r.json["event_data"]["resources"][0]["tag"]: r for r in found}
    _artifact_event(by_tag["v1"], "PULL_ARTIFACT", repo, pushed.digest, "v1")
    _artifact_event(by_tag[pushed.digest], "PULL_ARTIFACT", repo, pushed.digest,
                    pushed.digest)
    assert {r.json["type"] for r in receiver.requests(path)} == {"PULL_ARTIFACT"}
    assert {e["extra_attrs"]["event_type"] for e in executions(hook_admin, project, policy_id)
            } == {"PULL_ARTIFACT"}


def test_deletes_deliver_delete_artifact(hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    project, _ = project_with_policy(hook_admin, receiver.url(path), ["DELETE_ARTIFACT"])
    by_registry = push_image(hook_server.url, f"{project}/one", tag="v1")
    by_api = push_image(hook_server.url, f"{project}/two", tag="v2")
    response = admin_http.delete(
        f"{hook_server.url}/v2/{project}/one/manifests/{by_registry.digest}", timeout=30)
    assert response.status_code == 202
    response = hook_admin.delete(
        f"/projects/{project}/repositories/two/artifacts/{by_api.digest}")
    assert response.status_code == 200, response.text
    found = receiver.wait(path, of_type("DELETE_ARTIFACT"), count=2)
    digests = {r.json["event_data"]["resources"][0]["digest"]: r.json for r in found}
    assert set(digests) == {by_registry.digest, by_api.digest}
    assert {p["operator"] for p in digests.values()} == {"admin"}
    assert digests[by_api.digest]["event_data"]["repository"]["repo_full_name"] == (
        f"{project}/two")


def test_a_push_refused_by_the_quota_delivers_quota_exceed(
        hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    project = unique("quota")
    response = hook_admin.post("/projects", json={"project_name": project,
                                                  "storage_limit": 1000})
    assert response.status_code == 201, response.text
    create_policy(hook_admin, project, policy_body(receiver.url(path), ["QUOTA_EXCEED"]))
    layer = b"x" * 5000
    response = admin_http.post(f"{hook_server.url}/v2/{project}/big/blobs/uploads/",
                               params={"digest": sha256(layer)}, data=layer, timeout=30,
                               headers={"Content-Type": OCI_LAYER})
    assert response.status_code == 403, response.text
    (received,) = receiver.wait(path, of_type("QUOTA_EXCEED"))
    payload = received.json
    assert payload["operator"] == "admin"
    assert payload["event_data"]["resources"][0]["digest"] == sha256(layer)
    assert payload["event_data"]["repository"]["repo_full_name"] == f"{project}/big"
    assert "quota exceeded" in payload["event_data"]["custom_attributes"]["Details"]


def test_a_retention_run_delivers_tag_retention(
        hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    project, _ = project_with_policy(hook_admin, receiver.url(path), ["TAG_RETENTION"])
    for tag in ("old", "new"):
        push_image(hook_server.url, f"{project}/app", tag=tag, seed=tag)
        time.sleep(0.05)
    project_id = hook_admin.get(f"/projects/{project}").json()["project_id"]
    selector = [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]
    response = hook_admin.post("/retentions", json={
        "algorithm": "or", "scope": {"level": "project", "ref": project_id},
        "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
        "rules": [{"template": "latestPushedK", "action": "retain",
                   "params": {"latestPushedK": 1},
                   "scope_selectors": {"repository": selector},
                   "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                      "pattern": "**"}]}]})
    assert response.status_code == 201, response.text
    retention_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = hook_admin.post(f"/retentions/{retention_id}/executions", json={"dry_run": False})
    assert response.status_code == 201, response.text
    (received,) = receiver.wait(path, of_type("TAG_RETENTION"))
    retention = received.json["event_data"]["retention"]
    assert retention["project_name"] == project
    assert retention["retention_policy_id"] == retention_id
    assert (retention["total"], retention["retained"]) == (2, 1)
    assert retention["result"] == "SUCCESS"
    (deleted,) = retention["deleted_artifact"]
    assert deleted["name_tag"].startswith(f"{project}/app@sha256:")


def test_a_replication_execution_delivers_replication(
        hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    source, _ = project_with_policy(hook_admin, receiver.url(path), ["REPLICATION"])
    destination = create_project(hook_admin)
    push_path = receiver.new_path()
    create_policy(hook_admin, destination, policy_body(receiver.url(push_path)))
    pushed = push_image(hook_server.url, f"{source}/app", tag="v1")
    response = hook_admin.post("/registries", json={
        "name": unique("self"), "type": "harbor", "url": hook_server.url,
        "credential": {"type": "basic", "access_key": "admin",
                       "access_secret": hook_server.admin_password}})
    assert response.status_code == 201, response.text
    registry_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = hook_admin.post("/replication/policies", json={
        "name": unique("copy"), "dest_registry": {"id": registry_id},
        "dest_namespace": destination, "filters": [{"type": "name", "value": f"{source}/**"}],
        "trigger": {"type": "manual"}})
    assert response.status_code == 201, response.text
    policy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = hook_admin.post("/replication/executions", json={"policy_id": policy_id})
    assert response.status_code == 201, response.text
    (received,) = receiver.wait(path, of_type("REPLICATION"), timeout=60)
    replication = received.json["event_data"]["replication"]
    assert replication["job_status"] == "Success"
    assert replication["trigger_type"] == "manual"
    assert replication["src_resource"]["namespace"] == source
    assert replication["dest_resource"]["endpoint"] == hook_server.url
    assert [a["name_tag"] for a in replication["successful_artifact"]] == [f"{source}/app:v1"]
    assert replication["failed_artifact"] == []
    # the copy arrived in the destination project as a push, by the endpoint's user
    (copied,) = receiver.wait(push_path, of_type("PUSH_ARTIFACT"))
    _artifact_event(copied, "PUSH_ARTIFACT", f"{destination}/app", pushed.digest, "v1")


def test_a_failing_receiver_gets_the_event_again_with_backoff(
        hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    receiver.fail(path, 2)
    project, policy_id = project_with_policy(hook_admin, receiver.url(path))
    push_image(hook_server.url, f"{project}/app", tag="v1")
    attempts = receiver.wait(path, count=3)
    assert len({r.body for r in attempts}) == 1  # the same payload each time
    execution = wait_for_execution(hook_admin, project, policy_id)
    assert execution["status"] == "Success", execution
    task, log = _task(hook_admin, project, policy_id, execution["id"])
    assert task["run_count"] == 3
    assert log.count("answered 500 in") == 2 and log.count("answered 200 in") == 1
    assert log.count("failed: DeliveryFailed") == 2
    assert "attempt 1" in log and "attempt 3" in log


def test_an_unreachable_receiver_fails_after_the_retry_limit(
        hook_server, hook_admin: Client, receiver: Receiver):
    unused = Receiver()
    address = unused.url("/gone")
    unused.stop()  # nothing listens there any more
    project, policy_id = project_with_policy(hook_admin, address)
    push_image(hook_server.url, f"{project}/app", tag="v1")
    execution = wait_for_execution(hook_admin, project, policy_id, timeout=90)
    assert execution["status"] == "Error", execution
    task, log = _task(hook_admin, project, policy_id, execution["id"])
    assert task["run_count"] == RETRY_LIMIT + 1
    assert log.count(": no answer: ConnectionError") == RETRY_LIMIT + 1


def test_disabled_policies_and_unselected_events_deliver_nothing(
        hook_server, hook_admin: Client, receiver: Receiver):
    control = receiver.new_path()
    silent = receiver.new_path()
    project, _ = project_with_policy(hook_admin, receiver.url(control))
    disabled = create_policy(hook_admin, project, policy_body(receiver.url(silent),
                                                              enabled=False))
    other_type = create_policy(hook_admin, project,
                               policy_body(receiver.url(silent), ["DELETE_ARTIFACT"]))
    push_image(hook_server.url, f"{project}/app", tag="v1")
    receiver.wait(control)  # dispatched in the same transaction as any other delivery
    assert executions(hook_admin, project, disabled) == []
    assert executions(hook_admin, project, other_type) == []
    assert receiver.requests(silent) == []


def test_cloud_events_format(hook_server, hook_admin: Client, receiver: Receiver):
    path = receiver.new_path()
    project, policy_id = project_with_policy(hook_admin, receiver.url(path),
                                             target={"payload_format": "CloudEvents"})
    pushed = push_image(hook_server.url, f"{project}/app", tag="v1")
    (received,) = receiver.wait(path)
    assert received.headers["content-type"] == "application/cloudevents+json"
    event = received.json
    project_id = hook_admin.get(f"/projects/{project}").json()["project_id"]
    assert event["specversion"] == "1.0" and event["type"] == "harbor.artifact.pushed"
    assert event["source"] == f"/projects/{project_id}/webhook/policies/{policy_id}"
    assert event["operator"] == "admin" and event["id"]
    assert event["data"]["resources"][0]["digest"] == pushed.digest
