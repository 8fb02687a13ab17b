"""quotas, immutability rules and retention policies

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 05:40:00.000000

Existing projects get an unlimited quota whose usage is counted from what they hold now.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('hard_storage', sa.BigInteger(), nullable=False),
    sa.Column('used_storage', sa.BigInteger(), nullable=False),
    sa.Column('creation_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('update_time', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_quota_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota')),
    sa.UniqueConstraint('project_id', name=op.f('uq_quota_project_id'))
    )
    op.create_table('project_blob',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=150), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_blob_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'digest', name=op.f('pk_project_blob'))
    )
    op.create_table('immutable_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('tag_selectors', sa.Text(), nullable=False),
    sa.Column('scope_selectors', sa.Text(), nullable=False),
    sa.Column('creation_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('update_time', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_immutable_rule_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_immutable_rule'))
    )
    with op.batch_alter_table('immutable_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_immutable_rule_project_id'), ['project_id'], unique=False)

    op.create_table('retention_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('trigger', sa.Text(), nullable=False),
    sa.Column('creation_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('update_time', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_retention_policy_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_policy')),
    sa.UniqueConstraint('project_id', name=op.f('uq_retention_policy_project_id'))
    )
    _count_existing_projects()


def _count_existing_projects() -> None:
    """An unlimited quota per project, its usage counted once per digest it holds."""
    conn = op.get_bind()
    now = datetime.now(UTC)
    projects = conn.execute(sa.text("SELECT id, name FROM project")).all()
    for project_id, name in projects:
        prefix = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        sizes: dict[str, int] = {}
        for digest, size in conn.execute(sa.text(
            "SELECT b.digest, b.size FROM blob b JOIN repository_blob rb ON rb.blob_id = b.id "
            "JOIN repository r ON r.id = rb.repository_id WHERE r.name LIKE :p ESCAPE '\\'"
            " UNION SELECT m.digest, m.size FROM manifest m JOIN repository r "
            "ON r.id = m.repository_id WHERE r.name LIKE :p ESCAPE '\\'"), {"p": prefix}):
            sizes[digest] = int(size)
        for digest, size in sizes.items():
            conn.execute(sa.text("INSERT INTO project_blob (project_id, digest, size) "
                                 "VALUES (:p, :d, :s)"), {"p": project_id, "d": digest, "s": size})
        conn.execute(sa.text(
            "INSERT INTO quota (project_id, hard_storage, used_storage, creation_time, "
            "update_time) VALUES (:p, -1, :u, :t, :t)"),
            {"p": project_id, "u": sum(sizes.values()), "t": now})


def downgrade() -> None:
    op.drop_table('retention_policy')
    with op.batch_alter_table('immutable_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_immutable_rule_project_id'))
    op.drop_table('immutable_rule')
    op.drop_table('project_blob')
    op.drop_table('quota')
