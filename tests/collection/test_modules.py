"""Every object module of harbor_twisted.registry through its whole lifecycle, driven by
the real ``ansible-playbook`` against a real server."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.collection.conftest import Runner
from tests.collection.lifecycle import Lifecycle, tasks
from tests.support.server import RegistryServer


def _uri(method: str, path: str, body: Any = None, status: list[int] | None = None
         ) -> dict[str, Any]:
    args: dict[str, Any] = {
        "url": "{{ harbor_url }}/api/v2.0" + path, "method": method,
        "url_username": "{{ harbor_username }}", "url_password": "{{ harbor_password }}",
        "force_basic_auth": True, "status_code": status or [200, 201]}
    if body is not None:
        args.update(body_format="json", body=body)
    return {"name": f"{method} {path}", "ansible.builtin.uri": args}


def _project(name: str, state: str = "present") -> dict[str, Any]:
    return {"name": f"Project {name} {state}",
            "harbor_twisted.registry.project": {"name": name, "state": state}}


def _endpoint(name: str, state: str = "present") -> dict[str, Any]:
    return {"name": f"Endpoint {name} {state}",
            "harbor_twisted.registry.registry": {
                "name": name, "state": state, "endpoint_url": "http://127.0.0.1:9"}}


def project_spec(s: str) -> Lifecycle:
    name = f"coll-{s}"
    return Lifecycle(
        module="project", result_key="project",
        create={"name": name, "public": False, "storage_limit": 1048576,
                "metadata": {"auto_scan": True}},
        change={"public": True}, field="public",
        read=f"/projects/{name}",
        stored_before="read.json.metadata.public == 'false'",
        stored_after="read.json.metadata.public == 'true' "
                     "and read.json.metadata.auto_scan == 'true'",
    )


def project_quota_spec(s: str) -> Lifecycle:
    name = f"coll-q-{s}"
    return Lifecycle(
        module="project", result_key="project",
        create={"name": name, "storage_limit": 1048576},
        change={"storage_limit": 2097152}, field="storage_limit",
        read="/quotas?reference=project&reference_id={{ created.project.project_id }}",
        stored_before="read.json | map(attribute='hard.storage') | list == [1048576]",
        stored_after="read.json | map(attribute='hard.storage') | list == [2097152]",
        gone="read.json == []",
    )


def member_spec(s: str) -> Lifecycle:
    project, user = f"coll-m-{s}", f"member-{s}"
    return Lifecycle(
        module="project_member", result_key="member",
        setup=[_project(project),
               _uri("POST", "/users", {"username": user, "email": f"{user}@example.org",
                                       "realname": user, "password": "Member-Pass-1"})],
        create={"project": project, "user": user, "role": "guest"},
        change={"role": "developer"}, field="role",
        read=f"/projects/{project}/members?entityname={user}",
        stored_before="read.json | map(attribute='role_id') | list == [3]",
        stored_after="read.json | map(attribute='role_id') | list == [2]",
        gone="read.json == []",
        absent_args={"project": project, "user": user, "state": "absent"},
        teardown=[_project(project, "absent")],
    )


def endpoint_spec(s: str) -> Lifecycle:
    name = f"coll-e-{s}"
    return Lifecycle(
        module="registry", result_key="registry",
        create={"name": name, "endpoint_url": "http://127.0.0.1:9/", "type": "docker-registry",
                "access_key": "replicator", "access_secret": "first-secret"},
        change={"insecure": True}, field="insecure",
        read=f"/registries?name={name}",
        stored_before="read.json | map(attribute='insecure') | list == [false]",
        stored_after="read.json | map(attribute='insecure') | list == [true]",
        gone="read.json == []",
    )


def policy_spec(s: str) -> Lifecycle:
    name, endpoint = f"coll-p-{s}", f"coll-pe-{s}"
    return Lifecycle(
        module="replication_policy", result_key="policy",
        setup=[_endpoint(endpoint)],
        create={"name": name, "dest_registry": endpoint, "dest_namespace": "mirror",
                "trigger": "scheduled", "cron": "0  0 2 * * *",
                "filters": [{"type": "name", "value": "library/**"}]},
        change={"enabled": False}, field="enabled",
        read=f"/replication/policies?name={name}",
        stored_before="read.json | map(attribute='enabled') | list == [true]",
        stored_after="read.json | map(attribute='enabled') | list == [false] and "
                     "read.json[0].trigger.trigger_settings.cron == '0 0 2 * * *'",
        gone="read.json == []",
        teardown=[_endpoint(endpoint, "absent")],
    )


def gc_schedule_spec(_s: str) -> Lifecycle:
    none = {"name": "No schedule", "harbor_twisted.registry.gc_schedule": {"schedule": "None"}}
    return Lifecycle(
        module="gc_schedule", result_key="schedule", absent=False,
        setup=[none],
        create={"schedule": "daily", "workers": 2},
        change={"schedule": "0 0 3 * * 0"}, field="schedule",
        read="/system/gc/schedule",
        stored_before="read.json.schedule.type == 'Daily'",
        stored_after="read.json.schedule.type == 'Custom' and read.json.parameters.workers == 2",
        teardown=[none],
    )


SPECS = {
    "project": project_spec,
    "project_quota": project_quota_spec,
    "project_member": member_spec,
    "registry": endpoint_spec,
    "replication_policy": policy_spec,
    "gc_schedule": gc_schedule_spec,
}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_object_module_lifecycle(kind: str, ansible: Runner, suffix: str) -> None:
    run = ansible(tasks(SPECS[kind](suffix)))
    assert run.returncode == 0, run.tail()
    assert "failed=0" in run.output


def test_endpoint_secret_is_sent_again_only_with_update_secret_always(
        ansible: Runner, suffix: str) -> None:
    endpoint = {"name": f"coll-s-{suffix}", "endpoint_url": "http://127.0.0.1:9",
                "access_key": "k", "access_secret": "one"}
    module = "harbor_twisted.registry.registry"
    run = ansible([
        {"name": "Create", module: endpoint},
        {"name": "Another secret, on_create", module: {**endpoint, "access_secret": "two"},
         "register": "kept", "diff": True},
        {"name": "Another secret, always", module: {**endpoint, "access_secret": "two",
                                                    "update_secret": "always"},
         "register": "sent", "diff": True},
        {"name": "Checks", "ansible.builtin.assert": {"that": [
            "kept is not changed", "sent is changed",
            "'two' not in (sent | to_json)",
            "sent.diff.after.access_secret == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'"]}},
        {"name": "Delete", module: {**endpoint, "state": "absent"}},
    ])
    assert run.returncode == 0, run.tail()


def _audit_total(registry: RegistryServer) -> int:
    answer = requests.get(registry.url + "/api/v2.0/audit-logs?page_size=1",
                          auth=("admin", registry.admin_password), timeout=10)
    answer.raise_for_status()
    return int(answer.headers["X-Total-Count"])


def test_bad_input_fails_clearly_and_changes_nothing(
        ansible: Runner, server: RegistryServer, suffix: str) -> None:
    project = f"coll-bad-{suffix}"
    module = "harbor_twisted.registry.project"
    attempts = {
        "unknown_option": {module: {"name": project, "colour": "red"}},
        "unknown_role": {"harbor_twisted.registry.project_member": {
            "project": "library", "user": "admin", "role": "owner"}},
        "wrong_password": {module: {"name": project, "password": "not-the-password"}},
        "unreachable": {module: {"name": project, "url": "http://127.0.0.1:9"}},
        "missing_project": {"harbor_twisted.registry.project_member": {
            "project": f"nowhere-{suffix}", "user": "admin", "role": "guest"}},
        "missing_endpoint": {"harbor_twisted.registry.replication_policy": {
            "name": project, "dest_registry": f"nowhere-{suffix}"}},
    }
    expected = {
        "unknown_option": "Unsupported parameters",
        "unknown_role": "value of role must be one of",
        "wrong_password": "check username and password",
        "unreachable": "cannot reach http://127.0.0.1:9",
        "missing_project": f"project 'nowhere-{suffix}' does not exist",
        "missing_endpoint": f"registry) 'nowhere-{suffix}' does not exist",
    }
    steps: list[dict[str, Any]] = []
    for name, task in attempts.items():
        steps.append({"name": name, **task, "register": name, "ignore_errors": True})
    steps.append({"name": "Each failed with its message and changed nothing",
                  "ansible.builtin.assert": {"that": [
                      f"{name} is failed and {name} is not changed and "
                      f"{text!r} in {name}.msg" for name, text in expected.items()]}})
    steps.append(_uri("GET", f"/projects/{project}", status=[404]))
    before = _audit_total(server)
    run = ansible(steps)
    assert run.returncode == 0, run.tail()
    assert _audit_total(server) == before
