"""The audit log's fuzzy resource filter (``resource=~x``) through SQLite's trigram index
(FTS5, migration 0011), so a substring search does not read a million entries.

Selective texts are found by the index and counted there; a text shorter than three
characters (no trigram to look up) or one matching more than ``FEW_MATCHES`` entries is
left to the listing's LIKE: the page is then found quickly by walking the log in order,
and only the count reads every entry. PostgreSQL's ILIKE uses its pg_trgm index (0009).
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Connection,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)

from harbor_twisted.db.identity_models import audit_log
from harbor_twisted.db.listing import Filter

FTS = "audit_log_resource_fts"  # created by migration 0011 where SQLite can
FEW_MATCHES = 10_000

_fts = table(FTS, column("rowid"))


def _indexed(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
                        {"n": FTS}).first() is not None


def resource_condition(conn: Connection, flt: Filter) -> ColumnElement[bool] | None:
    """The entries whose resource contains the fuzzy filter's text, named through the
    trigram index; None when the listing's own condition should answer instead."""
    if flt.kind != "fuzzy" or conn.dialect.name != "sqlite" or len(flt.values[0]) < 3:
        return None
    if not _indexed(conn):
        return None
    phrase = '"' + flt.values[0].replace('"', '""') + '"'  # one phrase: the exact substring
    match = literal_column(FTS).op("MATCH")(phrase)
    probe = select(_fts.c.rowid).where(match).limit(FEW_MATCHES + 1).subquery()
    if conn.execute(select(func.count()).select_from(probe)).scalar_one() > FEW_MATCHES:
        return None
    return audit_log.c.id.in_(select(_fts.c.rowid).where(match))
