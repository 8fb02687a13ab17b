"""Logins are audited; no secret is ever stored or logged in plain text."""

from __future__ import annotations

import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, select

from harbor_twisted.db.identity_models import audit_log
from tests.support.oci import push_image, unique_repo


def _token(server, auth):
    return requests.get(f"{server.url}/service/token", params={"service": "harbor-registry"},
                        auth=auth, timeout=30)


def _logins(server) -> list:
    engine = create_engine(f"sqlite:///{server.data_dir / 'registry.db'}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(audit_log).where(
                audit_log.c.operation.in_(["login", "login_failed"])).order_by(audit_log.c.id)))
    finally:
        engine.dispose()


def test_logins_through_the_token_service_are_audited(start_registry):
    server = start_registry()
    assert _token(server, ("admin", "wrong-password")).status_code == 401
    assert _token(server, ("admin", server.admin_password)).status_code == 200
    assert _token(server, ("admin", server.admin_password)).status_code == 200  # cached
    rows = _logins(server)
    assert [(r.operation, r.username, r.client_ip) for r in rows] == [
        ("login_failed", "admin", "127.0.0.1"),
        ("login", "admin", "127.0.0.1"),
    ]


def _files_under(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 50 * 1024 * 1024:
            yield path


def test_no_password_appears_in_plain_text_in_data_or_logs(start_registry, tmp_path):
    server = start_registry({"HT_LOG_LEVEL": "debug"})
    secret = server.admin_password
    push_image(server.url, unique_repo("secrets"))
    assert _token(server, ("admin", secret)).status_code == 200
    assert _token(server, ("admin", secret + "x")).status_code == 401
    time.sleep(1.5)  # the pull audit flush and WAL writes
    needle = secret.encode()
    offenders = [str(p) for p in _files_under(server.data_dir) if needle in p.read_bytes()]
    assert offenders == []
    assert secret not in server.log_text()
    assert "BEGIN PRIVATE KEY" not in server.log_text()


def test_no_secret_of_any_kind_is_stored_or_logged_in_clear(start_registry):
    """User passwords, a robot secret (created and refreshed), the LDAP search password and a
    portal session id: none in clear under the data directory (bar the LDAP password's own
    0600 file in the secrets directory, which the service must read back) or in the log."""
    server = start_registry({"HT_LOG_LEVEL": "debug"})
    api = f"{server.url}/api/v2.0"
    admin = ("admin", server.admin_password)

    def call(method: str, path: str, auth=admin, **kwargs) -> requests.Response:
        return requests.request(method, api + path, auth=auth, timeout=30, **kwargs)

    first, second = "Initial-Pass1word", "Changed-Pass2word"
    created = call("POST", "/users", json={"username": "keeper", "password": first,
                                            "email": "keeper@example.com", "realname": "K"})
    assert created.status_code == 201, created.text
    user_id = created.headers["Location"].rsplit("/", 1)[1]
    changed = call("PUT", f"/users/{user_id}/password", auth=("keeper", first),
                   json={"old_password": first, "new_password": second})
    assert changed.status_code == 200, changed.text

    robot = call("POST", "/robots", json={
        "name": "vault", "level": "system", "duration": -1,
        "permissions": [{"kind": "project", "namespace": "library",
                         "access": [{"resource": "repository", "action": "pull"}]}]})
    assert robot.status_code == 201, robot.text
    robot_secret = robot.json()["secret"]
    refreshed = call("PATCH", f"/robots/{robot.json()['id']}", json={})
    assert refreshed.status_code == 200, refreshed.text
    refreshed_secret = refreshed.json()["secret"]
    assert _token(server, (robot.json()["name"], refreshed_secret)).status_code == 200

    ldap_password = "Ldap-Search-Secret-7"
    configured = call("PUT", "/configurations", json={"ldap_search_password": ldap_password})
    assert configured.status_code == 200, configured.text

    session = requests.Session()
    login = session.post(f"{server.url}/c/login", timeout=30,
                         data={"principal": "keeper", "password": second})
    assert login.status_code == 200, login.text
    session_id = session.cookies["sid"]
    assert session.get(f"{api}/users/current", timeout=30).status_code == 200

    time.sleep(1.5)  # the pull audit flush and WAL writes
    secrets_dir = server.data_dir / "secrets"
    ldap_file = secrets_dir / "ldap_search_password"
    assert ldap_file.read_text() == ldap_password
    assert ldap_file.stat().st_mode & 0o777 == 0o600
    assert secrets_dir.stat().st_mode & 0o777 == 0o700
    log = server.log_text()
    for secret in (first, second, robot_secret, refreshed_secret, ldap_password, session_id):
        needle = secret.encode()
        offenders = [str(p) for p in _files_under(server.data_dir)
                     if p != ldap_file and needle in p.read_bytes()]
        assert offenders == [], secret
        assert secret not in log
