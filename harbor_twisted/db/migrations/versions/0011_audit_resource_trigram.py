"""a trigram full-text index of audit resources on SQLite, for the fuzzy resource filter

Harbor's ``q=resource=~x`` (and the portal's audit pages) match a substring, which no
b-tree index serves: at a million entries SQLite scanned them all. An FTS5 table with the
trigram tokenizer (SQLite 3.34+) indexes every three characters of each resource, kept by
triggers on ``audit_log`` and filled here from the existing rows. PostgreSQL already has
its pg_trgm index (0009). Without FTS5's trigram tokenizer the filter keeps scanning.

A later migration that rebuilds ``audit_log`` through Alembic's batch mode on SQLite drops
these triggers with the old table: it must create them again (``create_triggers``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

FTS = 'audit_log_resource_fts'
TRIGGERS = {
    'insert': f'AFTER INSERT ON audit_log BEGIN INSERT INTO {FTS} (rowid, resource)'
              ' VALUES (new.id, new.resource); END',
    'delete': f'AFTER DELETE ON audit_log BEGIN INSERT INTO {FTS} ({FTS}, rowid, resource)'
              " VALUES ('delete', old.id, old.resource); END",
    'update': f'AFTER UPDATE OF resource ON audit_log BEGIN INSERT INTO {FTS}'
              f" ({FTS}, rowid, resource) VALUES ('delete', old.id, old.resource);"
              f' INSERT INTO {FTS} (rowid, resource) VALUES (new.id, new.resource); END',
}


def create_triggers(conn: sa.Connection) -> None:
    for event, body in TRIGGERS.items():
        conn.exec_driver_sql(f'CREATE TRIGGER IF NOT EXISTS {FTS}_{event} {body}')


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != 'sqlite':
        return
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(
                f"CREATE VIRTUAL TABLE {FTS} USING fts5(resource, content='audit_log',"
                " content_rowid='id', tokenize='trigram')")
    except sa.exc.OperationalError:  # no FTS5, or a SQLite before 3.34 (no trigram)
        return
    conn.exec_driver_sql(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
    create_triggers(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != 'sqlite':
        return
    for event in TRIGGERS:
        conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS {FTS}_{event}')
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS {FTS}')
