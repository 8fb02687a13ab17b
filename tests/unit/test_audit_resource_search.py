"""The audit log's fuzzy resource filter: on SQLite through the trigram index of migration
0011 (filled from the entries already there, kept by triggers on later writes, updates and
deletes), with the same answers as a plain case-insensitive substring match; on PostgreSQL
the migration changes nothing and the filter answers the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update

from harbor_twisted.db import audit_search, migrate
from harbor_twisted.db.audit_store import AuditRecord, list_audit, write_audit
from harbor_twisted.db.engine import make_engine
from harbor_twisted.db.identity_models import audit_log
from harbor_twisted.db.listing import Filter, Listing
from tests.conftest import BACKENDS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OLD = ["library/app:v1", "library/app@sha256:ab12", "Team/Tools:2.0", 'odd/"quote":x',
       "100%_sure/x:y"]
NEW = ["library/web:latest", "other/app:v1"]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").create_database()
    engine = make_engine(url)
    with engine.begin() as conn:
        config = migrate.alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0010")
        for resource in OLD:  # entries written before the index existed
            conn.execute(text(
                "INSERT INTO audit_log (username, client_ip, operation, resource_type,"
                " resource, op_time) VALUES ('u', '', 'pull', 'artifact', :r, :t)"),
                {"r": resource, "t": T0})
    migrate.upgrade(engine)
    with engine.begin() as conn:
        write_audit(conn, [AuditRecord("u", "push", "artifact", r) for r in NEW])
    yield engine
    engine.dispose()


def _found(engine, fragment: str) -> list[str]:
    with engine.connect() as conn:
        entries, total = list_audit(conn, Listing((Filter("resource", "fuzzy", (fragment,)),),
                                                  page_size=100))
    assert total == len(entries)
    return sorted(entry.resource for entry in entries)


def _substring(fragment: str) -> list[str]:
    return sorted(r for r in OLD + NEW if fragment.lower() in r.lower())


@pytest.mark.parametrize("fragment", ["app", "library/", "sha256:AB", "team/tools",
                                      '"quote"', "0%_s", "%", "ap", "nothing-like-it"])
def test_fuzzy_resource_filter_matches_substrings_old_and_new(engine, fragment):
    assert _found(engine, fragment) == _substring(fragment)


def test_selective_texts_use_the_index_on_sqlite_only(engine):
    with engine.connect() as conn:
        condition = audit_search.resource_condition(conn, Filter("resource", "fuzzy",
                                                                 ("library",)))
        short = audit_search.resource_condition(conn, Filter("resource", "fuzzy", ("ap",)))
        tables = conn.execute(text("SELECT count(*) FROM information_schema.tables"
                                   " WHERE table_name LIKE 'audit_log_resource_fts%'")
                              ).scalar() if engine.dialect.name == "postgresql" else None
    assert short is None
    if engine.dialect.name == "sqlite":
        assert condition is not None
    else:
        assert condition is None and tables == 0


def test_common_texts_fall_back_to_the_plain_match(engine, monkeypatch):
    monkeypatch.setattr(audit_search, "FEW_MATCHES", 2)
    with engine.connect() as conn:
        assert audit_search.resource_condition(
            conn, Filter("resource", "fuzzy", ("app",))) is None
    assert _found(engine, "app") == _substring("app")


def test_the_index_follows_updates_and_deletes(engine):
    with engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.resource == "other/app:v1")
                     .values(resource="other/renamed:v1"))
        conn.execute(delete(audit_log).where(audit_log.c.resource == "library/app:v1"))
        left = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert left == len(OLD) + len(NEW) - 1
    assert _found(engine, "renamed") == ["other/renamed:v1"]
    assert _found(engine, "app") == ["library/app@sha256:ab12"]
