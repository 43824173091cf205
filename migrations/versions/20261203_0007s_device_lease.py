"""sync: the lease a pull renews on everything a device holds is kept once per device
(``device_sync_state.hold_until``), not written to each of its holdings (an UPDATE over all of them); the (device, household) index of holdings takes the entity too (a content pull reads a
household's visits and cases, not all its notes)

Revision ID: 0007s
Revises: 0006
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007s'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_device_holding_device_household', table_name='device_holding')
    op.create_index(
        'ix_device_holding_device_household', 'device_holding', ['device_id', 'household_id', 'entity'], unique=False
    )
    op.add_column('device_sync_state', sa.Column('hold_until', sa.DateTime(timezone=True), nullable=True))
    # the lease each device was last given on all it holds: what every holding it still holds has at least
    op.execute(
        "UPDATE device_sync_state SET hold_until = (SELECT min(h.hold_until) FROM device_holding h"
        " WHERE h.device_id = device_sync_state.device_id AND h.revoked_at IS NULL)"
    )


def downgrade() -> None:
    # back to a lease on each holding: every holding not revoked carries its device's, when that is later
    lease = "(SELECT s.hold_until FROM device_sync_state s WHERE s.device_id = device_holding.device_id)"
    op.execute(
        f"UPDATE device_holding SET hold_until = {lease} WHERE revoked_at IS NULL AND {lease} IS NOT NULL"
        f" AND (hold_until IS NULL OR hold_until < {lease})"
    )
    op.drop_column('device_sync_state', 'hold_until')
    op.drop_index('ix_device_holding_device_household', table_name='device_holding')
    op.create_index('ix_device_holding_device_household', 'device_holding', ['device_id', 'household_id'], unique=False)
