"""Tables for events and replication: the event outbox, registry endpoints, replication
policies and the per-artifact tasks of a replication execution.

The outbox is written in the transaction of the change it records (push, artifact or tag
delete) and consumed in id order by the job service. Registry credentials are not here:
only the access key and whether a secret exists; the secret is a 0600 file in the secrets
directory.
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
)

from harbor_twisted.db.models import metadata

event_outbox = Table(
    "event_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_type", String(32), nullable=False),  # PUSH_ARTIFACT, … (event_store.py)
    Column("repository", String(255), nullable=False),
    Column("digest", String(200), nullable=True),
    Column("tag", String(128), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("operator", String(255), nullable=True),  # the user name, where one is known
    Column("detail", Text, nullable=True),  # JSON: what a job event adds (webhook event_data)
)

replication_registry = Table(
    "replication_registry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("url", String(1024), nullable=False),
    Column("type", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("insecure", Boolean, nullable=False, default=False),
    Column("credential_type", String(32), nullable=False, default="basic"),
    Column("access_key", String(255), nullable=True),
    Column("has_secret", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

replication_policy = Table(
    "replication_policy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("src_registry_id", Integer, ForeignKey("replication_registry.id"), nullable=True),
    Column("dest_registry_id", Integer, ForeignKey("replication_registry.id"), nullable=True),
    Column("dest_namespace", String(255), nullable=False, default=""),
    Column("dest_namespace_replace_count", Integer, nullable=False, default=-1),
    Column("trigger_type", String(16), nullable=False),
    Column("cron", String(128), nullable=False, default=""),
    Column("filters", Text, nullable=False),  # JSON list of Harbor ReplicationFilter
    Column("replicate_deletion", Boolean, nullable=False, default=False),
    Column("override", Boolean, nullable=False, default=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("speed", Integer, nullable=False, default=-1),  # KB/s, -1 unlimited
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_replication_policy_trigger_type", "trigger_type"),
)

replication_task = Table(
    "replication_task",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("execution_id", Integer, ForeignKey("job_execution.id", ondelete="CASCADE"),
           nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("operation", String(16), nullable=False),  # copy, deletion
    Column("src_resource", String(512), nullable=False),
    Column("dst_resource", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("log", Text, nullable=False, default=""),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=True),
    Index("ix_replication_task_execution_id", "execution_id", "src_resource"),
)
