"""Timestamps for rows: timezone-aware UTC, the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
