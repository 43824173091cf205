"""The keyset pager (app.core.pagination.keyset): columns that run their own way, and cursors that keep their form
(phones and the web app hold them across releases)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.core.errors import Problem
from app.core.pagination import decode_cursor, encode_cursor, keyset
from app.households.models import Household
from tests.support.factories import Factory, make_household

DONG = "1199077702"


async def _walk(factory: Factory, order: tuple[object, ...], *, descending: bool = False) -> list[Household]:
    seen: list[Household] = []
    cursor = None
    async with factory.maker() as session:
        stmt = select(Household).where(Household.dong_code == DONG)
        while True:
            rows, cursor = await keyset(session, stmt, order=order, limit=2, cursor=cursor, descending=descending)
            seen += rows
            if cursor is None:
                return seen


async def test_a_column_runs_its_own_way_and_the_others_the_listings(factory: Factory) -> None:
    made = [await make_household(factory, dong_code=DONG, priority=p) for p in (3, 7, 3, 1, 7)]
    by_age = sorted(made, key=lambda h: (h.created_at, str(h.id)))

    mixed = await _walk(factory, ((Household.priority, "desc"), Household.created_at, Household.id))
    assert [h.id for h in mixed] == [h.id for h in sorted(made, key=lambda h: (-h.priority, h.created_at, str(h.id)))]

    # descending=True turns the bare columns; the pair keeps its direction
    flipped = await _walk(factory, ((Household.priority, "asc"), Household.created_at, Household.id), descending=True)
    newest_first = list(reversed(by_age))
    ascending_priority = sorted(newest_first, key=lambda h: h.priority)  # stable: newest first within a priority
    assert [h.id for h in flipped] == [h.id for h in ascending_priority]

    newest = await _walk(factory, (Household.created_at, Household.id), descending=True)
    assert [h.id for h in newest] == [h.id for h in newest_first]


async def test_the_cursor_is_the_columns_values_in_order(factory: Factory) -> None:
    """The form every cursor had before directions were added: a JSON list of the order's values, so one handed
    out by an earlier release still pages on."""
    made = [await make_household(factory, dong_code=DONG, priority=p) for p in (5, 5, 2)]
    order = ((Household.priority, "desc"), Household.created_at, Household.id)
    async with factory.maker() as session:
        stmt = select(Household).where(Household.dong_code == DONG)
        first, cursor = await keyset(session, stmt, order=order, limit=1, cursor=None)
        assert cursor is not None
        last = first[0]
        assert decode_cursor(cursor) == [last.priority, last.created_at.isoformat(), str(last.id)]
        written_before = encode_cursor([last.priority, last.created_at, last.id])
        assert written_before == cursor
        rest, end = await keyset(session, stmt, order=order, limit=5, cursor=written_before)
    assert end is None
    assert {h.id for h in [*first, *rest]} == {h.id for h in made}


async def test_a_cursor_that_does_not_fit_is_a_422_and_a_bad_direction_an_error(factory: Factory) -> None:
    async with factory.maker() as session:
        stmt = select(Household)
        order = ((Household.priority, "desc"), Household.created_at, Household.id)
        for bad in (encode_cursor([1, "2026-01-01T00:00:00+00:00"]), encode_cursor(["x", "y", "z"])):
            with pytest.raises(Problem) as caught:
                await keyset(session, stmt, order=order, limit=1, cursor=bad)
            assert caught.value.status == 422
        with pytest.raises(ValueError, match="direction"):
            await keyset(session, stmt, order=((Household.priority, "down"), Household.id), limit=1, cursor=None)
