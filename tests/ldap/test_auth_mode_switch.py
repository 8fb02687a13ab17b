"""Switching a db_auth instance to ldap_auth with ``harbor-twisted admin switch-auth-mode``
against the test slapd (issue 14): users linked, kept local or in conflict, nothing lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.ldap.conftest import ldap_environment, token_actions
from tests.rest.conftest import PASSWORD, Client, add_member, create_project, create_user
from tests.support import ldap_directory as example
from tests.support.server import ROOT
from tests.support.slapd import Slapd

DEVELOPER = 2


def _switch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harbor_twisted.cli", "admin", "switch-auth-mode", *args],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
        check=False,
    )


def _robot(admin: Client, project: str) -> tuple[str, str]:
    response = admin.post("/robots", json={
        "name": "switch-bot", "level": "system", "duration": -1, "description": "kept",
        "permissions": [{"kind": "project", "namespace": project,
                         "access": [{"resource": "repository", "action": "pull"}]}]})
    assert response.status_code == 201, response.text
    return response.json()["name"], response.json()["secret"]


def _logs_in(url: str, username: str, password: str) -> bool:
    response = requests.get(f"{url}/api/v2.0/users/current", auth=(username, password),
                            timeout=30)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return request.getfixturevalue("postgres_cluster").create_database()


def test_switch_db_auth_to_ldap_auth_keeps_everything(
    start_registry, slapd: Slapd, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "switch"
    env = {**ldap_environment(slapd, data_dir), "HT_DATA": str(data_dir)}
    if database_url:
        env["HT_DATABASE_URL"] = database_url
    db_env = {**env, "HT_AUTH_MODE": "db_auth"}

    def start(mode_env: dict[str, str]):
        return start_registry(mode_env, data_dir, database_url)

    server = start(db_env)
    admin = Client(server.url, ("admin", server.admin_password))
    alice = create_user(admin, username=example.ALICE.uid, email="alice-local@example.com")
    local = create_user(admin, username="zed-local")
    create_user(admin, username="carol")
    # "Carol" maps to carol's entry too: a conflict
    twin = create_user(admin, username="Carol", email="carol-twin@example.com")
    project = create_project(admin)
    add_member(admin, project, alice, DEVELOPER)
    robot_name, robot_secret = _robot(admin, project)
    assert server.stop() == 0

    # the configured mode changed but the switch has not run: the service says what to do
    with pytest.raises(RuntimeError, match="switch-auth-mode ldap_auth"):
        start(env)

    dry = _switch(db_env, "ldap_auth", "--dry-run")
    assert dry.returncode == 1, dry.stderr  # conflicts
    assert "dry run: nothing changed" in dry.stdout
    assert f"alice → {example.ALICE.dn}" in dry.stdout
    assert "zed-local: not in the directory" in dry.stdout
    assert "admin: admin always stays a database user" in dry.stdout
    assert "carol, Carol: these users all map to the entry" in dry.stdout

    refused = _switch(db_env, "ldap_auth")
    assert refused.returncode == 1
    assert "refused until these conflicts are resolved" in refused.stderr
    assert "carol, Carol" in refused.stderr

    # nothing changed: still db_auth, the local password still works; resolve the conflict
    server = start(db_env)
    admin = Client(server.url, ("admin", server.admin_password))
    assert admin.get("/systeminfo").json()["auth_mode"] == "db_auth"
    assert _logs_in(server.url, alice.username, PASSWORD)
    assert admin.delete(f"/users/{twin.id}").status_code == 200
    assert server.stop() == 0

    done = _switch(db_env, "ldap_auth")
    assert done.returncode == 0, done.stderr
    assert "linked to the directory (2):" in done.stdout
    assert "done: auth_mode is now ldap_auth" in done.stdout
    again = _switch(db_env, "ldap_auth")
    assert "already ldap_auth" in again.stdout

    server = start(env)
    admin = Client(server.url, ("admin", server.admin_password))
    assert admin.get("/systeminfo").json()["auth_mode"] == "ldap_auth"
    assert _logs_in(server.url, alice.username, example.ALICE.password)
    assert not _logs_in(server.url, alice.username, PASSWORD)
    assert _logs_in(server.url, "carol", example.CAROL.password)
    assert _logs_in(server.url, local.username, PASSWORD)  # kept local
    me = requests.get(f"{server.url}/api/v2.0/users/current", timeout=30,
                      auth=(alice.username, example.ALICE.password)).json()
    assert me["user_id"] == alice.id
    members = admin.get(f"/projects/{project}/members").json()
    assert any(m["entity_id"] == alice.id and m["role_id"] == DEVELOPER for m in members)
    status, actions = token_actions(server, (alice.username, example.ALICE.password),
                                    f"{project}/app")
    assert status == 200 and "push" in actions
    status, actions = token_actions(server, (robot_name, robot_secret), f"{project}/app")
    assert status == 200 and actions == ["pull"]
    audit = admin.get("/audit-logs", params={"q": "resource=auth_mode"}).json()
    assert [(a["username"], a["operation"]) for a in audit] == [("cli", "update")]

    # back to db_auth: refused without --force, then it names who needs a password reset
    back = _switch(env, "db_auth")
    assert back.returncode == 1
    assert "--force" in back.stderr
    assert server.stop() == 0
    forced = _switch(env, "db_auth", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "need a password reset (2;" in forced.stdout
    assert "  alice" in forced.stdout
    server = start(db_env)
    assert not _logs_in(server.url, alice.username, example.ALICE.password)
    assert _logs_in(server.url, local.username, PASSWORD)


def test_switch_through_the_api(start_registry, slapd: Slapd, tmp_path: Path) -> None:
    data_dir = tmp_path / "api-switch"
    env = ldap_environment(slapd, data_dir)
    del env["HT_AUTH_MODE"]  # a mode set in the file could not be changed through the API
    server = start_registry(env, data_dir)
    admin = Client(server.url, ("admin", server.admin_password))
    alice = create_user(admin, username=example.ALICE.uid, email="alice-local@example.com")
    local = create_user(admin, username="zed-api")
    project = create_project(admin)
    add_member(admin, project, alice, DEVELOPER)
    wanted = {"auth_mode": "ldap_auth"}

    assert alice.client.put("/configurations", json=wanted).status_code == 403
    dry = admin.get("/configurations/auth_mode_switch", params={"to": "ldap_auth"})
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert plan["linked"] == [{"username": "alice", "directory_username": "alice",
                               "dn": example.ALICE.dn}]
    assert {k["username"] for k in plan["kept_local"]} == {"admin", local.username}
    assert plan["conflicts"] == []
    assert admin.get("/systeminfo").json()["auth_mode"] == "db_auth"
    assert _logs_in(server.url, alice.username, PASSWORD)

    assert admin.put("/configurations", json=wanted).status_code == 200
    assert admin.get("/systeminfo").json()["auth_mode"] == "ldap_auth"
    assert _logs_in(server.url, alice.username, example.ALICE.password)
    assert not _logs_in(server.url, alice.username, PASSWORD)
    assert _logs_in(server.url, local.username, PASSWORD)
    members = admin.get(f"/projects/{project}/members").json()
    assert any(m["entity_id"] == alice.id for m in members)
    audit = admin.get("/audit-logs", params={"q": "resource=auth_mode"}).json()
    assert [(a["username"], a["operation"]) for a in audit] == [("admin", "update")]

    back = admin.put("/configurations", json={"auth_mode": "db_auth"})
    assert back.status_code == 409 and "force=true" in back.text
    dry_back = admin.get("/configurations/auth_mode_switch", params={"to": "db_auth"})
    assert dry_back.json()["needs_password_reset"] == ["alice"]
    forced = admin.put("/configurations", json={"auth_mode": "db_auth"},
                       params={"force": "true"})
    assert forced.status_code == 200, forced.text
    assert admin.get("/systeminfo").json()["auth_mode"] == "db_auth"

    # back in db_auth, alice has no password yet: an admin sets one through the API (she has
    # none to prove, so she cannot set it herself), and she logs in with it
    assert not _logs_in(server.url, alice.username, example.ALICE.password)
    refused = alice.client.put(f"/users/{alice.id}/password",
                               json={"old_password": "", "new_password": "Alice-Own-1"})
    assert refused.status_code in (401, 403), refused.text
    reset = admin.put(f"/users/{alice.id}/password", json={"new_password": "Alice-Reset-1"})
    assert reset.status_code == 200, reset.text
    assert _logs_in(server.url, alice.username, "Alice-Reset-1")
