"""sync: a device's holdings by household, indexed per device (a pull after changes looks them up); the
index of unconfirmed sends covers only them (partial: as large as what is outstanding, not as what is held)

Revision ID: 0005s
Revises: 0004a
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005s'
down_revision: str | Sequence[str] | None = '0004a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_device_holding_device_household', 'device_holding', ['device_id', 'household_id'], unique=False)
    op.drop_index('ix_device_holding_device_batch', table_name='device_holding')
    op.create_index(
        'ix_device_holding_device_batch',
        'device_holding',
        ['device_id', 'sent_batch'],
        unique=False,
        postgresql_where=sa.text('sent_batch IS NOT NULL'),
        sqlite_where=sa.text('sent_batch IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_device_holding_device_batch', table_name='device_holding')
    op.create_index('ix_device_holding_device_batch', 'device_holding', ['device_id', 'sent_batch'], unique=False)
    op.drop_index('ix_device_holding_device_household', table_name='device_holding')
