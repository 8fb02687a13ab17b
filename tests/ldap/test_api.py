"""``/ldap``: ping, users/search, groups/search, users/import (system admins only)."""

from __future__ import annotations

import pytest

from tests.ldap.conftest import as_person
from tests.rest.conftest import Client, error_code
from tests.support import ldap_directory as example

CALLS = [
    ("POST", "/ldap/ping", None),
    ("GET", "/ldap/users/search?username=alice", None),
    ("GET", "/ldap/groups/search?groupname=outer", None),
    ("POST", "/ldap/users/import", {"ldap_uid_list": ["bob"]}),
]


@pytest.mark.parametrize("method,path,body", CALLS)
def test_only_system_admins(ldap_registry, method, path, body):
    alice = as_person(ldap_registry, example.ALICE)
    assert alice.request(method, path, json=body).status_code == 403
    assert Client(ldap_registry.url).request(method, path, json=body).status_code == 401


def test_ping_the_current_settings(admin):
    response = admin.post("/ldap/ping")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True, body
    assert example.READER_DN in body["message"]


def test_ping_given_settings(admin, slapd, closed_port):
    closed = admin.post("/ldap/ping", json={"ldap_url": f"ldap://127.0.0.1:{closed_port}",
                                            "ldap_search_password": "x"})
    assert closed.json()["success"] is False
    assert "cannot reach" in closed.json()["message"]
    wrong = admin.post("/ldap/ping", json={"ldap_search_password": "wrong"})
    assert wrong.json() == {"success": False, "message": wrong.json()["message"]}
    assert "invalid credentials" in wrong.json()["message"]
    ldaps = admin.post("/ldap/ping", json={"ldap_url": slapd.ldaps_url,
                                           "ldap_ca_file": str(slapd.tls.ca_file),
                                           "ldap_search_password": example.READER_PASSWORD,
                                           "ldap_connection_timeout": 3})
    assert ldaps.json()["success"] is True, ldaps.json()
    missing_base = admin.post("/ldap/ping", json={"ldap_base_dn": "ou=missing,dc=example,dc=org"})
    assert missing_base.json()["success"] is False


def test_ping_never_sends_the_stored_password_elsewhere(admin, slapd):
    """Another URL without a password in the body is tried without the stored one."""
    response = admin.post("/ldap/ping", json={"ldap_url": slapd.ldaps_url,
                                              "ldap_verify_cert": False})
    assert response.json()["success"] is False
    assert "no ldap_search_password" in response.json()["message"]


def test_ping_refuses_a_malformed_body(admin):
    assert admin.post("/ldap/ping", json={"ldap_scope": "two"}).status_code == 400
    assert admin.post("/ldap/ping", json=[1]).status_code == 400


def test_search_users(admin):
    response = admin.get("/ldap/users/search", params={"username": "alice"})
    assert response.status_code == 200
    assert response.json() == [{"username": "alice", "realname": "Alice L.",
                                "email": "alice@example.org"}]
    assert admin.get("/ldap/users/search", params={"username": "al*"}).json() == []
    everyone = admin.get("/ldap/users/search").json()
    assert {"alice", "bob", "carol", "dave", "erin", "dup"} <= {u["username"] for u in everyone}


def test_search_groups(admin):
    by_name = admin.get("/ldap/groups/search", params={"groupname": "outer"})
    assert by_name.status_code == 200
    assert by_name.json() == [{"group_name": "outer", "group_type": 1,
                               "ldap_group_dn": example.OUTER}]
    by_dn = admin.get("/ldap/groups/search", params={"groupdn": example.INNER.upper()})
    assert [g["group_name"] for g in by_dn.json()] == ["inner"]
    assert admin.get("/ldap/groups/search", params={"groupname": "nope"}).status_code == 404
    assert admin.get("/ldap/groups/search", params={"groupname": "*"}).status_code == 404
    assert admin.get("/ldap/groups/search").status_code == 400
    assert admin.get("/ldap/groups/search", params={"groupdn": "not a dn"}).status_code == 400


def test_import_users(admin, slapd):
    person = example.Person("gina", "Gina-Pw-1", "Gina Imported", "gina@example.org")
    slapd.add([example.person_entry(person)])
    response = admin.post("/ldap/users/import", json={"ldap_uid_list": ["gina"]})
    assert response.status_code == 200, response.text
    found = admin.get("/users", params={"username": "gina"}).json()
    assert [(u["username"], u["email"], u["realname"]) for u in found] == [
        ("gina", "gina@example.org", "Gina Imported")]
    audit = admin.get("/audit-logs", params={"q": "resource=gina,operation=create"}).json()
    assert [entry["username"] for entry in audit] == ["admin"]
    again = admin.post("/ldap/users/import", json={"ldap_uid_list": ["gina"]})
    assert again.status_code == 200  # already onboarded is fine


def test_import_reports_the_failures_and_imports_the_rest(admin):
    response = admin.post("/ldap/users/import",
                          json={"ldap_uid_list": ["erin", "nobody", "dup", ""]})
    assert response.status_code == 404
    assert sorted(response.json(), key=lambda f: f["uid"]) == [
        {"uid": "", "error": "empty_uid"},
        {"uid": "dup", "error": "ambiguous_user"},
        {"uid": "nobody", "error": "unknown_user"},
    ]
    assert [u["username"] for u in admin.get("/users", params={"username": "erin"}).json()] \
        == ["erin"]


def test_import_refuses_a_malformed_body(admin):
    assert admin.post("/ldap/users/import", json={"ldap_uid_list": "bob"}).status_code == 400
    assert admin.post("/ldap/users/import", json={}).status_code == 400
    assert error_code(admin.post("/ldap/users/import", json={"ldap_uid_list": [1]})) \
        == "BAD_REQUEST"


def test_an_unreachable_directory_is_a_clear_error(start_ldap_registry, blackhole):
    server = start_ldap_registry(HT_LDAP_URL=f"ldap://127.0.0.1:{blackhole}",
                                 HT_LDAP_TIMEOUT="1")
    admin = Client(server.url, ("admin", server.admin_password))
    search = admin.get("/ldap/users/search", params={"username": "alice"})
    assert search.status_code == 503
    assert "did not answer" in search.json()["errors"][0]["message"]
    ping = admin.post("/ldap/ping").json()
    assert ping["success"] is False and "within 1 s" in ping["message"]


def test_unconfigured_ldap_is_a_precondition(start_registry):
    server = start_registry()  # db_auth, no LDAP settings
    admin = Client(server.url, ("admin", server.admin_password))
    assert admin.get("/ldap/users/search").status_code == 412
    assert admin.post("/ldap/users/import", json={"ldap_uid_list": ["x"]}).status_code == 412
    assert admin.post("/ldap/ping").json()["success"] is False
