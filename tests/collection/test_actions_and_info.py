"""The collection's robot secrets, its action modules (gc_run, replication_execution),
its *_info modules and the configuration module's refusal of a key the service's
configuration file fixes — all through ``ansible-playbook`` against a real server."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.collection.batch import BatchOutcome, Section
from tests.collection.conftest import run_batch, runner_for
from tests.support.oci import push_image
from tests.support.server import RegistryServer

M = "harbor_twisted.registry."


def _check(*that: str) -> dict[str, Any]:
    return {"name": "Check", "ansible.builtin.assert": {"that": list(that), "quiet": True}}


def _token_status(server: RegistryServer, user: str, secret: str, project: str) -> int:
    answer = requests.get(f"{server.url}/service/token",
                          params={"service": "harbor-registry",
                                  "scope": f"repository:{project}/app:pull"},
                          auth=(user, secret), timeout=10)
    return answer.status_code


def robot_secret_tasks(project: str, secrets_file: Path) -> list[dict[str, Any]]:
    robot = {"name": "puller", "project": project, "duration": -1,
             "access": [{"resource": "repository", "action": "pull"}]}
    return [
        {"name": "Project", M + "project": {"name": project}},
        {"name": "Robot", M + "robot": robot, "register": "first"},
        {"name": "Robot again", M + "robot": robot, "register": "again"},
        {"name": "Refresh", M + "robot": {**robot, "update_secret": "always"},
         "register": "refreshed"},
        {"name": "A robot with a chosen secret",
         M + "robot": {**robot, "name": "chosen", "secret": "Chosen-Secret-1234"},
         "register": "chosen"},
        _check("first is changed and first.secret | length >= 8",
               "again is not changed and again.secret is not defined",
               "refreshed is changed and refreshed.secret != first.secret",
               "chosen is changed and chosen.secret is not defined",
               f"first.robot.full_name.endswith('{project}+puller')"),
        {"name": "Keep the secrets for the test",
         "ansible.builtin.copy": {"dest": str(secrets_file), "mode": "0600", "content":
                                  "{{ {'first': first.secret, 'refreshed': refreshed.secret,"
                                  " 'name': first.robot.full_name} | to_json }}"}},
    ]


def info_tasks(project: str, digest: str, s: str) -> list[dict[str, Any]]:
    """Run in check mode: the *_info modules read there too and never change anything."""
    return [
        {"name": "Project", M + "project_info": {"name": project}, "register": "p"},
        {"name": "No such project", M + "project_info": {"name": f"none-{s}"},
         "register": "nothing"},
        {"name": "Repositories", M + "repository_info": {"project": project}, "register": "r"},
        {"name": "One repository", M + "repository_info": {"project": project, "name": "app"},
         "register": "one"},
        {"name": "Artifact", M + "artifact_info": {
            "project": project, "repository": "app", "reference": "v1"}, "register": "a"},
        {"name": "User", M + "user_info": {"name": "admin"}, "register": "u"},
        {"name": "GC", M + "gc_info": {}, "register": "g"},
        {"name": "Executions", M + "replication_execution_info": {}, "register": "e"},
        _check(f"p is not changed and p.projects | map(attribute='name') | list == ['{project}']",
               "nothing.projects == []",
               f"r.repositories | map(attribute='name') | list == ['{project}/app']",
               "one.repositories | length == 1",
               f"a.artifacts | map(attribute='digest') | list == ['{digest}']",
               "a.artifacts[0].tags | map(attribute='name') | list == ['v1']",
               "u.users[0].username == 'admin' and u.users[0].sysadmin_flag",
               "g.schedule is mapping and g.runs is sequence",
               "e.executions is sequence",
               "[p, r, a, u, g, e] | select('changed') | list == []"),
    ]


def gc_run_tasks() -> list[dict[str, Any]]:
    return [
        {"name": "Runs before", M + "gc_info": {}, "register": "before"},
        {"name": "Predict a run", M + "gc_run": {"dry_run": True}, "check_mode": True,
         "register": "predicted"},
        {"name": "Runs after the prediction", M + "gc_info": {}, "register": "unchanged"},
        {"name": "Run a dry run and wait", M + "gc_run": {"dry_run": True, "wait": True},
         "register": "ran"},
        {"name": "That run", M + "gc_info": {"id": "{{ ran.run.id }}"}, "register": "one"},
        _check("predicted is changed and unchanged.runs | length == before.runs | length",
               "ran is changed and ran.run.job_status == 'Success'",
               "(ran.run.job_parameters | from_json).dry_run",
               "one.runs | map(attribute='id') | list == [ran.run.id]"),
    ]


def replication_execution_tasks(s: str) -> list[dict[str, Any]]:
    source, endpoint, policy = f"coll-src-{s}", f"coll-self-{s}", f"coll-x-{s}"
    return [
        {"name": "Source project", M + "project": {"name": source}},
        {"name": "This registry as an endpoint", M + "registry": {
            "name": endpoint, "endpoint_url": "{{ harbor_url }}", "type": "harbor",
            "access_key": "admin", "access_secret": "{{ harbor_password }}"}},
        {"name": "Policy", M + "replication_policy": {
            "name": policy, "dest_registry": endpoint, "dest_namespace": f"mirror-{s}",
            "filters": [{"type": "name", "value": f"{source}/**"}]}},
        {"name": "Predict", M + "replication_execution": {"policy": policy},
         "check_mode": True, "register": "predicted"},
        {"name": "None yet", M + "replication_execution_info": {"policy": policy},
         "register": "before"},
        {"name": "Replicate and wait", M + "replication_execution": {
            "policy": policy, "wait": True, "wait_timeout": 120}, "register": "ran"},
        {"name": "Executions", M + "replication_execution_info": {"policy": policy},
         "register": "after"},
        _check("predicted is changed and before.executions == []",
               "ran is changed and ran.execution.status in ['Success', 'Succeed']",
               "after.executions | map(attribute='id') | list == [ran.execution.id]"),
        {"name": "Remove the policy", M + "replication_policy": {
            "name": policy, "state": "absent"}},
        {"name": "Remove the endpoint", M + "registry": {"name": endpoint, "state": "absent"}},
    ]


def member_group_tasks(s: str) -> list[dict[str, Any]]:
    project, group = f"coll-mg-{s}", f"coll-grp-{s}"
    member = {"project": project, "group": group, "role": "maintainer"}
    return [
        {"name": "Project", M + "project": {"name": project}},
        {"name": "An HTTP group", M + "usergroup": {"name": group, "group_type": "http"}},
        {"name": "The group as a member", M + "project_member": member, "register": "added"},
        {"name": "Again", M + "project_member": member, "register": "again"},
        {"name": "A group that does not exist", M + "project_member": {
            **member, "group": f"nobody-{s}"}, "register": "missing",
         "ignore_errors": True},
        {"name": "Members", "ansible.builtin.uri": {
            "url": "{{ harbor_url }}/api/v2.0/projects/" + project + "/members",
            "url_username": "admin", "url_password": "{{ harbor_password }}",
            "force_basic_auth": True}, "register": "read"},
        _check("added is changed and again is not changed",
               "added.member.entity_type == 'g' and added.member.role == 'maintainer'",
               f"read.json | selectattr('entity_name', 'equalto', '{group}') "
               "| map(attribute='role_id') | list == [4]",
               "missing is failed and 'does not exist' in missing.msg"),
        {"name": "Remove the member", M + "project_member": {**member, "state": "absent"}},
        {"name": "Remove the project", M + "project": {"name": project, "state": "absent"}},
    ]


@dataclass
class Actions:
    outcome: BatchOutcome
    server: RegistryServer
    robot_project: str
    robot_secrets: Path


@pytest.fixture(scope="module")
def actions(server: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Actions:
    """This module's plays as one ``ansible-playbook`` run (tests/collection/batch.py)."""
    s = secrets.token_hex(3)
    workdir = tmp_path_factory.mktemp("actions")
    info_project, robot_project = f"coll-info-{s}", f"coll-rs-{s}"
    requests.post(f"{server.url}/api/v2.0/projects", json={"project_name": info_project},
                  auth=("admin", server.admin_password), timeout=10).raise_for_status()
    pushed = push_image(server.url, f"{info_project}/app", "v1")
    robot_secrets = workdir / "secrets.json"
    outcome = run_batch(server, workdir, [
        Section("robot_secret", robot_secret_tasks(robot_project, robot_secrets)),
        Section("info", info_tasks(info_project, pushed.digest, s), check=True),
        Section("gc_run", gc_run_tasks()),
        Section("replication_execution", replication_execution_tasks(s)),
        Section("member_group", member_group_tasks(s)),
    ])
    return Actions(outcome, server, robot_project, robot_secrets)


def _passed(actions: Actions, name: str) -> None:
    assert name in actions.outcome.done, actions.outcome.explain(name)


def test_robot_secret_is_returned_once_and_works(actions: Actions) -> None:
    _passed(actions, "robot_secret")
    found = json.loads(actions.robot_secrets.read_text())
    server, project = actions.server, actions.robot_project
    assert _token_status(server, found["name"], found["refreshed"], project) == 200
    assert _token_status(server, found["name"], found["first"], project) == 401
    chosen_name = found["name"].replace("+puller", "+chosen")
    assert _token_status(server, chosen_name, "Chosen-Secret-1234", project) == 200


def test_info_modules_report_what_exists_and_never_change(actions: Actions) -> None:
    _passed(actions, "info")


def test_gc_run_starts_a_run_and_check_mode_starts_none(actions: Actions) -> None:
    _passed(actions, "gc_run")


def test_replication_execution_starts_one_and_check_mode_starts_none(
        actions: Actions) -> None:
    _passed(actions, "replication_execution")


def test_project_member_by_group_name(actions: Actions) -> None:
    _passed(actions, "member_group")


def test_configuration_key_fixed_by_the_file_fails_with_a_message_saying_so(
        start_registry: Callable[..., RegistryServer], tmp_path: Path) -> None:
    pinned = start_registry({"HT_PROJECT_CREATION_RESTRICTION": "adminonly"})
    run = runner_for(pinned, tmp_path)([
        {"name": "Change the fixed key", M + "configuration": {
            "settings": {"project_creation_restriction": "everyone"}},
         "register": "refused", "ignore_errors": True},
        {"name": "Ask for the value it has", M + "configuration": {
            "settings": {"project_creation_restriction": "adminonly"}}, "register": "same"},
        {"name": "An unknown key", M + "configuration": {"settings": {"colour": "red"}},
         "register": "unknown", "ignore_errors": True},
        _check("refused is failed and refused is not changed",
               "'project_creation_restriction is fixed' in refused.msg",
               "'configuration file' in refused.msg",
               "same is not changed",
               "unknown is failed and 'unknown configuration key: colour' in unknown.msg"),
    ])
    assert run.returncode == 0, run.tail()
