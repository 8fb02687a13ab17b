"""The ``session`` table: portal sessions (``/c/login``) kept in the database, so they
survive restarts and work across processes. Only a SHA-256 of the session id is stored."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from harbor_twisted.db.identity_models import user as _user  # noqa: F401 - the FK's table
from harbor_twisted.db.models import metadata

session = Table(
    "session",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 hex of the cookie's value
    Column(
        "user_id", Integer, ForeignKey("harbor_user.id", ondelete="CASCADE"), nullable=False
    ),
    Column("sysadmin", Boolean, nullable=False, default=False),  # as granted at login
    Column("group_ids", Text, nullable=False, default="[]"),  # JSON, as found at login
    Column("client_ip", String(64), nullable=False, default=""),
    Column("created", Float, nullable=False),  # Unix time
    Column("last_seen", Float, nullable=False),  # Unix time, slides with use
    Index("ix_session_last_seen", "last_seen"),
    Index("ix_session_user_id", "user_id"),
)
