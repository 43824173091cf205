"""contacts and notifications: contact attempts, households' reachability, facilities' last inspection, area names, reporters' notifications

Revision ID: 0005c
Revises: 0004a
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005c'
down_revision: str | Sequence[str] | None = '0004a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def _base() -> list[sa.Column]:
    return [
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('contact_attempt',
    *_base(),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('dong_code', sa.String(length=10), nullable=False),
    sa.Column('method', sa.Enum('phone', 'visit', 'letter', 'registered_mail', 'neighbour', 'fact_check', name='contactmethod', native_enum=False, length=16), nullable=False),
    sa.Column('outcome', sa.Enum('reached', 'no_answer', 'moved', 'wrong_number', 'refused', name='contactoutcome', native_enum=False, length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_contact_attempt_household_id_household')),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_contact_attempt_by_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_contact_attempt_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_attempt'))
    )
    op.create_index('ix_contact_attempt_household_at', 'contact_attempt', ['household_id', 'at'], unique=False)
    op.create_index('ix_contact_attempt_dong', 'contact_attempt', ['dong_code'], unique=False)
    op.create_table('admin_area',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_admin_area'))
    )
    op.create_table('notification',
    *_base(),
    sa.Column('recipient_id', sa.Uuid(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('template', sa.String(length=100), nullable=False),
    sa.Column('params', _JSON, nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='notificationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['user_account.id'], name=op.f('fk_notification_recipient_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_dedupe_key'))
    )
    op.create_index('ix_notification_due', 'notification', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_notification_recipient_id'), 'notification', ['recipient_id'], unique=False)
    op.create_table('outbox_reader',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_outbox_reader'))
    )
    with op.batch_alter_table('household') as batch_op:
        batch_op.add_column(sa.Column('contact_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('unreachable_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_contact_step', sa.String(length=32), nullable=True))
    with op.batch_alter_table('facility') as batch_op:
        batch_op.add_column(sa.Column('last_inspected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_inspection_visit_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('last_inspection_urgent', sa.Boolean(), nullable=True))
    with op.batch_alter_table('crisis_report') as batch_op:
        batch_op.add_column(sa.Column('notified_progress', sa.String(length=16), nullable=False, server_default='received'))
        batch_op.add_column(sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('facility') as batch_op:
        batch_op.drop_column('last_inspection_urgent')
        batch_op.drop_column('last_inspection_visit_id')
        batch_op.drop_column('last_inspected_at')
    with op.batch_alter_table('crisis_report') as batch_op:
        batch_op.drop_column('notified_at')
        batch_op.drop_column('notified_progress')
    with op.batch_alter_table('household') as batch_op:
        batch_op.drop_column('next_contact_step')
        batch_op.drop_column('unreachable_at')
        batch_op.drop_column('contact_failures')
    op.drop_table('outbox_reader')
    op.drop_index(op.f('ix_notification_recipient_id'), table_name='notification')
    op.drop_index('ix_notification_due', table_name='notification')
    op.drop_table('notification')
    op.drop_table('admin_area')
    op.drop_index('ix_contact_attempt_dong', table_name='contact_attempt')
    op.drop_index('ix_contact_attempt_household_at', table_name='contact_attempt')
    op.drop_table('contact_attempt')
