"""Telling a database that is away (restarting, unreachable, full) from a fault of ours."""

from __future__ import annotations

from sqlalchemy import exc

RETRY_AFTER_SECONDS = 5  # what a client is told to wait while the database is away

# SQLite's OperationalError also means bad SQL ("no such table"): only these are transient
_SQLITE_TRANSIENT = ("database is locked", "database or disk is full", "disk i/o error",
                     "unable to open database")


def database_unavailable(error: BaseException) -> bool:
    """The database refused or dropped the connection, or none was free in time: the
    request may succeed if retried (the pool reconnects, pinging before each use)."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, exc.OperationalError | exc.InterfaceError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        return any(text in str(error.orig).lower() for text in _SQLITE_TRANSIENT)
    return True
