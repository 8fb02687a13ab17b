"""The audit pages' filters in the store: exact user, operation and resource type through
indexes that lead with them, and filtered totals counted only up to a limit (then read
forward), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text

from harbor_twisted.db import audit_counts, migrate
from harbor_twisted.db.audit_store import list_audit
from harbor_twisted.db.engine import make_engine
from harbor_twisted.db.identity_models import audit_log
from harbor_twisted.db.listing import Filter, Listing, Sort

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEWEST = (Sort("op_time", descending=True),)
# 40 entries: "ann" pulls every minute, "annie" (a name that contains "ann") deletes 5 times
ENTRIES = [("annie" if n % 8 == 0 else "ann", "delete" if n % 8 == 0 else "pull",
            "tag" if n % 8 == 0 else "artifact", T0 + timedelta(minutes=n)) for n in range(40)]


@pytest.fixture
def engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(audit_log), [
            {"project_id": 1, "username": user, "client_ip": "", "operation": operation,
             "resource_type": kind, "resource": f"p/r:{n}", "op_time": when}
            for n, (user, operation, kind, when) in enumerate(ENTRIES)])
        audit_counts.add(conn, [1] * len(ENTRIES))  # as write_audit keeps them
    yield engine
    engine.dispose()


def _listed(engine: Engine, *filters: Filter, page: int = 1, page_size: int = 5,
            limit: int | None = None, sorts: tuple[Sort, ...] = NEWEST,
            project_id: int | None = None) -> tuple[list[str], int]:
    with engine.connect() as conn:
        entries, total = list_audit(conn, Listing(filters, sorts, page, page_size, limit),
                                    project_id=project_id)
    return [entry.resource for entry in entries], total


def _resources(wanted) -> list[str]:
    """Resources of the matching entries, newest first."""
    return [f"p/r:{n}" for n in reversed(range(len(ENTRIES))) if wanted(*ENTRIES[n])]


def test_user_operation_and_type_match_exactly(engine: Engine) -> None:
    annie = _resources(lambda user, *_: user == "annie")
    assert _listed(engine, Filter("username", "exact", ("annie",)), page_size=50) == (annie, 5)
    ann = _resources(lambda user, *_: user == "ann")
    assert _listed(engine, Filter("username", "exact", ("ann",)), page_size=50) == (ann, 35)
    both = (Filter("operation", "exact", ("delete",)), Filter("resource_type", "exact", ("tag",)))
    assert _listed(engine, *both, page_size=50, project_id=1) == (annie, 5)
    assert _listed(engine, Filter("operation", "exact", ("del",))) == ([], 0)
    # with a resource text (SQLite: named by the trigram index, the others tested on those)
    typed = (Filter("resource_type", "exact", ("tag",)), Filter("resource", "fuzzy", ("r:3",)))
    assert _listed(engine, *typed) == (["p/r:32"], 1)


def test_a_count_stops_at_the_limit_and_pages_read_forward(engine: Engine) -> None:
    pulls = Filter("operation", "exact", ("pull",))
    ann = _resources(lambda user, *_: user == "ann")
    assert _listed(engine, pulls, limit=10) == (ann[:5], 11)  # "more than 10"
    assert _listed(engine, pulls, page=3, limit=10) == (ann[10:15], 11)
    assert _listed(engine, pulls, page=7, limit=10) == (ann[30:35], 11)  # beyond the count
    assert _listed(engine, pulls, page=8, limit=10) == ([], 11)
    oldest = _listed(engine, pulls, limit=10, sorts=(Sort("op_time"),))
    assert oldest == (ann[::-1][:5], 11)
    # under the limit the total is exact and the last page is read from the other end
    assert _listed(engine, pulls, page=7, limit=100) == (ann[30:35], 35)
    # no filter: the kept counts give the exact total whatever the limit
    everything = _resources(lambda *_: True)
    assert _listed(engine, page=8, limit=10) == (everything[35:40], 40)


def test_sqlite_reads_a_user_page_through_the_user_and_time_index(tmp_path: Path) -> None:
    """The plan is SQLite's (PostgreSQL's depends on its statistics)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE username = 'ann'"
            " ORDER BY op_time DESC LIMIT 5")))
    engine.dispose()
    assert "ix_audit_log_username_op_time" in plan, plan
