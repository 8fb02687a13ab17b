"""Tables for identity and access: users, groups, projects, members, robots, audit, settings.

Column names follow Harbor's API where they surface there (``sysadmin_flag``, ``role_id``,
``entity_type`` 'u'/'g'), so the REST layer maps rows to Harbor's JSON shapes directly.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

user = Table(
    "harbor_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("email", String(255), nullable=True),
    Column("realname", String(255), nullable=False, default=""),
    Column("comment", String(255), nullable=False, default=""),
    Column("password_hash", String(255), nullable=True),  # None for LDAP users
    Column("sysadmin_flag", Boolean, nullable=False, default=False),
    Column("auth_source", String(16), nullable=False, default="db"),  # db | ldap
    Column("ldap_dn", String(1024), nullable=True),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

usergroup = Table(
    "usergroup",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("group_name", String(255), nullable=False),
    Column("group_type", Integer, nullable=False, default=1),  # 1 LDAP, 2 HTTP, 3 OIDC
    Column("ldap_group_dn", String(1024), nullable=True),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("group_type", "ldap_group_dn"),
)

project = Table(
    "project",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("owner_id", Integer, ForeignKey("harbor_user.id"), nullable=True),
    Column("public", Boolean, nullable=False, default=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

project_metadata = Table(
    "project_metadata",
    metadata,
    Column("project_id", Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value", String(255), nullable=False),
)

project_member = Table(
    "project_member",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("entity_type", String(1), nullable=False),  # 'u' user, 'g' group
    Column("role_id", Integer, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("project_id", "entity_type", "entity_id"),
    Index("ix_project_member_entity", "entity_type", "entity_id"),
)

robot = Table(
    "robot",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),  # full name, robot$…
    Column("description", Text, nullable=False, default=""),
    Column("level", String(16), nullable=False),  # system | project
    Column("project_id", Integer, ForeignKey("project.id", ondelete="CASCADE"), nullable=True),
    Column("secret_hash", String(255), nullable=False),
    Column("duration", Integer, nullable=False),  # days, -1 never expires
    Column("expires_at", Integer, nullable=False),  # Unix time, -1 never
    Column("disabled", Boolean, nullable=False, default=False),
    Column("permissions", Text, nullable=False, default="[]"),  # JSON, Harbor's shape
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, nullable=True),
    Column("username", String(255), nullable=False),
    Column("client_ip", String(64), nullable=False, default=""),
    Column("operation", String(32), nullable=False),  # create, delete, pull, login, …
    Column("resource_type", String(64), nullable=False),  # artifact, user, project, …
    Column("resource", String(1024), nullable=False),
    Column("detail", Text, nullable=True),
    Column("op_time", DateTime(timezone=True), nullable=False),
    Index("ix_audit_log_op_time", "op_time"),
    Index("ix_audit_log_project_id_op_time", "project_id", "op_time"),
    # each filter of the audit pages leads an index ending with the time (a page is a range)
    Index("ix_audit_log_username_op_time", "username", "op_time"),
    Index("ix_audit_log_operation_op_time", "operation", "op_time"),
    Index("ix_audit_log_resource_type_op_time", "resource_type", "op_time"),
    Index("ix_audit_log_project_id_operation_op_time", "project_id", "operation", "op_time"),
)

# Entries of the audit log per project (0: none), kept by every write of the log, so the
# log's unfiltered totals need not count a million rows (db/audit_counts.py).
audit_log_count = Table(
    "audit_log_count",
    metadata,
    Column("project_id", Integer, primary_key=True, autoincrement=False),
    Column("entries", BigInteger, nullable=False),
)

system_setting = Table(
    "system_setting",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("update_time", DateTime(timezone=True), nullable=False),
)
