"""pull counts and times as columns, children of indexes by repository, listing indexes,
audit entries counted per project

Pull statistics were counted from the audit log on every listing; they are now kept by the
registry's batched pull recording. Existing pulls are carried over from the audit log once,
and so are the audit log's entries per project.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 01:30:00.000000
"""

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('repository', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pull_count', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pull_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_manifest_repository_id_created_at_id',
                              ['repository_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_manifest_repository_id_size_id',
                              ['repository_id', 'size', 'id'], unique=False)
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pull_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tag_repository_id_updated_at',
                              ['repository_id', 'updated_at'], unique=False)
    with op.batch_alter_table('manifest_child', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repository_id', sa.Integer(), nullable=True))
    op.execute(
        'UPDATE manifest_child SET repository_id = '
        '(SELECT manifest.repository_id FROM manifest WHERE manifest.id = manifest_child.parent_id)'
    )
    with op.batch_alter_table('manifest_child', schema=None) as batch_op:
        batch_op.alter_column('repository_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_manifest_child_repository_id_child_digest',
                              ['repository_id', 'child_digest'], unique=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_operation_op_time', ['operation', 'op_time'],
                              unique=False)
    _carry_over_pulls(op.get_bind())
    _trigram_indexes(op.get_bind())
    op.create_table('audit_log_count',
    sa.Column('project_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('entries', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_audit_log_count'))
    )
    op.execute(
        'INSERT INTO audit_log_count (project_id, entries) '
        'SELECT COALESCE(project_id, 0), COUNT(*) FROM audit_log GROUP BY COALESCE(project_id, 0)'
    )


def _carry_over_pulls(conn: sa.Connection) -> None:
    """Pull counts and last pull times from the audit log, as the listings counted them:
    pulls of ``repo:tag`` or ``repo@digest`` recorded under the repository's project."""
    meta = sa.MetaData()
    audit = sa.Table('audit_log', meta, autoload_with=conn)
    project = sa.Table('project', meta, autoload_with=conn)
    repository = sa.Table('repository', meta, autoload_with=conn)
    manifest = sa.Table('manifest', meta, autoload_with=conn)
    tag = sa.Table('tag', meta, autoload_with=conn)
    projects = dict(conn.execute(sa.select(project.c.name, project.c.id)).all())
    counts: dict[str, int] = defaultdict(int)
    by_digest: list[dict[str, object]] = []
    by_tag: list[dict[str, object]] = []
    rows = conn.execute(
        sa.select(audit.c.project_id, audit.c.resource, sa.func.count(),
                  sa.func.max(audit.c.op_time))
        .where(audit.c.operation == 'pull', audit.c.resource_type == 'artifact')
        .group_by(audit.c.project_id, audit.c.resource)
    )
    for project_id, resource, count, last in rows:
        name, mark, reference = _split(resource)
        if not mark or project_id is None or projects.get(name.split('/', 1)[0]) != project_id:
            continue
        counts[name] += count
        moment: datetime = last
        (by_digest if mark == '@' else by_tag).append(
            {'r': name, 'ref': reference, 't': moment})
    if counts:
        conn.execute(
            sa.update(repository).where(repository.c.name == sa.bindparam('r'))
            .values(pull_count=sa.bindparam('n')),
            [{'r': name, 'n': n} for name, n in counts.items()],
        )
    repository_id = (sa.select(repository.c.id).where(repository.c.name == sa.bindparam('r'))
                     .scalar_subquery())
    if by_digest:
        conn.execute(
            sa.update(manifest).where(manifest.c.repository_id == repository_id,
                                      manifest.c.digest == sa.bindparam('ref'))
            .values(pull_time=sa.bindparam('t')), by_digest)
    if by_tag:
        conn.execute(
            sa.update(tag).where(tag.c.repository_id == repository_id,
                                 tag.c.name == sa.bindparam('ref'))
            .values(pull_time=sa.bindparam('t')), by_tag)


def _trigram_indexes(conn: sa.Connection) -> None:
    """On PostgreSQL, trigram indexes for Harbor's fuzzy (contains) filters on tag names and
    audit resources, where pg_trgm can be had (a trusted extension since PostgreSQL 13: the
    database owner may create it). Without them those filters still work, by scanning."""
    if conn.dialect.name != 'postgresql':
        return
    try:
        with conn.begin_nested():
            conn.exec_driver_sql('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    except sa.exc.DBAPIError:
        return
    for table, column in TRIGRAM_INDEXED:
        op.create_index(f'ix_{table}_{column}_trgm', table, [column], unique=False,
                        postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'})


TRIGRAM_INDEXED = (('tag', 'name'), ('audit_log', 'resource'))


def _split(resource: str) -> tuple[str, str, str]:
    """``repo@digest`` or ``repo:tag`` (repository names hold neither ``@`` nor ``:``)."""
    for mark in ('@', ':'):
        name, found, reference = resource.partition(mark)
        if found:
            return name, mark, reference
    return resource, '', ''


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in TRIGRAM_INDEXED:
            op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
    op.drop_table('audit_log_count')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_operation_op_time')
    with op.batch_alter_table('manifest_child', schema=None) as batch_op:
        batch_op.drop_index('ix_manifest_child_repository_id_child_digest')
        batch_op.drop_column('repository_id')
    with op.batch_alter_table('tag', schema=None) as batch_op:
        batch_op.drop_index('ix_tag_repository_id_updated_at')
        batch_op.drop_column('pull_time')
    with op.batch_alter_table('manifest', schema=None) as batch_op:
        batch_op.drop_index('ix_manifest_repository_id_size_id')
        batch_op.drop_index('ix_manifest_repository_id_created_at_id')
        batch_op.drop_column('pull_time')
    with op.batch_alter_table('repository', schema=None) as batch_op:
        batch_op.drop_column('pull_count')
