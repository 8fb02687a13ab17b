"""artifacts' total size as a column, indexed for the artifact list's size order

Harbor's artifact size counts the manifest, its config and layers, and an index's children;
the list sorted by the manifest's own bytes, so the order disagreed with the sizes shown.
Existing rows are filled here: images first, then indexes level by level.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_BLOB_BYTES = (
    '(SELECT COALESCE(SUM(b.size), 0) FROM manifest_blob mb JOIN blob b ON b.id = mb.blob_id'
    ' WHERE mb.manifest_id = manifest.id)'
)
_CHILD_BYTES = (
    '(SELECT COALESCE(SUM(c.total_size), 0) FROM manifest_child mc JOIN manifest c'
    ' ON c.repository_id = mc.repository_id AND c.digest = mc.child_digest'
    ' WHERE mc.parent_id = manifest.id)'
)
_TOTAL = f'manifest.size + {_BLOB_BYTES} + {_CHILD_BYTES}'
# nested indexes need one pass per level; real ones have one or two
_MAX_LEVELS = 16


def upgrade() -> None:
    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('total_size', sa.BigInteger(), server_default='0',
                                      nullable=False))
        batch_op.drop_index('ix_manifest_repository_id_size_id')
    op.execute(f'UPDATE manifest SET total_size = manifest.size + {_BLOB_BYTES}')
    conn = op.get_bind()
    for _ in range(_MAX_LEVELS):
        changed = conn.execute(sa.text(
            f'UPDATE manifest SET total_size = {_TOTAL}'
            ' WHERE id IN (SELECT parent_id FROM manifest_child)'
            f' AND total_size <> {_TOTAL}'
        )).rowcount
        if not changed:
            break
    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.create_index('ix_manifest_repository_id_total_size_id',
                              ['repository_id', 'total_size', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.drop_index('ix_manifest_repository_id_total_size_id')
        batch_op.create_index('ix_manifest_repository_id_size_id',
                              ['repository_id', 'size', 'id'], unique=False)
        batch_op.drop_column('total_size')
