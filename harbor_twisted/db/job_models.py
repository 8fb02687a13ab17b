"""Job service tables: executions (what the API shows), tasks (what workers claim), task
logs, and cron schedules.

An execution is one run of something (a GC, later a replication) with one or more tasks.
A task row is the durable queue entry: workers claim it with a token and a lease they keep
renewing, so a task whose worker died is claimed again once its lease expires.
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

job_schedule = Table(
    "job_schedule",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor_type", String(64), nullable=False),
    Column("vendor_id", Integer, nullable=False, default=0),
    Column("cron", String(128), nullable=False),
    Column("cron_type", String(16), nullable=False),
    Column("parameters", Text, nullable=False),
    Column("next_run", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("vendor_type", "vendor_id"),
    Index("ix_job_schedule_next_run", "next_run"),
)

job_execution = Table(
    "job_execution",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("vendor_type", String(64), nullable=False),
    Column("vendor_id", Integer, nullable=False, default=0),
    Column("trigger", String(16), nullable=False),
    Column(
        "schedule_id", Integer, ForeignKey("job_schedule.id", ondelete="SET NULL"), nullable=True
    ),
    Column("scheduled_for", DateTime(timezone=True), nullable=True),
    Column("parameters", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("result", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("end_time", DateTime(timezone=True), nullable=True),
    # A schedule fires once per due time, whichever process gets there first.
    UniqueConstraint("schedule_id", "scheduled_for"),
    Index("ix_job_execution_vendor_type_id", "vendor_type", "id"),
)

job_task = Table(
    "job_task",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "execution_id",
        Integer,
        ForeignKey("job_execution.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("job_name", String(64), nullable=False),
    Column("parameters", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_retries", Integer, nullable=False),
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("claim_token", String(36), nullable=True),
    Column("worker", String(255), nullable=True),
    Column("lease_expires_at", DateTime(timezone=True), nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
    Column("stop_requested", Boolean, nullable=False, default=False),
    Column("status_message", Text, nullable=True),
    Column("result", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("end_time", DateTime(timezone=True), nullable=True),
    Index("ix_job_task_status_run_at", "status", "run_at"),
    Index("ix_job_task_execution_id", "execution_id"),
)

job_log = Table(
    "job_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("job_task.id", ondelete="CASCADE"), nullable=False),
    Column("logged_at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_job_log_task_id_id", "task_id", "id"),
)
