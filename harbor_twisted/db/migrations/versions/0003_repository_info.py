"""repository description (REST API)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('repository_info',
    sa.Column('repository_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('update_time', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['repository_id'], ['repository.id'],
                            name=op.f('fk_repository_info_repository_id_repository'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('repository_id', name=op.f('pk_repository_info'))
    )


def downgrade() -> None:
    op.drop_table('repository_info')
