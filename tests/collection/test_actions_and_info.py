"""The collection's robot secrets, its action modules (gc_run, replication_execution),
its *_info modules and the configuration module's refusal of a key the service's
configuration file fixes — all through ``ansible-playbook`` against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from tests.collection.conftest import Runner, runner_for
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


def test_robot_secret_is_returned_once_and_works(
        ansible: Runner, server: RegistryServer, suffix: str, tmp_path: Path) -> None:
    project = f"coll-rs-{suffix}"
    robot = {"name": "puller", "project": project, "duration": -1,
             "access": [{"resource": "repository", "action": "pull"}]}
    secrets_file = tmp_path / "secrets.json"
    run = ansible([
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
               "first.robot.full_name.endswith(project ~ '+puller')"),
        {"name": "Keep the secrets for the test",
         "ansible.builtin.copy": {"dest": str(secrets_file), "mode": "0600", "content":
                                  "{{ {'first': first.secret, 'refreshed': refreshed.secret,"
                                  " 'name': first.robot.full_name} | to_json }}"}},
    ], project=project)
    assert run.returncode == 0, run.tail()
    secrets = json.loads(secrets_file.read_text())
    assert _token_status(server, secrets["name"], secrets["refreshed"], project) == 200
    assert _token_status(server, secrets["name"], secrets["first"], project) == 401
    chosen_name = secrets["name"].replace("+puller", "+chosen")
    assert _token_status(server, chosen_name, "Chosen-Secret-1234", project) == 200


def test_info_modules_report_what_exists_and_never_change(
        ansible: Runner, server: RegistryServer, suffix: str) -> None:
    project = f"coll-info-{suffix}"
    requests.post(f"{server.url}/api/v2.0/projects", json={"project_name": project},
                  auth=("admin", server.admin_password), timeout=10).raise_for_status()
    pushed = push_image(server.url, f"{project}/app", "v1")
    run = ansible([
        {"name": "Project", M + "project_info": {"name": project}, "register": "p"},
        {"name": "No such project", M + "project_info": {"name": f"none-{suffix}"},
         "register": "nothing"},
        {"name": "Repositories", M + "repository_info": {"project": project}, "register": "r"},
        {"name": "One repository", M + "repository_info": {"project": project, "name": "app"},
         "register": "one"},
        {"name": "Artifact", M + "artifact_info": {
            "project": project, "repository": "app", "reference": "v1"}, "register": "a"},
        {"name": "User", M + "user_info": {"name": "admin"}, "register": "u"},
        {"name": "GC", M + "gc_info": {}, "register": "g"},
        {"name": "Executions", M + "replication_execution_info": {}, "register": "e"},
        _check("p is not changed and p.projects | map(attribute='name') | list == [project]",
               "nothing.projects == []",
               f"r.repositories | map(attribute='name') | list == ['{project}/app']",
               "one.repositories | length == 1",
               f"a.artifacts | map(attribute='digest') | list == ['{pushed.digest}']",
               "a.artifacts[0].tags | map(attribute='name') | list == ['v1']",
               "u.users[0].username == 'admin' and u.users[0].sysadmin_flag",
               "g.schedule is mapping and g.runs is sequence",
               "e.executions is sequence",
               "[p, r, a, u, g, e] | select('changed') | list == []"),
    ], check=True, project=project)
    assert run.returncode == 0, run.tail()


def test_gc_run_starts_a_run_and_check_mode_starts_none(ansible: Runner) -> None:
    run = ansible([
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
    ])
    assert run.returncode == 0, run.tail()


def test_replication_execution_starts_one_and_check_mode_starts_none(
        ansible: Runner, suffix: str) -> None:
    source, endpoint, policy = f"coll-src-{suffix}", f"coll-self-{suffix}", f"coll-x-{suffix}"
    run = ansible([
        {"name": "Source project", M + "project": {"name": source}},
        {"name": "This registry as an endpoint", M + "registry": {
            "name": endpoint, "endpoint_url": "{{ harbor_url }}", "type": "harbor",
            "access_key": "admin", "access_secret": "{{ harbor_password }}"}},
        {"name": "Policy", M + "replication_policy": {
            "name": policy, "dest_registry": endpoint, "dest_namespace": f"mirror-{suffix}",
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
    ])
    assert run.returncode == 0, run.tail()


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


def test_project_member_by_group_name(ansible: Runner, suffix: str) -> None:
    project, group = f"coll-mg-{suffix}", f"coll-grp-{suffix}"
    member = {"project": project, "group": group, "role": "maintainer"}
    run = ansible([
        {"name": "Project", M + "project": {"name": project}},
        {"name": "An HTTP group", M + "usergroup": {"name": group, "group_type": "http"}},
        {"name": "The group as a member", M + "project_member": member, "register": "added"},
        {"name": "Again", M + "project_member": member, "register": "again"},
        {"name": "A group that does not exist", M + "project_member": {
            **member, "group": f"nobody-{suffix}"}, "register": "missing",
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
    ])
    assert run.returncode == 0, run.tail()
