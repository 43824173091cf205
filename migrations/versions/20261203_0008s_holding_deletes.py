"""sync: a send received is no longer rewritten as held (the next send of the record folds it in): the deletes
sent get an index of their own, which the next pull removes as a range as long as they are; the index of the
holdings by household alone goes (they are read with their device, by the (device, household, entity) index), one
index fewer to keep up on every send

Revision ID: 0008s
Revises: 0007i
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008s'
down_revision: str | Sequence[str] | None = '0007i'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_device_holding_device_deletes',
        'device_holding',
        ['device_id', 'sent_batch'],
        unique=False,
        postgresql_where=sa.text("sent_op = 'delete'"),
        sqlite_where=sa.text("sent_op = 'delete'"),
    )
    op.drop_index('ix_device_holding_household_id', table_name='device_holding')


def downgrade() -> None:
    op.create_index('ix_device_holding_household_id', 'device_holding', ['household_id'], unique=False)
    op.drop_index('ix_device_holding_device_deletes', table_name='device_holding')
