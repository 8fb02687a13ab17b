"""Webhook tables: project policies (Harbor's ``WebhookPolicy``) and which policy and event
type each webhook execution of the job service was made for.

A policy's targets are JSON without their auth headers: a target only says whether it has
one; the header itself is a 0600 file in the secrets directory (``webhooks/secrets.py``).
Deliveries are ordinary job service executions (vendor ``WEBHOOK``, ``vendor_id`` = the
policy) with one task each; ``webhook_execution`` adds the event type, so "last trigger"
is one grouped query.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from harbor_twisted.db.models import metadata

webhook_policy = Table(
    "webhook_policy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("project.id", ondelete="CASCADE"),
           nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("event_types", Text, nullable=False),  # JSON list of event type names
    Column("targets", Text, nullable=False),  # JSON list, auth headers left out
    Column("creator", String(255), nullable=False, default=""),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project_id", "name"),
)

webhook_execution = Table(
    "webhook_execution",
    metadata,
    Column("execution_id", Integer, ForeignKey("job_execution.id", ondelete="CASCADE"),
           primary_key=True),
    Column("policy_id", Integer, ForeignKey("webhook_policy.id", ondelete="CASCADE"),
           nullable=False),
    Column("event_type", String(32), nullable=False),
    Index("ix_webhook_execution_policy_id_event_type", "policy_id", "event_type"),
)
