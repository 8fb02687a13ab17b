"""Webhook policies through the REST API: Harbor's shapes, the permission matrix (Project
Admins manage, Maintainers read), validation, audit, and the auth header that lives only in
the secrets directory."""

from __future__ import annotations

import os
import stat
import uuid

from tests.rest.conftest import Client, add_member, create_project, create_user
from tests.webhooks.conftest import create_policy, policy_body

TARGET = "https://ci.example.com/hooks/harbor"


def _policies(project: str) -> str:
    return f"/projects/{project}/webhook/policies"


def _secret_files(server, policy_id: int) -> list[str]:
    secrets_dir = server.data_dir / "secrets"
    return sorted(p.name for p in secrets_dir.glob(f"webhook-{policy_id}-target-*"))


def test_create_read_update_delete_in_harbor_shapes(hook_admin: Client):
    project = create_project(hook_admin)
    body = policy_body(TARGET, ["PUSH_ARTIFACT", "DELETE_ARTIFACT"], name="ci",
                       description="tell CI")
    policy_id = create_policy(hook_admin, project, body)
    found = hook_admin.get(f"{_policies(project)}/{policy_id}").json()
    project_id = hook_admin.get(f"/projects/{project}").json()["project_id"]
    assert found["id"] == policy_id and found["project_id"] == project_id
    assert found["name"] == "ci" and found["description"] == "tell CI"
    assert found["event_types"] == ["PUSH_ARTIFACT", "DELETE_ARTIFACT"]
    assert found["targets"] == [{"type": "http", "address": TARGET, "skip_cert_verify": False,
                                 "payload_format": "Default"}]
    assert found["enabled"] is True and found["creator"] == "admin"
    assert found["creation_time"] and found["update_time"]

    listed = hook_admin.get(_policies(project))
    assert listed.headers["X-Total-Count"] == "1"
    assert [p["id"] for p in listed.json()] == [policy_id]
    assert hook_admin.get(_policies(project), params={"q": "name=~c"}).json()[0]["id"] == (
        policy_id)
    assert hook_admin.get(_policies(project), params={"q": "name=c"}).json() == []

    response = hook_admin.put(f"{_policies(project)}/{policy_id}",
                              json={"enabled": False, "event_types": ["PULL_ARTIFACT"]})
    assert response.status_code == 200, response.text
    changed = hook_admin.get(f"{_policies(project)}/{policy_id}").json()
    assert changed["enabled"] is False and changed["event_types"] == ["PULL_ARTIFACT"]
    assert changed["targets"] == found["targets"] and changed["name"] == "ci"

    events = hook_admin.get(f"/projects/{project}/webhook/events").json()
    assert set(events["event_type"]) == {"PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT",
                                         "REPLICATION", "QUOTA_EXCEED", "TAG_RETENTION"}
    assert {f["notify_type"]: f["formats"] for f in events["payload_formats"]}["http"] == [
        "Default", "CloudEvents"]
    triggers = hook_admin.get(f"/projects/{project}/webhook/lasttrigger").json()
    assert triggers == [{"policy_name": "ci", "event_type": "PULL_ARTIFACT", "enabled": False,
                         "creation_time": found["creation_time"]}]

    assert hook_admin.delete(f"{_policies(project)}/{policy_id}").status_code == 200
    assert hook_admin.get(f"{_policies(project)}/{policy_id}").status_code == 404
    assert hook_admin.delete(f"{_policies(project)}/{policy_id}").status_code == 404
    audit = hook_admin.get("/audit-logs", params={
        "q": f"resource=~{project}/webhook/policies/{policy_id}", "page_size": 50}).json()
    assert sorted(e["operation"] for e in audit) == ["create", "delete", "update"]
    assert {e["resource_type"] for e in audit} == {"webhook_policy"}


def test_project_admins_manage_maintainers_read_others_are_refused(hook_admin: Client):
    project = create_project(hook_admin)
    users = {role: create_user(hook_admin) for role in (1, 4, 2, 3)}
    for role, user in users.items():
        add_member(hook_admin, project, user, role)
    project_admin, maintainer = users[1].client, users[4].client
    policy_id = create_policy(project_admin, project, policy_body(TARGET))
    one = f"{_policies(project)}/{policy_id}"
    assert project_admin.put(one, json={"description": "x"}).status_code == 200

    for path in (_policies(project), one, f"{one}/executions",
                 f"/projects/{project}/webhook/events",
                 f"/projects/{project}/webhook/lasttrigger"):
        assert maintainer.get(path).status_code == 200, path
    assert maintainer.post(_policies(project), json=policy_body(TARGET)).status_code == 403
    assert maintainer.put(one, json={"enabled": False}).status_code == 403
    assert maintainer.delete(one).status_code == 403

    for role in (2, 3):  # developer, guest
        client = users[role].client
        assert client.get(_policies(project)).status_code == 403
        assert client.get(one).status_code == 403
        assert client.post(_policies(project), json=policy_body(TARGET)).status_code == 403
        assert client.delete(one).status_code == 403
    anonymous = hook_admin.anonymous()
    assert anonymous.get(_policies(project)).status_code == 401
    assert anonymous.post(_policies(project), json=policy_body(TARGET)).status_code == 401
    assert anonymous.get(one).status_code == 401
    assert project_admin.delete(one).status_code == 200


def test_invalid_policies_are_refused(hook_admin: Client):
    project = create_project(hook_admin)
    path = _policies(project)

    def refused(body: object) -> str:
        response = hook_admin.post(path, json=body)
        assert response.status_code == 400, (body, response.text)
        return response.json()["errors"][0]["message"]

    assert "event type" in refused(policy_body(TARGET, ["PUSH_IMAGE"]))
    assert "address" in refused(policy_body("ftp://example.com/x"))
    assert "address" in refused(policy_body("not a url"))
    assert "address" in refused(policy_body("http://[::1/x"))
    assert "address" in refused(policy_body(""))
    assert "auth_header" in refused(policy_body("https://user:pw@hooks.example/x"))
    refused(policy_body(TARGET, []))
    refused({**policy_body(TARGET), "targets": []})
    refused({**policy_body(TARGET), "name": ""})
    refused(policy_body(TARGET, target={"type": "teams"}))
    refused(policy_body(TARGET, target={"type": "slack", "payload_format": "CloudEvents"}))
    refused(policy_body(TARGET, target={"auth_header": "Bearer a\r\nX-Injected: 1"}))
    refused(policy_body(TARGET, target={"skip_cert_verify": "yes"}))
    refused(["not", "an", "object"])
    body = policy_body(TARGET, name="taken")
    create_policy(hook_admin, project, body)
    assert hook_admin.post(path, json=body).status_code == 409
    assert hook_admin.get(f"{path}/999999").status_code == 404
    assert hook_admin.get("/projects/no-such-project-x/webhook/policies").status_code == 404
    assert hook_admin.get(_policies(project), params={"q": "creator=admin"}).status_code == 400


def _database_text(server) -> str:
    """Every row of every table, as text (SQLite and PostgreSQL alike)."""
    from sqlalchemy import create_engine, select

    from harbor_twisted.config import build_config
    from harbor_twisted.db.schema import metadata

    url = build_config({"data": str(server.data_dir),
                        "database_url": server.database_url}).effective_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(str(row) for table in metadata.sorted_tables
                             for row in conn.execute(select(table)))
    finally:
        engine.dispose()


def test_auth_header_lives_only_in_the_secrets_directory(hook_server, hook_admin: Client):
    token = f"Bearer {uuid.uuid4().hex}"
    project = create_project(hook_admin)
    policy_id = create_policy(hook_admin, project,
                              policy_body(TARGET, target={"auth_header": token}))
    secret = hook_server.data_dir / "secrets" / f"webhook-{policy_id}-target-0-auth-header"
    assert secret.read_text() == token
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    shown = hook_admin.get(f"{_policies(project)}/{policy_id}").text
    assert token not in shown and "auth_header" not in shown
    assert token not in hook_admin.get(_policies(project)).text
    # a PUT without auth_header keeps it; "" removes it
    one = f"{_policies(project)}/{policy_id}"
    assert hook_admin.put(one, json={"targets": [{"address": TARGET + "/v2"}]}).status_code == (
        200)
    assert secret.read_text() == token
    assert token not in _database_text(hook_server)
    assert token not in hook_server.log_text()
    for root, _dirs, files in os.walk(hook_server.data_dir):
        if root.startswith(str(hook_server.data_dir / "secrets")):
            continue
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                assert token.encode() not in handle.read(), path
    assert hook_admin.put(one, json={"targets": [{"address": TARGET, "auth_header": ""}]}
                          ).status_code == 200
    assert _secret_files(hook_server, policy_id) == []


def test_deleting_a_policy_or_its_project_removes_its_secrets(hook_server, hook_admin: Client):
    project = create_project(hook_admin)
    body = policy_body(TARGET, target={"auth_header": "Basic YTpi"})
    first = create_policy(hook_admin, project, body)
    second = create_policy(hook_admin, project, {**body, "name": "second"})
    assert _secret_files(hook_server, first) and _secret_files(hook_server, second)
    assert hook_admin.delete(f"{_policies(project)}/{first}").status_code == 200
    assert _secret_files(hook_server, first) == []
    assert hook_admin.delete(f"/projects/{project}").status_code == 200
    assert _secret_files(hook_server, second) == []
