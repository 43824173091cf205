"""sync, audit: on PostgreSQL the ids of a device's holdings and of audit events are made by the database
(``gen_random_uuid()``) when a bulk insert leaves them out: a pull copies a holding and an audit row for every record
it sends, and making their ids in Python (``uuid4``, a system call each) was about 6 % of the API process's CPU in
a first sync (py-spy, 8 Dec)

SQLite is left as it is: there :func:`app.core.inserts.insert_rows` still makes the ids in Python.

Revision ID: 0009s
Revises: 0008s
Create Date: 2026-12-08
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009s'
down_revision: str | Sequence[str] | None = '0008s'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('audit_event', 'device_holding')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:  # gen_random_uuid() is built in from PostgreSQL 13
        op.execute(f'ALTER TABLE {table} ALTER COLUMN id SET DEFAULT gen_random_uuid()')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT')
