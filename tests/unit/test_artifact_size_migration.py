"""Migration 0010 fills each existing artifact's total size (manifest, config and layers,
an index's children present in its repository, nested indexes level by level) and indexes
it for the artifact list's size order."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, select, text

from harbor_twisted.db import migrate
from harbor_twisted.db.engine import make_engine
from harbor_twisted.db.models import manifest

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _seed(conn) -> None:
    rows = [
        "INSERT INTO repository (id, name, created_at) VALUES (1, 'p/app', :t), (2, 'p/b', :t)",
        "INSERT INTO blob (id, digest, size, created_at) VALUES (1, 'sha256:c', 100, :t),"
        " (2, 'sha256:l1', 5000000000, :t), (3, 'sha256:l2', 30, :t)",
        # a: an image of config c and layers l1 (5 GB: past 32 bits) and l2
        # b: an image of config c; i: an index of a, b and a missing child; n: an index of i
        # x: b's digest in another repository, with no blobs
        "INSERT INTO manifest (id, repository_id, digest, media_type, size, content, created_at)"
        " VALUES (1, 1, 'sha256:a', 'm', 10, :b, :t), (2, 1, 'sha256:b', 'm', 20, :b, :t),"
        " (3, 1, 'sha256:i', 'i', 40, :b, :t), (4, 1, 'sha256:n', 'i', 80, :b, :t),"
        " (5, 2, 'sha256:b', 'm', 20, :b, :t)",
        "INSERT INTO manifest_blob (manifest_id, blob_id) VALUES (1, 1), (1, 2), (1, 3), (2, 1)",
        "INSERT INTO manifest_child (parent_id, child_digest, repository_id) VALUES"
        " (3, 'sha256:a', 1), (3, 'sha256:b', 1), (3, 'sha256:gone', 1), (4, 'sha256:i', 1)",
    ]
    for sql in rows:
        conn.execute(text(sql), {"t": T0, "b": b"{}"})


def test_total_sizes_are_filled_and_indexed(url):
    engine = make_engine(url)
    with engine.begin() as conn:
        config = migrate.alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0009")
        _seed(conn)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        totals = dict(conn.execute(select(manifest.c.id, manifest.c.total_size)).all())
        indexes = {ix["name"]: ix["column_names"]
                   for ix in inspect(conn).get_indexes("manifest")}
    engine.dispose()
    a = 10 + 100 + 5_000_000_000 + 30
    b = 20 + 100
    assert totals == {1: a, 2: b, 3: 40 + a + b, 4: 80 + 40 + a + b, 5: 20}
    assert indexes["ix_manifest_repository_id_total_size_id"] == [
        "repository_id", "total_size", "id"]
    assert "ix_manifest_repository_id_size_id" not in indexes
