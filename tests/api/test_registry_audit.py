"""Pushes, pulls and deletes through the registry land in the audit log."""

from __future__ import annotations

import time

import requests
from sqlalchemy import create_engine, select

from harbor_twisted.db.identity_models import audit_log, project
from tests.support.oci import push_image, unique_repo
from tests.support.server import admin_http


def _rows(registry, resource_prefix: str) -> list:
    url = registry.database_url or f"sqlite:///{registry.data_dir / 'registry.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(
                select(audit_log).where(audit_log.c.resource.startswith(resource_prefix))
                .order_by(audit_log.c.id)))
    finally:
        engine.dispose()


def _library_id(registry) -> int:
    url = registry.database_url or f"sqlite:///{registry.data_dir / 'registry.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(project.c.id).where(project.c.name == "library")).scalar()
    finally:
        engine.dispose()


def test_push_pull_and_delete_are_audited_with_actor_and_address(registry):
    repo = unique_repo("audit")
    image = push_image(registry.url, repo, "v1")
    token = requests.get(f"{registry.url}/service/token",
                         params={"service": "harbor-registry", "scope": f"repository:{repo}:pull"},
                         timeout=10).json()["token"]
    pulled = requests.get(f"{registry.url}/v2/{repo}/manifests/v1",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert pulled.status_code == 200
    admin_http.get(f"{registry.url}/v2/{repo}/manifests/{image.digest}", timeout=10)
    deleted = admin_http.delete(f"{registry.url}/v2/{repo}/manifests/v1", timeout=10)
    assert deleted.status_code == 202
    missing = admin_http.delete(f"{registry.url}/v2/{repo}/manifests/v1", timeout=10)
    assert missing.status_code == 404
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = _rows(registry, repo)
        if sum(1 for row in rows if row.operation == "pull") >= 2:
            break
        time.sleep(0.2)
    seen = {(row.operation, row.username, row.resource) for row in rows}
    assert ("create", "admin", f"{repo}:v1") in seen
    assert ("pull", "anonymous", f"{repo}:v1") in seen
    assert ("pull", "admin", f"{repo}@{image.digest}") in seen
    assert ("delete", "admin", f"{repo}:v1") in seen
    assert len([row for row in rows if row.operation == "delete"]) == 1  # the 404 left none
    assert {row.client_ip for row in rows} == {"127.0.0.1"}
    assert {row.project_id for row in rows} == {_library_id(registry)}
    assert all(row.resource_type == "artifact" for row in rows)
