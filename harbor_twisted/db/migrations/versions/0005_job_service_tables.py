"""job service tables

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 05:01:05.104961
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_type', sa.String(length=64), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('cron', sa.String(length=128), nullable=False),
    sa.Column('cron_type', sa.String(length=16), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('next_run', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_schedule')),
    sa.UniqueConstraint('vendor_type', 'vendor_id', name=op.f('uq_job_schedule_vendor_type_vendor_id'))
    )
    with op.batch_alter_table('job_schedule', schema=None) as batch_op:
        batch_op.create_index('ix_job_schedule_next_run', ['next_run'], unique=False)

    op.create_table('job_execution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_type', sa.String(length=64), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['job_schedule.id'], name=op.f('fk_job_execution_schedule_id_job_schedule'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_execution')),
    sa.UniqueConstraint('schedule_id', 'scheduled_for', name=op.f('uq_job_execution_schedule_id_scheduled_for'))
    )
    with op.batch_alter_table('job_execution', schema=None) as batch_op:
        batch_op.create_index('ix_job_execution_vendor_type_id', ['vendor_type', 'id'], unique=False)

    op.create_table('job_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('execution_id', sa.Integer(), nullable=False),
    sa.Column('job_name', sa.String(length=64), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_retries', sa.Integer(), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sa.String(length=36), nullable=True),
    sa.Column('worker', sa.String(length=255), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stop_requested', sa.Boolean(), nullable=False),
    sa.Column('status_message', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['execution_id'], ['job_execution.id'], name=op.f('fk_job_task_execution_id_job_execution'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_task'))
    )
    with op.batch_alter_table('job_task', schema=None) as batch_op:
        batch_op.create_index('ix_job_task_execution_id', ['execution_id'], unique=False)
        batch_op.create_index('ix_job_task_status_run_at', ['status', 'run_at'], unique=False)

    op.create_table('job_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['job_task.id'], name=op.f('fk_job_log_task_id_job_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_log'))
    )
    with op.batch_alter_table('job_log', schema=None) as batch_op:
        batch_op.create_index('ix_job_log_task_id_id', ['task_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('job_log', schema=None) as batch_op:
        batch_op.drop_index('ix_job_log_task_id_id')

    op.drop_table('job_log')
    with op.batch_alter_table('job_task', schema=None) as batch_op:
        batch_op.drop_index('ix_job_task_status_run_at')
        batch_op.drop_index('ix_job_task_execution_id')

    op.drop_table('job_task')
    with op.batch_alter_table('job_execution', schema=None) as batch_op:
        batch_op.drop_index('ix_job_execution_vendor_type_id')

    op.drop_table('job_execution')
    with op.batch_alter_table('job_schedule', schema=None) as batch_op:
        batch_op.drop_index('ix_job_schedule_next_run')

    op.drop_table('job_schedule')
