"""/usergroups: LDAP, HTTP and OIDC groups managed by system admins, searched by anyone
signed in; deleting a group removes its project memberships; changes are audited."""

from __future__ import annotations

import pytest
import requests

from tests.rest.conftest import Client, create_project, error_code, unique
from tests.support.ldap_directory import (
    ALICE,
    DEVELOPERS,
    example_directory,
    ldap_settings,
    write_search_password,
)


def _create(client: Client, **body) -> int:
    response = client.post("/usergroups", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["Location"].startswith("/api/v2.0/usergroups/")
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _audit(admin: Client, resource: str) -> list[tuple[str, str]]:
    entries = admin.get("/audit-logs", params={
        "q": f"resource_type=user_group,resource={resource}", "page_size": 50}).json()
    return [(e["username"], e["operation"]) for e in reversed(entries)]


def test_create_read_rename_delete_with_audit(admin):
    name, renamed = unique("grp"), unique("grp")
    group_id = _create(admin, group_name=name, group_type=2)
    assert admin.get(f"/usergroups/{group_id}").json() == {
        "id": group_id, "group_name": name, "group_type": 2, "ldap_group_dn": ""}
    assert admin.put(f"/usergroups/{group_id}", json={"group_name": renamed}).status_code == 200
    assert admin.get(f"/usergroups/{group_id}").json()["group_name"] == renamed
    assert admin.delete(f"/usergroups/{group_id}").status_code == 200
    assert admin.get(f"/usergroups/{group_id}").status_code == 404
    assert _audit(admin, name) == [("admin", "create")]
    assert _audit(admin, renamed) == [("admin", "update"), ("admin", "delete")]


def test_ldap_groups_by_dn(admin):
    marker = unique("dev")
    dn = f"cn={marker},ou=groups,dc=example,dc=com"
    group_id = _create(admin, group_type=1, ldap_group_dn=f"  {dn} ")  # name from the DN
    assert admin.get(f"/usergroups/{group_id}").json() == {
        "id": group_id, "group_name": marker, "group_type": 1, "ldap_group_dn": dn}
    again = admin.post("/usergroups", json={"group_name": unique("x"), "group_type": 1,
                                            "ldap_group_dn": dn.upper()})
    assert again.status_code == 409 and dn in again.json()["errors"][0]["message"]
    found = admin.get("/usergroups", params={"ldap_group_dn": dn.upper()})
    assert [g["id"] for g in found.json()] == [group_id]
    admin.delete(f"/usergroups/{group_id}")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"group_type": 2}, "group_name is required"),
        ({"group_name": "  ", "group_type": 3}, "group_name is required"),
        ({"group_name": "x" * 256, "group_type": 2}, "at most 255"),
        ({"group_name": "g", "group_type": 4}, "group_type must be 1 (LDAP), 2 (HTTP) or 3"),
        ({"group_name": "g", "group_type": 1}, "ldap_group_dn is required"),
        ({"group_name": "g", "group_type": 1, "ldap_group_dn": "not a dn"}, "not a valid DN"),
        ({"group_name": "g", "group_type": 2, "ldap_group_dn": "cn=g,dc=x"}, "only for LDAP"),
        ({"group_name": 5, "group_type": 2}, "group_name must be a string"),
    ],
)
def test_invalid_groups_are_refused(admin, body, message):
    response = admin.post("/usergroups", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["errors"][0]["message"]


def test_duplicate_names_conflict_within_a_type(admin):
    name = unique("dup")
    first = _create(admin, group_name=name, group_type=2)
    duplicate = admin.post("/usergroups", json={"group_name": name, "group_type": 2})
    assert duplicate.status_code == 409 and error_code(duplicate) == "CONFLICT"
    other_type = _create(admin, group_name=name, group_type=3)
    clash = admin.put(f"/usergroups/{other_type}", json={"group_name": name})
    assert clash.status_code == 200  # its own name: nothing to do
    second = _create(admin, group_name=unique("dup"), group_type=2)
    assert admin.put(f"/usergroups/{second}", json={"group_name": name}).status_code == 409
    assert admin.put(f"/usergroups/{second}", json={}).status_code == 400
    assert admin.put("/usergroups/999999", json={"group_name": unique("g")}).status_code == 404
    for group_id in (first, other_type, second):
        admin.delete(f"/usergroups/{group_id}")


def test_list_filters_and_pages(admin):
    marker = unique("lst")
    ids = [_create(admin, group_name=f"{marker}-{i}", group_type=2) for i in range(3)]
    page = admin.get("/usergroups", params={"group_name": marker, "page_size": 2})
    assert page.status_code == 200
    assert page.headers["X-Total-Count"] == "3" and 'rel="next"' in page.headers["Link"]
    assert [g["group_name"] for g in page.json()] == [f"{marker}-0", f"{marker}-1"]
    by_q = admin.get("/usergroups", params={"q": f"group_name=~{marker}-2"}).json()
    assert [g["id"] for g in by_q] == [ids[2]]
    for group_id in ids:
        admin.delete(f"/usergroups/{group_id}")


def test_search_is_for_every_signed_in_user(admin, new_user):
    marker = unique("srch")
    group_id = _create(admin, group_name=f"{marker}-team", group_type=1,
                       ldap_group_dn=f"cn={marker},dc=example,dc=com")
    user = new_user()
    found = user.client.get("/usergroups/search", params={"groupname": marker})
    assert found.status_code == 200 and found.headers["X-Total-Count"] == "1"
    assert found.json() == [{"id": group_id, "group_name": f"{marker}-team", "group_type": 1}]
    assert user.client.get("/usergroups/search").status_code == 400
    assert admin.anonymous().get("/usergroups/search",
                                 params={"groupname": marker}).status_code == 401
    admin.delete(f"/usergroups/{group_id}")


def test_only_system_admins_manage_groups(admin, new_user):
    group_id = _create(admin, group_name=unique("adm"), group_type=2)
    user = new_user()
    for client, status in ((user.client, 403), (admin.anonymous(), 401)):
        assert client.get("/usergroups").status_code == status
        assert client.get(f"/usergroups/{group_id}").status_code == status
        assert client.post("/usergroups", json={"group_name": unique("g"),
                                                "group_type": 2}).status_code == status
        assert client.put(f"/usergroups/{group_id}",
                          json={"group_name": unique("g")}).status_code == status
        assert client.delete(f"/usergroups/{group_id}").status_code == status
    assert admin.delete(f"/usergroups/{group_id}").status_code == 200


def test_deleting_a_group_removes_its_memberships(admin):
    project = create_project(admin)
    name = unique("mem")
    group_id = _create(admin, group_name=name, group_type=2)
    added = admin.post(f"/projects/{project}/members",
                       json={"role_id": 2, "member_group": {"id": group_id}})
    assert added.status_code == 201, added.text
    members = admin.get(f"/projects/{project}/members").json()
    assert name in [m["entity_name"] for m in members]
    assert admin.delete(f"/usergroups/{group_id}").status_code == 200
    members = admin.get(f"/projects/{project}/members").json()
    assert name not in [m["entity_name"] for m in members]
    assert all(m["entity_type"] == "u" for m in members)


def test_ldap_auth_lists_ldap_groups_only(fresh_registry):
    admin = Client(fresh_registry.url, ("admin", fresh_registry.admin_password))
    http_group = _create(admin, group_name="web", group_type=2)
    ldap_group = _create(admin, group_type=1, ldap_group_dn="cn=ops,dc=example,dc=com")
    assert {g["id"] for g in admin.get("/usergroups").json()} == {http_group, ldap_group}
    assert admin.put("/configurations", json={"auth_mode": "ldap_auth"}).status_code == 200
    assert [g["id"] for g in admin.get("/usergroups").json()] == [ldap_group]


def test_ldap_auth_checks_the_dn_in_the_directory(start_registry, tmp_path):
    with example_directory(tmp_path / "slapd") as directory:
        password_file = write_search_password(tmp_path / "secrets" / "ldap_search_password")
        server = start_registry({**ldap_settings(directory),
                                 "HT_LDAP_SEARCH_PASSWORD_FILE": str(password_file)})
        admin = Client(server.url, ("admin", server.admin_password))
        spelled = DEVELOPERS.replace("cn=", "CN=").replace(",ou=", ", ou=")
        group_id = _create(admin, group_type=1, ldap_group_dn=spelled)
        assert admin.get(f"/usergroups/{group_id}").json()["group_name"] == "developers"
        missing = admin.post("/usergroups", json={
            "group_type": 1, "ldap_group_dn": DEVELOPERS.replace("developers", "nobody")})
        assert missing.status_code == 400
        assert "LDAP Group DN is not found" in missing.json()["errors"][0]["message"]
        # a login that finds the same group in the directory uses the same row
        login = requests.get(f"{server.url}/api/v2.0/users/current", timeout=30,
                             auth=(ALICE.uid, ALICE.password))
        assert login.status_code == 200, login.text
        groups = admin.get("/usergroups", params={"page_size": 100}).json()
        assert [g["id"] for g in groups if g["group_name"] == "developers"] == [group_id]
