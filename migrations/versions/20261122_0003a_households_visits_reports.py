"""households, visits, reports: assessment risk, report source, transition location

Revision ID: 0003a
Revises: 0002
Create Date: 2026-11-22 18:36:48.620779
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003a"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crisis_report", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=32), nullable=False, server_default="honorary_official")
        )

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assessed_risk", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assessed_source", sa.String(length=120), nullable=True))

    with op.batch_alter_table("visit_transition", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("location", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_transition", schema=None) as batch_op:
        batch_op.drop_column("location")

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("assessed_source")
        batch_op.drop_column("assessed_at")
        batch_op.drop_column("assessed_risk")

    with op.batch_alter_table("crisis_report", schema=None) as batch_op:
        batch_op.drop_column("source")
