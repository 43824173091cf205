"""checklist templates, responses and answer history; notes and revisions

Revision ID: 0003d
Revises: 0002
Create Date: 2026-11-22 18:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003d'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checklist_template',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('bands', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('owner_organization_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Uuid(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_checklist_template_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['owner_organization_id'], ['organization.id'], name=op.f('fk_checklist_template_owner_organization_id_organization')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_checklist_template_published_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_template')),
    sa.UniqueConstraint('key', 'template_version', name=op.f('uq_checklist_template_key_template_version'))
    )
    with op.batch_alter_table('checklist_template', schema=None) as batch_op:
        batch_op.create_index('ix_checklist_template_key_status', ['key', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_checklist_template_owner_organization_id'), ['owner_organization_id'], unique=False)

    op.create_table('checklist_response',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=True),
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('template_key', sa.String(length=64), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('item_versions', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('band', sa.String(length=64), nullable=True),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Uuid(), nullable=True),
    sa.Column('applied_risk_level', sa.String(length=16), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['completed_by_id'], ['user_account.id'], name=op.f('fk_checklist_response_completed_by_id_user_account')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_checklist_response_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_checklist_response_household_id_household')),
    sa.ForeignKeyConstraint(['template_id'], ['checklist_template.id'], name=op.f('fk_checklist_response_template_id_checklist_template')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_checklist_response_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_response')),
    sa.UniqueConstraint('visit_id', 'template_key', 'template_version', name=op.f('uq_checklist_response_visit_id_template_key_template_version'))
    )
    with op.batch_alter_table('checklist_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_response_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_checklist_response_visit_id'), ['visit_id'], unique=False)

    op.create_table('note',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('visit_id', sa.Uuid(), nullable=True),
    sa.Column('household_id', sa.Uuid(), nullable=True),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('author_organization_id', sa.Uuid(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint('(visit_id IS NOT NULL AND case_id IS NULL) OR (visit_id IS NULL AND case_id IS NOT NULL AND household_id IS NULL) OR (visit_id IS NULL AND case_id IS NULL AND household_id IS NOT NULL)', name=op.f('ck_note_one_target')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_note_author_id_user_account')),
    sa.ForeignKeyConstraint(['author_organization_id'], ['organization.id'], name=op.f('fk_note_author_organization_id_organization')),
    sa.ForeignKeyConstraint(['case_id'], ['care_case.id'], name=op.f('fk_note_case_id_care_case')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['user_account.id'], name=op.f('fk_note_deleted_by_id_user_account')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_note_household_id_household')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_note_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note'))
    )
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_note_case_created', ['case_id', 'created_at'], unique=False)
        batch_op.create_index('ix_note_household_created', ['household_id', 'created_at'], unique=False)
        batch_op.create_index('ix_note_visit_created', ['visit_id', 'created_at'], unique=False)

    op.create_table('checklist_answer_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('response_id', sa.Uuid(), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('answered_by', sa.Uuid(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('response_version', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['checklist_response.id'], name=op.f('fk_checklist_answer_history_response_id_checklist_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_answer_history'))
    )
    with op.batch_alter_table('checklist_answer_history', schema=None) as batch_op:
        batch_op.create_index('ix_checklist_answer_history_response_item', ['response_id', 'item_key'], unique=False)

    op.create_table('note_revision',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note_id', sa.Uuid(), nullable=False),
    sa.Column('note_version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('changed_by_id', sa.Uuid(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['user_account.id'], name=op.f('fk_note_revision_changed_by_id_user_account')),
    sa.ForeignKeyConstraint(['note_id'], ['note.id'], name=op.f('fk_note_revision_note_id_note')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_revision'))
    )
    with op.batch_alter_table('note_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_revision_note_id'), ['note_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('note_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_revision_note_id'))

    op.drop_table('note_revision')
    with op.batch_alter_table('checklist_answer_history', schema=None) as batch_op:
        batch_op.drop_index('ix_checklist_answer_history_response_item')

    op.drop_table('checklist_answer_history')
    with op.batch_alter_table('note', schema=None) as batch_op:
        batch_op.drop_index('ix_note_visit_created')
        batch_op.drop_index('ix_note_household_created')
        batch_op.drop_index('ix_note_case_created')
        batch_op.drop_index(batch_op.f('ix_note_author_id'))

    op.drop_table('note')
    with op.batch_alter_table('checklist_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_response_visit_id'))
        batch_op.drop_index(batch_op.f('ix_checklist_response_household_id'))

    op.drop_table('checklist_response')
    with op.batch_alter_table('checklist_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checklist_template_owner_organization_id'))
        batch_op.drop_index('ix_checklist_template_key_status')

    op.drop_table('checklist_template')
