"""Robot accounts through ``/robots``, their secrets, and the tokens they get."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select, update

from harbor_twisted.db.identity_models import audit_log, robot
from tests.rest.conftest import Client, add_member, error_code, unique

DAY = 86400


def _engine(registry):
    return create_engine(registry.database_url
                         or f"sqlite:///{registry.data_dir / 'registry.db'}")


def _robot_row(registry, robot_id: int) -> Any:
    engine = _engine(registry)
    try:
        with engine.connect() as conn:
            return conn.execute(select(robot).where(robot.c.id == robot_id)).first()
    finally:
        engine.dispose()


def _set_expires_at(registry, robot_id: int, expires_at: int) -> None:
    engine = _engine(registry)
    try:
        with engine.begin() as conn:
            conn.execute(update(robot).where(robot.c.id == robot_id)
                         .values(expires_at=expires_at))
    finally:
        engine.dispose()


def _access(*pairs: str) -> list[dict[str, str]]:
    return [{"resource": p.split(":")[0], "action": p.split(":")[1]} for p in pairs]


def _body(name: str, namespace: str, *pairs: str, level: str = "system",
          duration: int = -1, **extra: Any) -> dict[str, Any]:
    return {"name": name, "level": level, "duration": duration, "description": "ci",
            "permissions": [{"kind": "project", "namespace": namespace,
                             "access": _access(*pairs)}], **extra}


def _create(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/robots", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"].endswith(f"/robots/{created['id']}")
    return created


def _token(registry, name: str, secret: str, scope: str,
           **params: str) -> requests.Response:
    return requests.get(f"{registry.url}/service/token",
                        params={"service": "harbor-registry", "scope": scope, **params},
                        auth=(name, secret), timeout=30)


def _granted(registry, name: str, secret: str, scope: str) -> list[str]:
    response = _token(registry, name, secret, scope)
    assert response.status_code == 200, response.text
    payload = response.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return [action for entry in claims["access"] for action in entry["actions"]]


def _logs_in(registry, name: str, secret: str) -> bool:
    status = _token(registry, name, secret, "repository:library/x:pull").status_code
    assert status in (200, 401)
    return status == 200


def _project_id(admin: Client, project: str) -> int:
    return admin.get(f"/projects/{project}", headers={"X-Is-Resource-Name": "true"}
                     ).json()["project_id"]


# -- creating and reading -----------------------------------------------------------------


def test_system_robot_secret_is_shown_once_and_stored_hashed(registry, admin, new_project):
    project = new_project()
    name = unique("sys")
    before = int(time.time())
    created = _create(admin, _body(name, project, "repository:pull", duration=3))
    secret = created["secret"]
    assert created["name"] == f"robot${name}"
    assert len(secret) >= 32
    assert before + 3 * DAY <= created["expires_at"] <= int(time.time()) + 3 * DAY
    assert created["creation_time"].endswith("Z")

    shown = admin.get(f"/robots/{created['id']}")
    assert shown.status_code == 200
    robot_json = shown.json()
    assert "secret" not in robot_json
    assert robot_json["name"] == f"robot${name}"
    assert robot_json["level"] == "system"
    assert robot_json["duration"] == 3
    assert robot_json["expires_at"] == created["expires_at"]
    assert robot_json["disable"] is False
    assert robot_json["editable"] is True
    assert robot_json["description"] == "ci"
    assert robot_json["permissions"] == [{
        "kind": "project", "namespace": project,
        "access": [{"resource": "repository", "action": "pull", "effect": "allow"}]}]
    listed = admin.get("/robots", params={"q": f"name={name}"})
    assert listed.status_code == 200
    assert secret not in listed.text and [r["id"] for r in listed.json()] == [created["id"]]

    row = _robot_row(registry, created["id"])
    assert row.secret_hash.startswith("$argon2id$")
    assert secret not in row.secret_hash
    engine = _engine(registry)
    try:
        with engine.connect() as conn:
            details = [str(r.detail) + r.resource for r in conn.execute(
                select(audit_log).where(audit_log.c.resource_type == "robot"))]
    finally:
        engine.dispose()
    assert details and not any(secret in d for d in details)
    assert secret not in registry.log_text()
    for path in Path(registry.data_dir).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_project_robot_is_named_after_its_project(registry, admin, new_user, new_project):
    project = new_project()
    owner = new_user()
    add_member(admin, project, owner, 1)
    created = _create(owner.client, _body("ci", project, "repository:pull",
                                          "repository:push", level="project"))
    assert created["name"] == f"robot${project}+ci"
    shown = owner.client.get(f"/robots/{created['id']}").json()
    assert shown["level"] == "project"
    assert _logs_in(registry, created["name"], created["secret"])
    # the same short name is free in another project and at system level
    other = new_project()
    assert _create(admin, _body("ci", other, "repository:pull", level="project"))["name"] == \
        f"robot${other}+ci"


def test_durations_follow_harbor(registry, admin, new_project):
    project = new_project()
    never = _create(admin, _body(unique("never"), project, "repository:pull", duration=-1))
    assert never["expires_at"] == -1
    default = _create(admin, _body(unique("default"), project, "repository:pull", duration=0))
    assert abs(default["expires_at"] - (int(time.time()) + 30 * DAY)) < 120
    assert admin.get(f"/robots/{default['id']}").json()["duration"] == 30
    for duration in (-2, 10**6):
        response = admin.post("/robots", json=_body(unique("bad"), project, "repository:pull",
                                                    duration=duration))
        assert response.status_code == 400, response.text


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "CI", "a+b", "robot$x", "a b", "-a", "a..b", "x" * 256])
def test_bad_names_are_refused(admin, name):
    response = admin.post("/robots", json=_body(name, "library", "repository:pull"))
    assert response.status_code == 400, response.text
    assert error_code(response) == "BAD_REQUEST"


@pytest.mark.parametrize("change", [
    {"level": "global"},
    {"permissions": []},
    {"permissions": [{"kind": "project", "namespace": "library", "access": []}]},
    {"permissions": [{"kind": "project", "namespace": "library",
                      "access": _access("repository:push")}]},  # push without pull
    {"permissions": [{"kind": "project", "namespace": "library",
                      "access": _access("member:create")}]},
    {"permissions": [{"kind": "project", "namespace": "library",
                      "access": _access("robot:create")}]},
    {"permissions": [{"kind": "project", "namespace": "library",
                      "access": [{"resource": "repository", "action": "pull",
                                  "effect": "deny"}]}]},
    {"permissions": [{"kind": "system", "namespace": "/",
                      "access": _access("audit-log:list")}]},
    {"permissions": "all"},
    {"duration": "long"},
])
def test_bad_requests_are_refused(admin, change):
    response = admin.post("/robots", json={**_body(unique("r"), "library", "repository:pull"),
                                           **change})
    assert response.status_code == 400, response.text


def test_project_robots_have_one_permission_for_their_project(admin, new_project):
    project, other = new_project(), new_project()
    two = _body(unique("r"), project, "repository:pull", level="project")
    two["permissions"].append({"kind": "project", "namespace": other,
                               "access": _access("repository:pull")})
    assert admin.post("/robots", json=two).status_code == 400
    star = _body(unique("r"), "*", "repository:pull", level="project")
    assert admin.post("/robots", json=star).status_code == 400
    missing = _body(unique("r"), unique("nosuch"), "repository:pull", level="project")
    assert admin.post("/robots", json=missing).status_code == 404
    missing_in_system = _body(unique("r"), unique("nosuch"), "repository:pull")
    assert admin.post("/robots", json=missing_in_system).status_code == 404


def test_duplicate_names_conflict(admin, new_project):
    project = new_project()
    name = unique("dup")
    _create(admin, _body(name, project, "repository:pull"))
    again = admin.post("/robots", json=_body(name, project, "repository:pull"))
    assert again.status_code == 409 and error_code(again) == "CONFLICT"
    _create(admin, _body(name, project, "repository:pull", level="project"))
    again = admin.post("/robots", json=_body(name, project, "repository:pull", level="project"))
    assert again.status_code == 409


# -- who may manage robots --------------------------------------------------------------------


def test_only_system_admins_manage_system_robots(admin, new_user, new_project):
    project = new_project()
    owner = new_user()
    add_member(admin, project, owner, 1)
    body = _body(unique("sys"), project, "repository:pull")
    assert owner.client.post("/robots", json=body).status_code == 403
    assert admin.anonymous().post("/robots", json=body).status_code == 401
    created = _create(admin, body)
    assert owner.client.get(f"/robots/{created['id']}").status_code == 403
    assert owner.client.get("/robots").status_code == 403
    assert owner.client.delete(f"/robots/{created['id']}").status_code == 403
    assert admin.anonymous().get("/robots").status_code == 401


def test_project_roles_decide_on_project_robots(admin, new_user, new_project):
    project = new_project()
    project_id = _project_id(admin, project)
    users = {role: new_user() for role in (1, 4, 2, 3, 5)}
    for role, user in users.items():
        add_member(admin, project, user, role)
    stranger = new_user()
    body = _body(unique("r"), project, "repository:pull", level="project")
    for role in (4, 2, 3, 5):
        assert users[role].client.post("/robots", json=body).status_code == 403, role
    assert stranger.client.post("/robots", json=body).status_code == 403
    created = _create(users[1].client, body)
    query = {"q": f"Level=project,ProjectID={project_id}"}
    for role in (1, 4, 2, 3):
        listed = users[role].client.get("/robots", params=query)
        assert listed.status_code == 200, role
        assert [r["id"] for r in listed.json()] == [created["id"]]
        assert users[role].client.get(f"/robots/{created['id']}").status_code == 200
    assert users[5].client.get("/robots", params=query).status_code == 403
    assert stranger.client.get("/robots", params=query).status_code == 403
    update = {**body, "disable": True}
    assert users[4].client.put(f"/robots/{created['id']}", json=update).status_code == 403
    assert users[4].client.request("PATCH", f"/robots/{created['id']}",
                                   json={}).status_code == 403
    assert users[4].client.delete(f"/robots/{created['id']}").status_code == 403
    assert users[1].client.put(f"/robots/{created['id']}", json=update).status_code == 200
    assert users[1].client.delete(f"/robots/{created['id']}").status_code == 200


def test_robots_cannot_manage_accounts_or_projects(registry, admin, new_project):
    project = new_project()
    created = _create(admin, _body(unique("r"), project, "repository:pull", "repository:push",
                                   "repository:list", "project:read"))
    bot = admin.as_user(created["name"], created["secret"])
    project_id = _project_id(admin, project)
    assert bot.post("/robots", json=_body(unique("r"), project, "repository:pull",
                                          level="project")).status_code == 403
    assert bot.get("/robots", params={"q": f"Level=project,ProjectID={project_id}"}
                   ).status_code == 403
    assert bot.get(f"/robots/{created['id']}").status_code == 403
    assert bot.request("PATCH", f"/robots/{created['id']}", json={}).status_code == 403
    assert bot.get("/users").status_code == 403
    assert bot.post("/projects", json={"project_name": unique("p")}).status_code == 403
    assert bot.delete(f"/projects/{project}").status_code == 403
    assert bot.get(f"/projects/{project}/members").status_code == 403
    # what it was granted works through the API too
    assert bot.get(f"/projects/{project}").status_code == 200
    assert bot.get(f"/projects/{project}/repositories").status_code == 200
    other = new_project()
    assert bot.get(f"/projects/{other}").status_code == 403
    assert bot.get(f"/projects/{other}/repositories").status_code == 403


# -- listing --------------------------------------------------------------------------------


def test_listing_filters_pages_and_sorts(admin, new_project):
    project = new_project()
    project_id = _project_id(admin, project)
    stem = unique("page")
    ids = [_create(admin, _body(f"{stem}-{i}", project, "repository:pull",
                                level="project"))["id"] for i in range(3)]
    query = f"Level=project,ProjectID={project_id}"
    first = admin.get("/robots", params={"q": query, "page_size": 2, "sort": "-name"})
    assert first.status_code == 200
    assert first.headers["X-Total-Count"] == "3"
    assert [r["id"] for r in first.json()] == [ids[2], ids[1]]
    assert 'rel="next"' in first.headers["Link"]
    second = admin.get("/robots", params={"q": query, "page": 2, "page_size": 2,
                                          "sort": "-name"})
    assert [r["id"] for r in second.json()] == [ids[0]]
    assert 'rel="prev"' in second.headers["Link"]
    fuzzy = admin.get("/robots", params={"q": f"{query},name=~{stem}-1"})
    assert [r["id"] for r in fuzzy.json()] == [ids[1]]
    exact = admin.get("/robots", params={"q": f"{query},name=robot${project}+{stem}-2"})
    assert [r["id"] for r in exact.json()] == [ids[2]]
    system = admin.get("/robots", params={"q": f"name=~{stem}"})
    assert system.json() == []  # without Level: system robots only, as in Harbor
    for bad in ("Level=project", "Level=team", "Level=project,ProjectID=x",
                "Level=~project", "colour=red"):
        assert admin.get("/robots", params={"q": bad}).status_code == 400, bad
    assert admin.get("/robots", params={"sort": "colour"}).status_code == 400


# -- changing -------------------------------------------------------------------------------


def test_refresh_replaces_the_secret(registry, admin, new_project):
    project = new_project()
    created = _create(admin, _body(unique("r"), project, "repository:pull"))
    name, old = created["name"], created["secret"]
    assert _logs_in(registry, name, old)
    refreshed = admin.request("PATCH", f"/robots/{created['id']}", json={})
    assert refreshed.status_code == 200
    new = refreshed.json()["secret"]
    assert new and new != old
    assert not _logs_in(registry, name, old)
    assert _logs_in(registry, name, new)

    weak = admin.request("PATCH", f"/robots/{created['id']}", json={"secret": "short"})
    assert weak.status_code == 400
    assert _logs_in(registry, name, new)
    chosen = "Chosen-Secret-42"
    set_it = admin.request("PATCH", f"/robots/{created['id']}", json={"secret": chosen})
    assert set_it.status_code == 200 and set_it.json() == {"secret": ""}
    assert not _logs_in(registry, name, new)
    assert _logs_in(registry, name, chosen)
    assert admin.request("PATCH", "/robots/999999", json={}).status_code == 404


def test_disabled_robots_cannot_log_in(registry, admin, new_project):
    project = new_project()
    body = _body(unique("r"), project, "repository:pull")
    created = _create(admin, body)
    assert _logs_in(registry, created["name"], created["secret"])
    assert admin.put(f"/robots/{created['id']}", json={**body, "disable": True}
                     ).status_code == 200
    assert admin.get(f"/robots/{created['id']}").json()["disable"] is True
    assert not _logs_in(registry, created["name"], created["secret"])
    assert admin.put(f"/robots/{created['id']}", json={**body, "disable": False}
                     ).status_code == 200
    assert _logs_in(registry, created["name"], created["secret"])
    disabled = _create(admin, _body(unique("r"), project, "repository:pull", disable=True))
    assert not _logs_in(registry, disabled["name"], disabled["secret"])


def test_expired_robots_cannot_log_in(registry, admin, new_project):
    """No valid duration expires a robot at once, so the test moves its expiry into the past
    in the database (before the first login, which the service remembers for a minute)."""
    project = new_project()
    created = _create(admin, _body(unique("r"), project, "repository:pull", duration=1))
    past = int(time.time()) - 10
    _set_expires_at(registry, created["id"], past)
    assert admin.get(f"/robots/{created['id']}").json()["expires_at"] == past
    assert not _logs_in(registry, created["name"], created["secret"])
    never = _body(unique("r"), project, "repository:pull", duration=1)
    other = _create(admin, never)
    assert _logs_in(registry, other["name"], other["secret"])


def test_update_changes_grants_but_not_name_or_level(registry, admin, new_project):
    project = new_project()
    body = _body(unique("r"), project, "repository:pull", duration=5)
    created = _create(admin, body)
    shown = admin.get(f"/robots/{created['id']}").json()
    scope = f"repository:{project}/app:pull,push"
    assert _granted(registry, created["name"], created["secret"], scope) == ["pull"]

    for change in ({"name": unique("other")}, {"level": "project"}):
        response = admin.put(f"/robots/{created['id']}", json={**body, **change})
        assert response.status_code == 400, response.text
    wider = {**shown, "duration": 10, "description": "wider",
             "permissions": [{"kind": "project", "namespace": project,
                              "access": _access("repository:pull", "repository:push")}]}
    assert admin.put(f"/robots/{created['id']}", json=wider).status_code == 200
    after = admin.get(f"/robots/{created['id']}").json()
    assert after["duration"] == 10 and after["description"] == "wider"
    assert after["expires_at"] == created["expires_at"] + 5 * DAY  # from the creation time
    assert _granted(registry, created["name"], created["secret"], scope) == ["pull", "push"]
    assert admin.put("/robots/999999", json=body).status_code == 404
    assert admin.get("/robots/abc").status_code == 400


def test_delete_and_project_deletion_remove_robots(registry, admin, new_project):
    project = new_project()
    system_robot = _create(admin, _body(unique("r"), project, "repository:pull"))
    assert admin.delete(f"/robots/{system_robot['id']}").status_code == 200
    assert admin.get(f"/robots/{system_robot['id']}").status_code == 404
    assert admin.delete(f"/robots/{system_robot['id']}").status_code == 404
    assert not _logs_in(registry, system_robot["name"], system_robot["secret"])

    project_robot = _create(admin, _body("gone", project, "repository:pull", level="project"))
    wide = _create(admin, _body(unique("r"), project, "repository:pull"))
    assert admin.delete(f"/projects/{project}").status_code == 200
    assert admin.get(f"/robots/{project_robot['id']}").status_code == 404
    assert _robot_row(registry, project_robot["id"]) is None
    # a system robot loses the deleted project's permission, also for a project of that name
    assert admin.get(f"/robots/{wide['id']}").json()["permissions"] == []
    new_project(name=project)
    assert _granted(registry, wide["name"], wide["secret"],
                    f"repository:{project}/x:pull") == []


def test_robot_changes_are_audited(admin, new_project):
    project = new_project()
    body = _body(unique("audited"), project, "repository:pull")
    created = _create(admin, body)
    robot_id = created["id"]
    admin.put(f"/robots/{robot_id}", json={**body, "disable": True})
    admin.request("PATCH", f"/robots/{robot_id}", json={})
    admin.delete(f"/robots/{robot_id}")
    logs = admin.get("/audit-logs", params={"q": f"resource={created['name']}",
                                            "sort": "op_time", "page_size": 10}).json()
    assert [(e["operation"], e["resource_type"], e["username"]) for e in logs] == [
        ("create", "robot", "admin"), ("update", "robot", "admin"),
        ("update", "robot", "admin"), ("delete", "robot", "admin")]


# -- tokens ---------------------------------------------------------------------------------


def test_tokens_follow_robot_grants(registry, admin, new_project):
    project, other = new_project(), new_project()
    puller = _create(admin, _body(unique("pull"), project, "repository:pull"))
    pusher = _create(admin, _body(unique("push"), project, "repository:pull",
                                  "repository:push"))
    everywhere = _create(admin, _body(unique("all"), "*", "repository:pull"))
    scope = f"repository:{project}/app:pull,push,delete"
    assert _granted(registry, puller["name"], puller["secret"], scope) == ["pull"]
    assert _granted(registry, pusher["name"], pusher["secret"], scope) == ["pull", "push"]
    assert _granted(registry, pusher["name"], pusher["secret"],
                    f"repository:{other}/app:pull,push") == []
    assert _granted(registry, puller["name"], puller["secret"],
                    f"repository:{project}/app:*") == ["pull"]
    assert _granted(registry, everywhere["name"], everywhere["secret"],
                    f"repository:{other}/app:pull,push") == ["pull"]
    assert _granted(registry, pusher["name"], pusher["secret"], "registry:catalog:*") == []
    wrong = _token(registry, puller["name"], puller["secret"] + "x", scope)
    assert wrong.status_code == 401
    assert _token(registry, "robot$" + unique("nobody"), "Secret-123456", scope
                  ).status_code == 401
    offline = _token(registry, pusher["name"], pusher["secret"], scope,
                     offline_token="true", client_id="docker")
    assert offline.status_code == 200 and "refresh_token" not in offline.json()
