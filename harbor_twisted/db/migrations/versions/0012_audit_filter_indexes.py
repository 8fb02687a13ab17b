"""indexes for the audit log's filters (by user, by resource type, a project's by operation)
and for counting a repository's tagged artifacts

The portal's audit pages filter by user, operation and resource type, newest first. A
filter no index leads with read the log in time order testing every entry, which for a
rare value (one user's entries, a project's deletions among a million pulls) meant reading
all of them. Each filter now has an index that starts with it and ends with the time, so a
page is an index range read in order; the user index replaces the one on the name alone.

A repository's tagged artifacts (the portal's "tagged" and "untagged" views, Harbor's
``tags=*`` and ``tags=nil``) are counted as the distinct artifacts of its tags, one range
of a (repository, artifact) index of tags instead of a test of every artifact.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 11:30:00.000000
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tag_repository_id_manifest_id', 'tag', ['repository_id', 'manifest_id'])
    op.create_index('ix_audit_log_username_op_time', 'audit_log', ['username', 'op_time'])
    op.drop_index('ix_audit_log_username', table_name='audit_log')
    op.create_index('ix_audit_log_resource_type_op_time', 'audit_log',
                    ['resource_type', 'op_time'])
    op.create_index('ix_audit_log_project_id_operation_op_time', 'audit_log',
                    ['project_id', 'operation', 'op_time'])


def downgrade() -> None:
    op.drop_index('ix_tag_repository_id_manifest_id', table_name='tag')
    op.drop_index('ix_audit_log_project_id_operation_op_time', table_name='audit_log')
    op.drop_index('ix_audit_log_resource_type_op_time', table_name='audit_log')
    op.create_index('ix_audit_log_username', 'audit_log', ['username'])
    op.drop_index('ix_audit_log_username_op_time', table_name='audit_log')
