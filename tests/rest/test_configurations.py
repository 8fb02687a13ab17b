"""/configurations: Harbor's shapes, admins only, validation, secrets kept out of the
database and the answers, the auth-mode rule, and runtime read-only mode."""

from __future__ import annotations

import stat
import time
import uuid

import pytest
import requests
from sqlalchemy import text

from harbor_twisted.config import build_config
from harbor_twisted.db.engine import make_engine
from tests.rest.conftest import Client, create_user, error_code
from tests.support.oci import push_blob, push_image, sha256, unique_repo
from tests.support.server import admin_http

SECRET = "ldap_search_password"


def _settings(client: Client) -> dict:
    response = client.get("/configurations")
    assert response.status_code == 200, response.text
    return response.json()


def _database_text(server, sql: str) -> list[str]:
    values = {"data": str(server.data_dir)}
    if server.database_url:
        values["database_url"] = server.database_url
    engine = make_engine(build_config(values).effective_database_url, 1)
    try:
        with engine.connect() as conn:
            return [str(row[0]) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_answers_harbors_shape_without_secrets(admin):
    body = _settings(admin)
    # editable with users too: changing it is then the auth mode switch
    assert body["auth_mode"] == {"value": "db_auth", "editable": True}
    assert body["read_only"]["value"] is False
    assert body["token_expiration"]["value"] == 30
    assert body["ldap_scope"] == {"value": 2, "editable": True}
    assert all(set(item) == {"value", "editable"} for item in body.values())
    assert SECRET not in body


def test_only_system_admins(admin, new_user):
    user = new_user()
    for client, status in ((admin.anonymous(), 401), (user.client, 403)):
        assert client.get("/configurations").status_code == status
        response = client.put("/configurations", json={"self_registration": True})
        assert response.status_code == status
    assert _settings(admin)["self_registration"]["value"] is False


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"no_such_key": 1, "email_host": "x"}, "email_host, no_such_key"),
        ({"read_only": "yes"}, "read_only must be true or false"),
        ({"token_expiration": "30"}, "token_expiration must be an integer"),
        ({"token_expiration": True}, "token_expiration must be an integer"),
        ({"token_expiration": 0}, "at least 1"),
        ({"robot_token_duration": 10**9}, "at most"),
        ({"auth_mode": "oidc_auth"}, "auth_mode must be one of db_auth, ldap_auth"),
        ({"ldap_scope": 3}, "ldap_scope must be one of 0, 1, 2"),
        ({"ldap_url": "http://ldap.example.com"}, "ldap://"),
        ({"ldap_base_dn": 5}, "ldap_base_dn must be a string"),
        ({SECRET: None}, f"{SECRET} must be a string"),
    ],
)
def test_refuses_invalid_changes_and_changes_nothing(admin, body, message):
    before = _settings(admin)
    response = admin.put("/configurations", json={"self_registration": True, **body})
    assert response.status_code == 400, response.text
    assert error_code(response) == "BAD_REQUEST"
    assert message in response.json()["errors"][0]["message"]
    assert _settings(admin) == before


def test_body_must_be_an_object(admin):
    for data in ("[1]", '"x"', ""):
        response = admin.put("/configurations", data=data,
                             headers={"Content-Type": "application/json"})
        assert response.status_code == 400


def test_changes_apply_are_audited_and_secrets_stay_out_of_the_database(registry, admin):
    secret = "Bind-" + uuid.uuid4().hex
    changes = {"ldap_search_dn": "cn=reader,dc=example,dc=com", SECRET: secret,
               "robot_token_duration": 7, "ldap_timeout": 9}
    try:
        assert admin.put("/configurations", json=changes).status_code == 200
        body = _settings(admin)
        assert body["ldap_search_dn"]["value"] == "cn=reader,dc=example,dc=com"
        assert body["robot_token_duration"]["value"] == 7
        assert SECRET not in body and secret not in str(body)

        path = registry.data_dir / "secrets" / SECRET
        assert path.read_text() == secret
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

        stored = _database_text(registry, "SELECT name || '=' || value FROM system_setting")
        assert not any(secret in row or row.startswith(SECRET) for row in stored)
        details = _database_text(
            registry, "SELECT detail FROM audit_log WHERE resource_type = 'configuration' "
                      "ORDER BY id DESC")
        assert details and secret not in "".join(details)
        assert all(name in details[0] for name in changes)
        if not registry.database_url:  # the whole SQLite database, WAL included
            for file in registry.data_dir.glob("registry.db*"):
                assert secret.encode() not in file.read_bytes(), file

        entries = admin.get("/audit-logs", params={"q": "resource_type=configuration"}).json()
        assert entries[0]["username"] == "admin" and entries[0]["operation"] == "update"
    finally:
        admin.put("/configurations", json={"ldap_search_dn": "", SECRET: "",
                                           "robot_token_duration": 30, "ldap_timeout": 5})


def test_an_unchanged_value_writes_no_audit_entry(admin):
    current = _settings(admin)["robot_name_prefix"]["value"]
    before = admin.get("/audit-logs", params={"q": "resource_type=configuration"})
    assert admin.put("/configurations", json={"robot_name_prefix": current}).status_code == 200
    after = admin.get("/audit-logs", params={"q": "resource_type=configuration"})
    assert after.headers["X-Total-Count"] == before.headers["X-Total-Count"]


def test_systeminfo_follows_changes(admin):
    try:
        changes = {"self_registration": True, "project_creation_restriction": "adminonly"}
        assert admin.put("/configurations", json=changes).status_code == 200
        info = admin.get("/systeminfo").json()
        assert info["self_registration"] is True
        assert info["project_creation_restriction"] == "adminonly"
    finally:
        admin.put("/configurations", json={"self_registration": False,
                                           "project_creation_restriction": "everyone"})


def _push_status(base_url: str, repo: str) -> tuple[int, dict]:
    response = admin_http.post(f"{base_url}/v2/{repo}/blobs/uploads/",
                               params={"digest": "sha256:" + "0" * 64}, data=b"", timeout=30)
    return response.status_code, response.json() if response.content else {}


def test_read_only_at_runtime_refuses_pushes_at_once_and_lifts(registry, admin):
    repo, later_repo = unique_repo("ro"), unique_repo("ro")
    image = push_image(registry.url, repo)  # the client now holds a push token for repo
    try:
        assert admin.put("/configurations", json={"read_only": True}).status_code == 200
        for name in (repo, later_repo):  # a token from before, and one issued now
            status, body = _push_status(registry.url, name)
            assert status == 403, body
            assert body["errors"][0]["code"] == "DENIED"
            assert "read-only" in body["errors"][0]["message"]
        pulled = admin_http.get(f"{registry.url}/v2/{repo}/manifests/latest",
                                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
                                timeout=30)
        assert pulled.status_code == 200 and pulled.content == image.manifest
        assert admin.get("/systeminfo").json()["read_only"] is True
    finally:
        assert admin.put("/configurations", json={"read_only": False}).status_code == 200
    push_blob(registry.url, repo, b"after read-only " + repo.encode())
    # the token issued during read-only mode grants pull only: the registry challenges
    # (as docker expects) instead of refusing, and a fresh token pushes
    status, _ = _push_status(registry.url, later_repo)
    assert status == 401
    registry.auth._tokens.clear()
    push_blob(registry.url, later_repo, b"after read-only " + later_repo.encode())


def test_auth_mode_change_with_users_is_the_switch(fresh_registry):
    admin = Client(fresh_registry.url, ("admin", fresh_registry.admin_password))
    assert admin.put("/configurations", json={"auth_mode": "ldap_auth"}).status_code == 200
    assert _settings(admin)["auth_mode"] == {"value": "ldap_auth", "editable": True}
    assert admin.get("/systeminfo").json()["auth_mode"] == "ldap_auth"
    assert admin.put("/configurations", json={"auth_mode": "db_auth"}).status_code == 200
    create_user(admin)
    assert _settings(admin)["auth_mode"] == {"value": "db_auth", "editable": True}
    # with users, the mode moves them along (tests/ldap/test_auth_mode_switch.py): alone
    refused = admin.put("/configurations", json={"auth_mode": "ldap_auth", "read_only": True})
    assert refused.status_code == 400
    assert "change it alone" in refused.json()["errors"][0]["message"]
    assert _settings(admin)["read_only"]["value"] is False  # all or nothing
    no_directory = admin.put("/configurations", json={"auth_mode": "ldap_auth"})
    assert no_directory.status_code == 412, no_directory.text
    assert "cannot ask the directory" in no_directory.json()["errors"][0]["message"]
    assert admin.get("/systeminfo").json()["auth_mode"] == "db_auth"
    assert admin.put("/configurations", json={"auth_mode": "db_auth"}).status_code == 200


def test_settings_survive_a_restart_and_configured_ones_are_not_editable(
    start_registry, tmp_path
):
    data_dir = tmp_path / "cfg"
    server = start_registry(data_dir=data_dir)
    admin = Client(server.url, ("admin", server.admin_password))
    assert admin.put("/configurations", json={"token_expiration": 45}).status_code == 200
    server.stop()
    server = start_registry({"HT_READ_ONLY": "false"}, data_dir=data_dir)
    admin = Client(server.url, ("admin", server.admin_password))
    body = _settings(admin)
    assert body["token_expiration"] == {"value": 45, "editable": True}
    assert body["read_only"] == {"value": False, "editable": False}
    refused = admin.put("/configurations", json={"read_only": True})
    assert refused.status_code == 400
    assert "configuration file" in refused.json()["errors"][0]["message"]


def test_a_separate_registry_process_follows_read_only_mode(start_registry, tmp_path):
    data_dir = tmp_path / "split"  # one database for both processes
    refresh = {"HT_SETTINGS_REFRESH_SECONDS": "1"}
    core = start_registry(refresh, data_dir=data_dir)
    registry = start_registry({**refresh, "HT_TOKEN_REALM": f"{core.url}/service/token"},
                              data_dir=data_dir, command="registry")
    token = requests.get(f"{core.url}/service/token", timeout=30,
                         params={"service": "harbor-registry",
                                 "scope": "repository:library/split:pull,push"},
                         auth=("admin", core.admin_password)).json()["token"]

    def push() -> int:
        data = uuid.uuid4().bytes
        return requests.post(f"{registry.url}/v2/library/split/blobs/uploads/",
                             params={"digest": sha256(data)}, data=data, timeout=10,
                             headers={"Authorization": f"Bearer {token}"}).status_code

    admin = Client(core.url, ("admin", core.admin_password))
    assert push() == 201
    for read_only, expected in ((True, 403), (False, 201)):
        assert admin.put("/configurations", json={"read_only": read_only}).status_code == 200
        deadline = time.monotonic() + 10
        while (status := push()) != expected:
            assert time.monotonic() < deadline, f"still {status} with read_only={read_only}"
            time.sleep(0.3)
