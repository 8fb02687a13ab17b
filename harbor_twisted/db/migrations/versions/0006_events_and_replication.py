"""event outbox and replication tables

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 05:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('repository', sa.String(length=255), nullable=False),
    sa.Column('digest', sa.String(length=200), nullable=True),
    sa.Column('tag', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_outbox'))
    )
    op.create_table('replication_registry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=1024), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('insecure', sa.Boolean(), nullable=False),
    sa.Column('credential_type', sa.String(length=32), nullable=False),
    sa.Column('access_key', sa.String(length=255), nullable=True),
    sa.Column('has_secret', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replication_registry')),
    sa.UniqueConstraint('name', name=op.f('uq_replication_registry_name'))
    )
    op.create_table('replication_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('src_registry_id', sa.Integer(), nullable=True),
    sa.Column('dest_registry_id', sa.Integer(), nullable=True),
    sa.Column('dest_namespace', sa.String(length=255), nullable=False),
    sa.Column('dest_namespace_replace_count', sa.Integer(), nullable=False),
    sa.Column('trigger_type', sa.String(length=16), nullable=False),
    sa.Column('cron', sa.String(length=128), nullable=False),
    sa.Column('filters', sa.Text(), nullable=False),
    sa.Column('replicate_deletion', sa.Boolean(), nullable=False),
    sa.Column('override', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('speed', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dest_registry_id'], ['replication_registry.id'], name=op.f('fk_replication_policy_dest_registry_id_replication_registry')),
    sa.ForeignKeyConstraint(['src_registry_id'], ['replication_registry.id'], name=op.f('fk_replication_policy_src_registry_id_replication_registry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replication_policy')),
    sa.UniqueConstraint('name', name=op.f('uq_replication_policy_name'))
    )
    with op.batch_alter_table('replication_policy', schema=None) as batch_op:
        batch_op.create_index('ix_replication_policy_trigger_type', ['trigger_type'], unique=False)

    op.create_table('replication_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('execution_id', sa.Integer(), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.Column('operation', sa.String(length=16), nullable=False),
    sa.Column('src_resource', sa.String(length=512), nullable=False),
    sa.Column('dst_resource', sa.String(length=512), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('log', sa.Text(), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['execution_id'], ['job_execution.id'], name=op.f('fk_replication_task_execution_id_job_execution'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replication_task'))
    )
    with op.batch_alter_table('replication_task', schema=None) as batch_op:
        batch_op.create_index('ix_replication_task_execution_id', ['execution_id', 'src_resource'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('replication_task', schema=None) as batch_op:
        batch_op.drop_index('ix_replication_task_execution_id')
    op.drop_table('replication_task')
    with op.batch_alter_table('replication_policy', schema=None) as batch_op:
        batch_op.drop_index('ix_replication_policy_trigger_type')
    op.drop_table('replication_policy')
    op.drop_table('replication_registry')
    op.drop_table('event_outbox')
