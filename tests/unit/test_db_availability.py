"""Which database errors mean "away, retry later" (503) rather than a fault of ours (500)."""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc

from harbor_twisted.db.availability import database_unavailable


def _wrapped(kind: type[exc.DBAPIError], orig: Exception) -> exc.DBAPIError:
    return kind("SELECT 1", {}, orig)


def test_only_a_database_that_is_away_counts_as_unavailable():
    assert database_unavailable(_wrapped(exc.OperationalError,
                                         psycopg.OperationalError("connection refused")))
    assert database_unavailable(_wrapped(exc.OperationalError,
                                         sqlite3.OperationalError("database is locked")))
    assert database_unavailable(exc.TimeoutError("QueuePool limit reached"))
    assert not database_unavailable(_wrapped(exc.OperationalError,
                                             sqlite3.OperationalError("no such table: x")))
    assert not database_unavailable(_wrapped(exc.IntegrityError,
                                             psycopg.IntegrityError("duplicate key")))
    assert not database_unavailable(RuntimeError("a bug"))
