"""webhook policies, webhook executions, and the operator and detail of events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operator', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))

    op.create_table('webhook_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('event_types', sa.Text(), nullable=False),
    sa.Column('targets', sa.Text(), nullable=False),
    sa.Column('creator', sa.String(length=255), nullable=False),
    sa.Column('creation_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('update_time', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_webhook_policy_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_policy')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_webhook_policy_project_id_name'))
    )
    op.create_table('webhook_execution',
    sa.Column('execution_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['execution_id'], ['job_execution.id'], name=op.f('fk_webhook_execution_execution_id_job_execution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['webhook_policy.id'], name=op.f('fk_webhook_execution_policy_id_webhook_policy'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('execution_id', name=op.f('pk_webhook_execution'))
    )
    with op.batch_alter_table('webhook_execution', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_execution_policy_id_event_type', ['policy_id', 'event_type'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_execution', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_execution_policy_id_event_type')
    op.drop_table('webhook_execution')
    op.drop_table('webhook_policy')
    with op.batch_alter_table('event_outbox', schema=None) as batch_op:
        batch_op.drop_column('detail')
        batch_op.drop_column('operator')
