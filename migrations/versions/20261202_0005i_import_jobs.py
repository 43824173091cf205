"""import jobs: spreadsheets uploaded over REST and their per-row results (DESIGN §11 Imports)

Revision ID: 0005i
Revises: 0004a
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005i'
down_revision: str | Sequence[str] | None = '0004a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('integration_import_job',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('submitted_by_id', sa.Uuid(), nullable=False),
    sa.Column('organization_id', sa.Uuid(), nullable=False),
    sa.Column('default_source', sa.String(length=32), nullable=True),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('counts', JSON, nullable=False),
    sa.Column('last_line', sa.Integer(), nullable=False),
    sa.Column('lease_token', sa.Uuid(), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_integration_import_job_organization_id_organization')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['user_account.id'], name=op.f('fk_integration_import_job_submitted_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_import_job'))
    )
    with op.batch_alter_table('integration_import_job', schema=None) as batch_op:
        batch_op.create_index('ix_integration_import_job_status_lease', ['status', 'lease_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_import_job_submitted_by_id'), ['submitted_by_id'], unique=False)

    op.create_table('integration_import_row',
    sa.Column('job_id', sa.Uuid(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=True),
    sa.Column('errors', JSON, nullable=True),
    sa.Column('duplicates', JSON, nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['integration_import_job.id'], name=op.f('fk_integration_import_row_job_id_integration_import_job')),
    sa.PrimaryKeyConstraint('job_id', 'line', name=op.f('pk_integration_import_row'))
    )


def downgrade() -> None:
    op.drop_table('integration_import_row')
    with op.batch_alter_table('integration_import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_import_job_submitted_by_id'))
        batch_op.drop_index('ix_integration_import_job_status_lease')
    op.drop_table('integration_import_job')
