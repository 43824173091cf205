"""households: ``ns`` search keys (a member's name with its first or last syllable as ``*`` and the birth year), so
that duplicates find the names one syllable apart with an exact lookup instead of a prefix range over every name
that begins alike (app.households.search.similar_keys)

Revision ID: 0007i
Revises: 0007s
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007i'
down_revision: str | Sequence[str] | None = '0007s'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = sa.table('household_search_key', sa.column('household_id', sa.Uuid()), sa.column('kind'), sa.column('key'))
HOUSEHOLDS = sa.table('household', sa.column('id', sa.Uuid()))


def similar_keys(name_birth: str) -> tuple[str, ...]:
    """app.households.search.similar_keys as of this revision."""
    name, _, year = name_birth.rpartition('|')
    if len(name) < 2:
        return ()
    return (f'{name[:-1]}*|{year}', f'*{name[1:]}|{year}')


def upgrade() -> None:
    """Every household's ``nb`` keys give it their ``ns`` keys (later writes keep them), a thousand households at a
    time."""
    bind = op.get_bind()
    last = None
    while True:
        stmt = sa.select(HOUSEHOLDS.c.id).order_by(HOUSEHOLDS.c.id).limit(1000)
        if last is not None:
            stmt = stmt.where(HOUSEHOLDS.c.id > last)
        ids = list(bind.execute(stmt).scalars())
        if not ids:
            break
        last = ids[-1]
        rows = bind.execute(
            sa.select(KEYS.c.household_id, KEYS.c.kind, KEYS.c.key).where(
                KEYS.c.kind.in_(('nb', 'ns')), KEYS.c.household_id.in_(ids)
            )
        ).all()
        # (an earlier revision's backfill, cutting keys with the code of today, may have given some already)
        held = {(hid, key) for hid, kind, key in rows if kind == 'ns'}
        wanted = {(hid, near) for hid, kind, key in rows if kind == 'nb' for near in similar_keys(key)}
        values = sorted(wanted - held, key=lambda v: (str(v[0]), v[1]))
        if values:
            bind.execute(sa.insert(KEYS), [{'household_id': hid, 'kind': 'ns', 'key': key} for hid, key in values])


def downgrade() -> None:
    op.execute("DELETE FROM household_search_key WHERE kind = 'ns'")
