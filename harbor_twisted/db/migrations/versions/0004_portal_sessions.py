"""portal sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('session',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sysadmin', sa.Boolean(), nullable=False),
    sa.Column('group_ids', sa.Text(), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('created', sa.Float(), nullable=False),
    sa.Column('last_seen', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['harbor_user.id'], name=op.f('fk_session_user_id_harbor_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_session'))
    )
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.create_index('ix_session_last_seen', ['last_seen'], unique=False)
        batch_op.create_index('ix_session_user_id', ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_index('ix_session_user_id')
        batch_op.drop_index('ix_session_last_seen')

    op.drop_table('session')
