"""LDAP logins through a real process: REST Basic auth, the token service, onboarding,
groups and project access, admins by group, and a directory that is down or silent."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import ldap
import pytest
import requests

from tests.ldap.conftest import as_person, token_actions, token_claims
from tests.rest.conftest import Client, create_project, unique
from tests.support import ldap_directory as example

DEVELOPER = 2


def _current(client: Client) -> dict:
    response = client.get("/users/current")
    assert response.status_code == 200, response.text
    return response.json()


def _audit(admin: Client, **query: str) -> list[dict]:
    q = ",".join(f"{key}={value}" for key, value in query.items())
    response = admin.get("/audit-logs", params={"q": q, "page_size": 50})
    assert response.status_code == 200, response.text
    return response.json()


def test_first_login_onboards_the_user(ldap_registry, admin):
    me = _current(as_person(ldap_registry, example.ALICE))
    assert (me["username"], me["email"], me["realname"]) == (
        "alice", "alice@example.org", "Alice L.")
    assert me["sysadmin_flag"] is False
    created = _audit(admin, operation="create", resource_type="user", resource="alice")
    assert len(created) == 1 and created[0]["username"] == "alice"


def test_later_logins_update_the_profile(ldap_registry, slapd):
    person = example.Person("frank", "Frank-Pw-1", "Frank First", "frank@example.org")
    slapd.add([example.person_entry(person)])
    assert _current(as_person(ldap_registry, person))["email"] == "frank@example.org"
    conn = slapd.manager()
    try:  # a new password too: the previous login is remembered for a minute
        conn.modify_s(person.dn, [
            (ldap.MOD_REPLACE, "mail", [b"frank@new.example.org"]),
            (ldap.MOD_REPLACE, "userPassword", [example.ssha("Frank-Pw-2").encode()]),
        ])
    finally:
        conn.unbind_s()
    me = _current(Client(ldap_registry.url, ("frank", "Frank-Pw-2")))
    assert me["email"] == "frank@new.example.org"


@pytest.mark.parametrize("username,password", [
    ("alice", "wrong-password"),
    ("alice", ""),
    ("nobody", "whatever-1"),
    ("dup", example.DUP.password),  # two entries match: refused even with the password
    ("*", example.ALICE.password),
    ("alice)(uid=*", example.ALICE.password),
    ("*)(|(objectClass=*)", example.ALICE.password),
    ("al*", example.ALICE.password),
])
def test_refused_logins(ldap_registry, username, password):
    client = Client(ldap_registry.url, (username, password))
    assert client.get("/users/current").status_code == 401
    status, _ = token_actions(ldap_registry, (username, password), "library/x")
    assert status == 401


def test_failed_logins_are_audited(ldap_registry, admin):
    token_actions(ldap_registry, ("alice", "wrong-password"), "library/x")
    assert _audit(admin, operation="login_failed", resource="alice")


def test_admin_still_logs_in_from_the_database(ldap_registry, admin):
    assert _current(admin)["username"] == "admin"


def test_database_users_cannot_be_created(admin):
    response = admin.post("/users", json={"username": unique("db"), "email": "x@example.org",
                                         "password": "Harbor-Test1", "realname": "x"})
    assert response.status_code == 403


def test_admin_group_makes_a_system_admin(ldap_registry):
    dave = as_person(ldap_registry, example.DAVE)
    assert dave.get("/users").status_code == 200  # system admins only
    assert as_person(ldap_registry, example.ALICE).get("/users").status_code == 403


def test_nested_group_member_gets_project_access(ldap_registry, admin):
    carol = as_person(ldap_registry, example.CAROL)
    _current(carol)  # the first login onboards carol's groups, inner and outer
    project = create_project(admin)
    repository = f"{project}/app"
    assert carol.get(f"/projects/{project}").status_code in (403, 404)
    assert token_actions(ldap_registry, ("carol", example.CAROL.password), repository) == (
        200, [])
    typed = example.OUTER.upper()  # DNs compare without regard to case
    response = admin.post(f"/projects/{project}/members", json={
        "role_id": DEVELOPER, "member_group": {"ldap_group_dn": typed}})
    assert response.status_code == 201, response.text
    assert carol.get(f"/projects/{project}").status_code == 200
    assert token_actions(ldap_registry, ("carol", example.CAROL.password), repository) == (
        200, ["pull", "push"])
    erin = ("erin", example.ERIN.password)
    assert token_actions(ldap_registry, erin, repository) == (200, [])


def test_refresh_tokens_read_the_groups_again(ldap_registry, admin):
    """docker keeps the refresh token of `docker login`; the groups of a token made from it
    come from the directory (the token itself carries only the name)."""
    carol = as_person(ldap_registry, example.CAROL)
    _current(carol)
    project = create_project(admin)
    response = admin.post(f"/projects/{project}/members", json={
        "role_id": DEVELOPER, "member_group": {"ldap_group_dn": example.OUTER}})
    assert response.status_code == 201, response.text
    login = requests.get(f"{ldap_registry.url}/service/token", timeout=30,
                         auth=("carol", example.CAROL.password),
                         params={"service": "harbor-registry", "offline_token": "true",
                                 "client_id": "docker"})
    assert login.status_code == 200, login.text
    refreshed = requests.post(f"{ldap_registry.url}/service/token", timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"],
        "service": "harbor-registry", "scope": f"repository:{project}/app:pull,push",
        "client_id": "docker"})
    assert refreshed.status_code == 200, refreshed.text
    access = token_claims(refreshed.json()["token"])["access"]
    assert sorted(access[0]["actions"]) == ["pull", "push"]


def test_login_on_postgresql(start_ldap_registry, postgres_cluster):
    server = start_ldap_registry(postgres_cluster.create_database())
    admin = Client(server.url, ("admin", server.admin_password))
    carol = as_person(server, example.CAROL)
    assert _current(carol)["username"] == "carol"
    project = create_project(admin)
    response = admin.post(f"/projects/{project}/members", json={
        "role_id": DEVELOPER, "member_group": {"ldap_group_dn": example.OUTER}})
    assert response.status_code == 201, response.text
    assert token_actions(server, ("carol", example.CAROL.password), f"{project}/app") == (
        200, ["pull", "push"])
    assert as_person(server, example.DAVE).get("/users").status_code == 200


def test_ldaps_with_a_ca_file_and_a_password_file(start_ldap_registry, slapd, tmp_path):
    password_file = example.write_search_password(tmp_path / "vault" / "ldap-search")
    server = start_ldap_registry(HT_LDAP_URL=slapd.ldaps_url,
                                 HT_LDAP_CA_FILE=str(slapd.tls.ca_file),
                                 HT_LDAP_SEARCH_PASSWORD_FILE=str(password_file))
    (server.data_dir / "secrets" / "ldap_search_password").unlink()  # the file setting wins
    assert _current(as_person(server, example.ALICE))["username"] == "alice"
    as_person(server, example.BOB).get("/users/current")  # fails: refused and logged
    Client(server.url, ("bob", "Not-Bobs-Password")).get("/users/current")
    log = server.log_text()
    for secret in (example.READER_PASSWORD, example.ALICE.password, "Not-Bobs-Password"):
        assert secret not in log


@pytest.mark.parametrize("silent", [False, True], ids=["closed-port", "blackhole"])
def test_an_unreachable_directory_answers_401_within_the_timeout(
        start_ldap_registry, blackhole, closed_port, silent):
    port = blackhole if silent else closed_port
    server = start_ldap_registry(HT_LDAP_URL=f"ldap://127.0.0.1:{port}", HT_LDAP_TIMEOUT="2")
    started = time.monotonic()
    response = as_person(server, example.ALICE).get("/users/current")
    elapsed = time.monotonic() - started
    assert response.status_code == 401
    assert elapsed < 2 + 2.5, elapsed
    admin = Client(server.url, ("admin", server.admin_password))
    assert _current(admin)["username"] == "admin"  # the database admin is unaffected
    deadline = time.monotonic() + 5
    while "LDAP login of 'alice' failed" not in server.log_text():
        assert time.monotonic() < deadline, server.log_text()[-3000:]
        time.sleep(0.05)


def test_concurrent_first_logins_onboard_once(ldap_registry, slapd, admin):
    person = example.Person("hank", "Hank-Pw-1", "Hank Parallel", "hank@example.org")
    slapd.add([example.person_entry(person)])
    client = as_person(ldap_registry, person)
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: client.get("/users/current").status_code, range(6)))
    assert statuses == [200] * 6
    assert [u["username"] for u in admin.get("/users", params={"username": "hank"}).json()] \
        == ["hank"]
    assert len(_audit(admin, operation="create", resource_type="user", resource="hank")) == 1
