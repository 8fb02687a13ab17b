"""Migration 0009 carries pull statistics over from the audit log, as the listings counted
them before, counts the audit entries of each project, and records which repository each
child of an index belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select, text

from harbor_twisted.db import migrate
from harbor_twisted.db.engine import make_engine
from harbor_twisted.db.identity_models import audit_log_count
from harbor_twisted.db.models import manifest, manifest_child, repository, tag

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _at(revision: str, conn) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def _seed(conn) -> None:
    rows = [
        "INSERT INTO project (id, name, public, creation_time, update_time) "
        "VALUES (1, 'p', true, :t, :t), (2, 'q', true, :t, :t)",
        "INSERT INTO repository (id, name, created_at) VALUES (1, 'p/app', :t), "
        "(2, 'p/other', :t), (3, 'q/app', :t)",
        "INSERT INTO manifest (id, repository_id, digest, media_type, size, content, "
        "created_at) VALUES (1, 1, 'sha256:a', 'm', 1, :b, :t), (2, 1, 'sha256:i', 'm', 1, :b, :t)",
        "INSERT INTO manifest_child (parent_id, child_digest) VALUES (2, 'sha256:a')",
        "INSERT INTO tag (id, repository_id, name, manifest_id, updated_at) "
        "VALUES (1, 1, 'v1', 1, :t), (2, 1, 'v2', 1, :t)",
    ]
    for sql in rows:
        conn.execute(text(sql), {"t": T0, "b": b"{}"})
    pulls = [  # (project id, resource, minute)
        (1, "p/app:v1", 1), (1, "p/app:v1", 5), (1, "p/app@sha256:a", 3),
        (1, "p/other:x", 2),  # another repository of the same project
        (2, "p/app:v1", 9),  # recorded under another project: not this repository's
        (None, "p/app:v1", 9),  # a deleted project's pulls stay detached
    ]
    for project_id, resource, minute in pulls:
        conn.execute(text(
            "INSERT INTO audit_log (project_id, username, client_ip, operation, resource_type,"
            " resource, op_time) VALUES (:p, 'u', '', 'pull', 'artifact', :r, :t)"),
            {"p": project_id, "r": resource, "t": T0.replace(minute=minute)})
    conn.execute(text(
        "INSERT INTO audit_log (project_id, username, client_ip, operation, resource_type,"
        " resource, op_time) VALUES (1, 'u', '', 'create', 'artifact', 'p/app:v2', :t)"),
        {"t": T0})


def test_pulls_are_carried_over_from_the_audit_log(url):
    engine = make_engine(url)
    with engine.begin() as conn:
        _at("0008", conn)
        _seed(conn)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        counts = dict(conn.execute(select(repository.c.name, repository.c.pull_count)).all())
        manifests = dict(conn.execute(select(manifest.c.digest, manifest.c.pull_time)).all())
        tags = dict(conn.execute(select(tag.c.name, tag.c.pull_time)).all())
        children = conn.execute(select(manifest_child)).all()
        audit_entries = dict(conn.execute(select(audit_log_count)).all())
    engine.dispose()
    assert counts == {"p/app": 3, "p/other": 1, "q/app": 0}

    def utc(moment: datetime | None) -> datetime | None:
        if moment is None or moment.tzinfo is not None:
            return moment
        return moment.replace(tzinfo=UTC)  # SQLite gives naive UTC back

    assert utc(manifests["sha256:a"]) == T0.replace(minute=3)
    assert manifests["sha256:i"] is None
    assert utc(tags["v1"]) == T0.replace(minute=5) and tags["v2"] is None
    assert [tuple(row) for row in children] == [(2, "sha256:a", 1)]
    assert audit_entries == {0: 1, 1: 5, 2: 1}  # 0: entries of no project
