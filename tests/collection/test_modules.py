"""Every object module of harbor_twisted.registry through its whole lifecycle, driven by
the real ``ansible-playbook`` against a real server."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import requests

from tests.collection.batch import BatchOutcome, Section
from tests.collection.conftest import Runner, run_batch
from tests.collection.lifecycle import Lifecycle, member_lifecycle, tasks
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
    return member_lifecycle(project, {"user": user}, user, setup=[
        _project(project),
        _uri("POST", "/users", {"username": user, "email": f"{user}@example.org",
                                "realname": user, "password": "Member-Pass-1"})])


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


def user_spec(s: str) -> Lifecycle:
    name = f"coll-u-{s}"
    found = f"read.json | selectattr('username', 'equalto', '{name}') | map(attribute='email')"
    return Lifecycle(
        module="user", result_key="user",
        create={"name": name, "email": f"{name}@example.org", "realname": "Collection User",
                "user_password": "User-Pass-1234"},
        change={"email": f"{name}@example.com"}, field="email",
        read=f"/users?username={name}",
        stored_before=f"{found} | list == ['{name}@example.org']",
        stored_after=f"{found} | list == ['{name}@example.com']",
        gone=f"{found} | list == []",
    )


def usergroup_spec(s: str) -> Lifecycle:
    name = f"coll-g-{s}"
    found = f"read.json | selectattr('group_name', 'equalto', '{name}') | list"
    return Lifecycle(
        module="usergroup", result_key="group",
        create={"name": name, "group_type": "http"},
        change=None, field="",
        read=f"/usergroups?group_name={name}",
        stored_before=f"{found} | map(attribute='group_type') | list == [2]",
        stored_after="true",
        gone=f"{found} == []",
    )


def robot_spec(s: str) -> Lifecycle:
    project, name = f"coll-r-{s}", "builder"
    found = f"read.json | selectattr('name', 'search', '{project}[+]{name}$')"
    return Lifecycle(
        module="robot", result_key="robot",
        setup=[{**_project(project), "register": "robot_project"}],
        create={"name": name, "project": project, "duration": -1,
                "access": [{"resource": "repository", "action": "pull"},
                           {"resource": "repository", "action": "push"}]},
        change={"description": "pushes builds"}, field="description",
        read="/robots?page_size=100&q=Level=project,ProjectID="
             "{{ robot_project.project.project_id }}",
        stored_before=f"{found} | map(attribute='description') | list == ['']",
        stored_after=f"{found} | map(attribute='description') | list == ['pushes builds']",
        gone=f"{found} | list == []",
        teardown=[_project(project, "absent")],
    )


def retention_spec(s: str) -> Lifecycle:
    project = f"coll-rt-{s}"
    return Lifecycle(
        module="retention_policy", result_key="policy",
        setup=[_project(project)],
        create={"project": project, "schedule": "",
                "rules": [{"template": "latestPushedK", "count": 5, "repositories": "app*"}]},
        change={"schedule": "0 0 1 * * *"}, field="schedule",
        read="/retentions/{{ created.policy.id }}",
        stored_before="read.json.trigger.settings.cron == '' and "
                      "read.json.rules[0].params.latestPushedK == 5",
        stored_after="read.json.trigger.settings.cron == '0 0 1 * * *'",
        absent_args={"project": project, "state": "absent"},
        teardown=[_project(project, "absent")],
    )


def immutable_spec(s: str) -> Lifecycle:
    project = f"coll-i-{s}"
    return Lifecycle(
        module="immutable_rule", result_key="rule",
        setup=[_project(project)],
        create={"project": project, "tags": "v*"},
        change={"disabled": True}, field="disabled",
        read=f"/projects/{project}/immutabletagrules",
        stored_before="read.json | map(attribute='disabled') | list == [false] and "
                      "read.json[0].tag_selectors[0].pattern == 'v*'",
        stored_after="read.json | map(attribute='disabled') | list == [true]",
        gone="read.json == []",
        teardown=[_project(project, "absent")],
    )


def webhook_spec(s: str) -> Lifecycle:
    project = f"coll-w-{s}"
    return Lifecycle(
        module="webhook_policy", result_key="policy",
        setup=[_project(project)],
        create={"project": project, "name": "ci", "event_types": ["PUSH_ARTIFACT"],
                "targets": [{"address": "http://127.0.0.1:9/hook",
                             "auth_header": "Bearer hook-token"}]},
        change={"enabled": False}, field="enabled",
        read=f"/projects/{project}/webhook/policies",
        stored_before="read.json | map(attribute='enabled') | list == [true]",
        stored_after="read.json | map(attribute='enabled') | list == [false]",
        gone="read.json == []",
        teardown=[_project(project, "absent")],
    )


def configuration_spec(_s: str) -> Lifecycle:
    key = "project_creation_restriction"
    return Lifecycle(
        module="configuration", result_key="settings", absent=False,
        setup=[_uri("PUT", "/configurations", {key: "everyone"})],
        create={"settings": {key: "adminonly", "robot_token_duration": 30}},
        change={"settings": {key: "everyone", "robot_token_duration": 30}}, field=key,
        read="/configurations",
        stored_before=f"read.json.{key}.value == 'adminonly'",
        stored_after=f"read.json.{key}.value == 'everyone'",
    )


SPECS = {
    "project": project_spec,
    "project_quota": project_quota_spec,
    "project_member": member_spec,
    "registry": endpoint_spec,
    "replication_policy": policy_spec,
    "gc_schedule": gc_schedule_spec,
    "user": user_spec,
    "usergroup": usergroup_spec,
    "robot": robot_spec,
    "retention_policy": retention_spec,
    "immutable_rule": immutable_spec,
    "webhook_policy": webhook_spec,
    "configuration": configuration_spec,
}


def endpoint_secret_tasks(s: str) -> list[dict[str, Any]]:
    endpoint = {"name": f"coll-s-{s}", "endpoint_url": "http://127.0.0.1:9",
                "access_key": "k", "access_secret": "one"}
    module = "harbor_twisted.registry.registry"
    return [
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
    ]


@pytest.fixture(scope="module")
def lifecycles(server: RegistryServer, tmp_path_factory: pytest.TempPathFactory
               ) -> BatchOutcome:
    """Every lifecycle of this module in one ``ansible-playbook`` run (batch.py)."""
    s = secrets.token_hex(3)
    sections = [Section(kind, tasks(spec(s))) for kind, spec in sorted(SPECS.items())]
    sections.append(Section("endpoint_secret", endpoint_secret_tasks(s)))
    return run_batch(server, tmp_path_factory.mktemp("lifecycles"), sections)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_object_module_lifecycle(kind: str, lifecycles: BatchOutcome) -> None:
    assert kind in lifecycles.done, lifecycles.explain(kind)


def test_endpoint_secret_is_sent_again_only_with_update_secret_always(
        lifecycles: BatchOutcome) -> None:
    assert "endpoint_secret" in lifecycles.done, lifecycles.explain("endpoint_secret")


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
        "robot_on_missing_project": {"harbor_twisted.registry.robot": {
            "name": "r", "permissions": [{"project": f"gone-{suffix}", "access": [
                {"resource": "repository", "action": "pull"}]}]}},
    }
    expected = {
        "unknown_option": "Unsupported parameters",
        "unknown_role": "value of role must be one of",
        "wrong_password": "check username and password",
        "unreachable": "cannot reach http://127.0.0.1:9",
        "missing_project": f"project 'nowhere-{suffix}' does not exist",
        "missing_endpoint": f"registry) 'nowhere-{suffix}' does not exist",
        "robot_on_missing_project": f"project 'gone-{suffix}' does not exist",
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
