"""The audit log: every change with its actor and address, read by permission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.rest.conftest import Client, add_member, create_project, create_user, unique


def _entries(client, path="/audit-logs", **params):
    response = client.get(path, params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_changes_are_audited_with_actor_and_address(admin, new_user):
    user = new_user()
    project = create_project(user.client)
    member = new_user()
    mid = add_member(user.client, project, member, 2)
    user.client.put(f"/projects/{project}/members/{mid}", json={"role_id": 3})
    user.client.put(f"/projects/{project}/metadatas/auto_scan", json={"auto_scan": "true"})
    user.client.put(f"/projects/{project}", json={"metadata": {"public": "true"}})
    user.client.delete(f"/projects/{project}/members/{mid}")
    user.client.delete(f"/projects/{project}")
    admin.put(f"/users/{member.id}", json={"comment": "checked"})
    admin.delete(f"/users/{member.id}")

    mine = _entries(admin, q=f"username={user.username}")
    assert [(e["operation"], e["resource_type"], e["resource"]) for e in reversed(mine)] == [
        ("create", "project", project),
        ("create", "project_member", f"{project}:{member.username}"),
        ("update", "project_member", f"{project}:{member.username}"),
        ("update", "project_metadata", project),
        ("update", "project", project),
        ("delete", "project_member", f"{project}:{member.username}"),
        ("delete", "project", project),
    ]
    assert {e["client_ip"] for e in mine} == {"127.0.0.1"}
    about_member = _entries(admin, q=f"resource={member.username},resource_type=user")
    assert [(e["username"], e["operation"]) for e in about_member] == [
        ("admin", "delete"), ("admin", "update"), ("admin", "create")]
    created = datetime.fromisoformat(mine[-1]["op_time"].replace("Z", "+00:00"))
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)


def test_password_changes_are_audited_without_the_password(admin, new_user):
    user = new_user()
    admin.put(f"/users/{user.id}/password", json={"new_password": "Secret-Word9"})
    entries = _entries(admin, q=f"resource={user.username},operation=update")
    assert len(entries) == 1 and "Secret-Word9" not in str(entries)


def test_filters_and_sorting(admin, new_user):
    marker = unique("flt")
    for i in range(3):
        create_user(admin, username=f"{marker}{i}")
    fuzzy = _entries(admin, q=f"resource=~{marker},operation=create", sort="resource")
    assert [e["resource"] for e in fuzzy] == [f"{marker}{i}" for i in range(3)]
    paged = admin.get("/audit-logs", params={"q": f"resource=~{marker}", "page_size": 1})
    assert paged.headers["X-Total-Count"] == "3" and 'rel="next"' in paged.headers["Link"]
    now = datetime.now(UTC)
    since, until = now - timedelta(minutes=5), now + timedelta(minutes=5)
    window = f"[{since:%Y-%m-%d %H:%M:%S}~{until:%Y-%m-%d %H:%M:%S}]"
    assert len(_entries(admin, q=f"resource=~{marker},op_time={window}")) == 3
    old = "[2000-01-01 00:00:00~2000-01-02 00:00:00]"
    assert _entries(admin, q=f"resource=~{marker},op_time={old}") == []
    assert admin.get("/audit-logs", params={"q": "op_time=[nope~]"}).status_code == 400
    assert admin.get("/audit-logs", params={"q": "password=x"}).status_code == 400


def test_who_may_read_which_logs(admin, new_user, new_project):
    project, other = new_project(), new_project()
    owner, developer, stranger = new_user(), new_user(), new_user()
    add_member(admin, project, owner, 1)
    add_member(admin, project, developer, 2)
    create_user(admin)  # a user change: not a project's log

    owner_view = _entries(owner.client)
    assert owner_view and all(e["resource"].startswith(project) for e in owner_view)
    assert not any(e["resource"].startswith(other) for e in owner_view)
    assert _entries(developer.client) == []
    assert _entries(stranger.client) == []
    assert admin.anonymous().get("/audit-logs").status_code == 401

    assert owner.client.get(f"/projects/{project}/logs").status_code == 200
    project_logs = _entries(owner.client, f"/projects/{project}/logs")
    assert {e["resource"] for e in project_logs} >= {project, f"{project}:{developer.username}"}
    assert developer.client.get(f"/projects/{project}/logs").status_code == 403
    assert stranger.client.get(f"/projects/{project}/logs").status_code == 403
    assert admin.anonymous().get(f"/projects/{project}/logs").status_code == 401
    assert len(_entries(admin, f"/projects/{project}/logs")) == len(project_logs)


def test_forwarded_for_is_ignored_from_untrusted_peers(admin):
    name = unique("xff")
    admin.post("/projects", json={"project_name": name},
               headers={"X-Forwarded-For": "203.0.113.9"})
    (entry,) = _entries(admin, q=f"resource={name}")
    assert entry["client_ip"] == "127.0.0.1"


def test_forwarded_for_is_honoured_from_a_trusted_proxy(start_registry):
    server = start_registry({"HT_TRUSTED_PROXIES": "127.0.0.1/32"})
    admin = Client(server.url, ("admin", server.admin_password))
    name = unique("xff")
    headers = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 127.0.0.1"}
    assert admin.post("/projects", json={"project_name": name}, headers=headers) \
        .status_code == 201
    (entry,) = _entries(admin, q=f"resource={name}")
    assert entry["client_ip"] == "203.0.113.9"  # the nearest address not a trusted proxy
    garbled = unique("xff")
    admin.post("/projects", json={"project_name": garbled},
               headers={"X-Forwarded-For": "not-an-ip"})
    (entry,) = _entries(admin, q=f"resource={garbled}")
    assert entry["client_ip"] == "127.0.0.1"
