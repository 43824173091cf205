"""lifecycle: destruction records, households' destroyed_at, monthly review sign-offs (DESIGN §3.6)

Revision ID: 0004a
Revises: 0003a, 0003b, 0003c, 0003d, 0003e, 0003f
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004a'
down_revision: str | Sequence[str] | None = ('0003a', '0003b', '0003c', '0003d', '0003e', '0003f')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('destruction_record',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('district_code', sa.String(length=5), nullable=False),
    sa.Column('dong_code', sa.String(length=10), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kinds', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_record'))
    )
    op.create_index('ix_destruction_record_at', 'destruction_record', ['destroyed_at', 'id'], unique=False)
    op.create_index('ix_destruction_record_household', 'destruction_record', ['household_id'], unique=False)
    op.create_table('audit_review_signoff',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('signed_by_id', sa.Uuid(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('flag_counts', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_audit_review_signoff_organization_id_organization')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['user_account.id'], name=op.f('fk_audit_review_signoff_signed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_review_signoff')),
    sa.UniqueConstraint('organization_id', 'month', name=op.f('uq_audit_review_signoff_organization_id_month'))
    )
    with op.batch_alter_table('household') as batch_op:
        batch_op.add_column(sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('household') as batch_op:
        batch_op.drop_column('destroyed_at')
    op.drop_table('audit_review_signoff')
    op.drop_index('ix_destruction_record_household', table_name='destruction_record')
    op.drop_index('ix_destruction_record_at', table_name='destruction_record')
    op.drop_table('destruction_record')
