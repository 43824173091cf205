"""consent forms: the signed form (photo or PDF) kept with a consent record

Revision ID: 0005f
Revises: 0004a
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005f'
down_revision: str | Sequence[str] | None = '0004a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consent_form',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consent_id', sa.Uuid(), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('storage_key', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Uuid(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_form_consent_id_consent')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_consent_form_household_id_household')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_consent_form_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_form'))
    )
    op.create_index('ux_consent_form_consent', 'consent_form', ['consent_id'], unique=True)
    op.create_index('ix_consent_form_household', 'consent_form', ['household_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_consent_form_household', table_name='consent_form')
    op.drop_index('ux_consent_form_consent', table_name='consent_form')
    op.drop_table('consent_form')
