"""How many audit entries each project has (0: none), kept in the transaction that writes
or detaches them, so the audit log's unfiltered X-Total-Count is a lookup, not a count of
a million rows. Rows are upserted in project order, so concurrent writers lock them in the
same order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, Select, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from harbor_twisted.db.identity_models import audit_log_count

NO_PROJECT = 0


def _key(project_id: int | None) -> int:
    return NO_PROJECT if project_id is None else project_id


def _upsert(conn: Connection, project_id: int, entries: int) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(audit_log_count).values(project_id=project_id, entries=entries)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[audit_log_count.c.project_id],
        set_={"entries": audit_log_count.c.entries + stmt.excluded.entries},
    ))


def add(conn: Connection, project_ids: Iterable[int | None]) -> None:
    """Count one new entry for each project id given (None: an entry of no project)."""
    counts = Counter(_key(p) for p in project_ids)
    for project_id in sorted(counts):
        _upsert(conn, project_id, counts[project_id])


def detach(conn: Connection, project_id: int) -> None:
    """A deleted project's entries now belong to no project."""
    entries = conn.execute(select(audit_log_count.c.entries)
                           .where(audit_log_count.c.project_id == project_id)).scalar()
    if not entries:
        return
    conn.execute(delete(audit_log_count).where(audit_log_count.c.project_id == project_id))
    _upsert(conn, NO_PROJECT, entries)


def total(conn: Connection, project_ids: Select[tuple[int]] | int | None = None) -> int:
    """Entries of one project, of the projects a subquery names, or (None) of all."""
    stmt = select(func.coalesce(func.sum(audit_log_count.c.entries), 0))
    if isinstance(project_ids, int):
        stmt = stmt.where(audit_log_count.c.project_id == project_ids)
    elif project_ids is not None:
        stmt = stmt.where(audit_log_count.c.project_id.in_(project_ids))
    return int(conn.execute(stmt).scalar_one())
