"""sync: device sync state, pushed mutations, field stamps, conflicts; holdings track unconfirmed sends

Revision ID: 0003f
Revises: 0002
Create Date: 2026-11-22
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003f'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('field_stamp',
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('entity', 'entity_id', 'field', name=op.f('pk_field_stamp'))
    )
    op.create_table('device_sync_state',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('scope_day', sa.String(length=10), nullable=False),
    sa.Column('has_more', sa.Boolean(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('renew_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_pull_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_push_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clock_skew_ms', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_sync_state_device_id_device')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_sync_state')),
    sa.UniqueConstraint('device_id', name=op.f('uq_device_sync_state_device_id'))
    )
    op.create_table('sync_conflict',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('mutation_id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('device_value', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('server_value', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_sync_conflict_device_id_device')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflict'))
    )
    with op.batch_alter_table('sync_conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_conflict_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_conflict_entity_id'), ['entity_id'], unique=False)

    op.create_table('sync_mutation',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=False),
    sa.Column('mutation_id', sa.Uuid(), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=True),
    sa.Column('op', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('device_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_sync_mutation_device_id_device')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_mutation')),
    sa.UniqueConstraint('device_id', 'mutation_id', name=op.f('uq_sync_mutation_device_id_mutation_id'))
    )
    with op.batch_alter_table('device_holding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_view', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('sent_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_view', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('sent_op', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('sent_batch', sa.Integer(), nullable=True))
        batch_op.alter_column('held_version',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.alter_column('sent_at',
               existing_type=sa.DATETIME(),
               nullable=True)
        batch_op.drop_index(batch_op.f('ix_device_holding_device_id'))
        batch_op.create_index('ix_device_holding_device_batch', ['device_id', 'sent_batch'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_holding', schema=None) as batch_op:
        batch_op.drop_index('ix_device_holding_device_batch')
        batch_op.create_index(batch_op.f('ix_device_holding_device_id'), ['device_id'], unique=False)
        batch_op.alter_column('sent_at',
               existing_type=sa.DATETIME(),
               nullable=False)
        batch_op.alter_column('held_version',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('sent_batch')
        batch_op.drop_column('sent_op')
        batch_op.drop_column('sent_version')
        batch_op.drop_column('sent_view')
        batch_op.drop_column('held_view')
    op.drop_table('sync_mutation')
    with op.batch_alter_table('sync_conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_conflict_entity_id'))
        batch_op.drop_index(batch_op.f('ix_sync_conflict_device_id'))
    op.drop_table('sync_conflict')
    op.drop_table('device_sync_state')
    op.drop_table('field_stamp')
