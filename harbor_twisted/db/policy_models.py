"""Per-project policy tables: storage quotas, the bytes they count, immutability rules and
retention policies.

``project_blob`` is what a quota counts: one row per digest (blob or manifest) charged to a
project, so content shared by several repositories of a project is counted once.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from harbor_twisted.db.models import DIGEST, metadata

quota = Table(
    "quota",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("project.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("hard_storage", BigInteger, nullable=False),  # bytes, -1 unlimited
    Column("used_storage", BigInteger, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

project_blob = Table(
    "project_blob",
    metadata,
    Column(
        "project_id",
        Integer,
        ForeignKey("project.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", DIGEST, primary_key=True),
    Column("size", BigInteger, nullable=False),
)

immutable_rule = Table(
    "immutable_rule",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("project.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("priority", Integer, nullable=False, default=0),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("action", String(64), nullable=False),
    Column("template", String(64), nullable=False),
    Column("tag_selectors", Text, nullable=False),  # JSON, Harbor's ImmutableSelector list
    Column("scope_selectors", Text, nullable=False),  # JSON, {"repository": [selector]}
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

retention_policy = Table(
    "retention_policy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("project.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("algorithm", String(16), nullable=False),
    Column("rules", Text, nullable=False),  # JSON, Harbor's RetentionRule list
    Column("trigger", Text, nullable=False),  # JSON, Harbor's RetentionRuleTrigger
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
