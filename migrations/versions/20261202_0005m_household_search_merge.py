"""households: search keys, merges (merged_into_id, household_merge) (DESIGN §11)

Revision ID: 0005m
Revises: 0004a
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005m'
down_revision: str | Sequence[str] | None = '0004a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Search keys compare byte-wise on PostgreSQL (prefix ranges), as they do on SQLite.
KEY = sa.String(length=120).with_variant(sa.String(length=120, collation='C'), 'postgresql')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('household_search_key',
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', KEY, nullable=False),
    sa.PrimaryKeyConstraint('household_id', 'kind', 'key', name=op.f('pk_household_search_key'))
    )
    op.create_index('ix_household_search_key_key', 'household_search_key', ['key', 'household_id'], unique=False)
    op.create_table('household_merge',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('into_id', sa.Uuid(), nullable=False),
    sa.Column('merged_by_id', sa.Uuid(), nullable=False),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unmerge_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('moved', JSON, nullable=False),
    sa.Column('survivor_fields', JSON, nullable=False),
    sa.Column('kept', JSON, nullable=False),
    sa.Column('other_fields', JSON, nullable=False),
    sa.Column('unmerged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unmerged_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_merge_household_id_household')),
    sa.ForeignKeyConstraint(['into_id'], ['household.id'], name=op.f('fk_household_merge_into_id_household')),
    sa.ForeignKeyConstraint(
        ['merged_by_id'], ['user_account.id'], name=op.f('fk_household_merge_merged_by_id_user_account')
    ),
    sa.ForeignKeyConstraint(
        ['unmerged_by_id'], ['user_account.id'], name=op.f('fk_household_merge_unmerged_by_id_user_account')
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_merge'))
    )
    op.create_index('ix_household_merge_household', 'household_merge', ['household_id', 'merged_at'], unique=False)
    op.create_index('ix_household_merge_into', 'household_merge', ['into_id', 'merged_at'], unique=False)
    with op.batch_alter_table('household') as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Uuid(), nullable=True))
    _backfill_search_keys()


def _backfill_search_keys() -> None:
    """Households stored before this revision get their search keys (later writes keep them)."""
    from app.households.search import KEYED_FIELDS, household_keys

    household = sa.table(
        'household',
        sa.column('id', sa.Uuid()),
        *[sa.column(name, JSON if name == 'members' else sa.String()) for name in KEYED_FIELDS],
    )
    keys = sa.table('household_search_key', sa.column('household_id', sa.Uuid()), sa.column('kind'), sa.column('key'))
    bind = op.get_bind()
    last = None
    while True:
        stmt = sa.select(household).order_by(household.c.id).limit(1000)
        if last is not None:
            stmt = stmt.where(household.c.id > last)
        rows = bind.execute(stmt).mappings().all()
        if not rows:
            break
        values = [
            {'household_id': row['id'], 'kind': kind, 'key': key}
            for row in rows
            for kind, key in sorted(household_keys(dict(row)))
        ]
        if values:
            bind.execute(sa.insert(keys), values)
        last = rows[-1]['id']


def downgrade() -> None:
    with op.batch_alter_table('household') as batch_op:
        batch_op.drop_column('merged_into_id')
    op.drop_index('ix_household_merge_into', table_name='household_merge')
    op.drop_index('ix_household_merge_household', table_name='household_merge')
    op.drop_table('household_merge')
    op.drop_index('ix_household_search_key_key', table_name='household_search_key')
    op.drop_table('household_search_key')
