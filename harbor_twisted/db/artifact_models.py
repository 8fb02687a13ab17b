"""What the REST API keeps about repositories beyond what the registry needs.

The registry's ``repository`` table stays lean (the registry creates rows on push); the
description a user sets through the API lives beside it and goes with it.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Integer, Table, Text

from harbor_twisted.db.models import metadata

repository_info = Table(
    "repository_info",
    metadata,
    Column(
        "repository_id",
        Integer,
        ForeignKey("repository.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("description", Text, nullable=False, default=""),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
