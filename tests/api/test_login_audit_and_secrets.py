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
