"""winter: alerts, tasks, deadline notices; households' due_at and deadline_rule (DESIGN §11)

Revision ID: 0005w
Revises: 0004a
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005w'
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
    op.create_table('winter_alert',
    *_base(),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('dong_codes', _JSON, nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('criteria', _JSON, nullable=False),
    sa.Column('due_hours', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('task_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_winter_alert_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_winter_alert_organization_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_winter_alert'))
    )
    op.create_index('ix_winter_alert_org_created', 'winter_alert', ['organization_id', 'created_at'], unique=False)
    op.create_table('winter_task',
    *_base(),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=True),
    sa.Column('facility_id', sa.Uuid(), nullable=True),
    sa.Column('alert_id', sa.Uuid(), nullable=True),
    sa.Column('assignee_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=5), nullable=False),
    sa.Column('dong_code', sa.String(length=10), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_device_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Uuid(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['winter_alert.id'], name=op.f('fk_winter_task_alert_id_winter_alert')),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_winter_task_assignee_id_user_account')),
    sa.ForeignKeyConstraint(['completed_by_id'], ['user_account.id'], name=op.f('fk_winter_task_completed_by_id_user_account')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_winter_task_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_winter_task_facility_id_facility')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_winter_task_household_id_household')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_winter_task')),
    sa.UniqueConstraint('alert_id', 'household_id', name=op.f('uq_winter_task_alert_id_household_id'))
    )
    op.create_index('ix_winter_task_assignee_status', 'winter_task', ['assignee_id', 'status'], unique=False)
    op.create_index('ix_winter_task_status_due', 'winter_task', ['status', 'due_at'], unique=False)
    op.create_index('ix_winter_task_household', 'winter_task', ['household_id'], unique=False)
    op.create_index(op.f('ix_winter_task_facility_id'), 'winter_task', ['facility_id'], unique=False)
    op.create_table('deadline_notice',
    *_base(),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_notice')),
    sa.UniqueConstraint('entity', 'entity_id', 'state', 'due_at', name=op.f('uq_deadline_notice_entity_entity_id_state_due_at'))
    )
    with op.batch_alter_table('household') as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deadline_rule', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_household_due_at'), ['due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('household') as batch_op:
        batch_op.drop_index(batch_op.f('ix_household_due_at'))
        batch_op.drop_column('deadline_rule')
        batch_op.drop_column('due_at')
    op.drop_table('deadline_notice')
    for name in ('ix_winter_task_facility_id', 'ix_winter_task_household', 'ix_winter_task_status_due',
                 'ix_winter_task_assignee_status'):
        op.drop_index(name, table_name='winter_task')
    op.drop_table('winter_task')
    op.drop_index('ix_winter_alert_org_created', table_name='winter_alert')
    op.drop_table('winter_alert')
