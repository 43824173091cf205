"""merge: the winter operations, records, imports, consent forms and sync heads become one

Revision ID: 0006
Revises: 0005c, 0005f, 0005i, 0005m, 0005s, 0005w
Create Date: 2026-12-02
"""
from collections.abc import Sequence

revision: str = '0006'
down_revision: str | Sequence[str] | None = ('0005c', '0005f', '0005i', '0005m', '0005s', '0005w')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
