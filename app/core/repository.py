"""The query layer's base: one repository per domain, built on :class:`Repository`.

Routes hold no queries; services ask a repository. A repository gives its model the same verbs everywhere
(``get``, ``one_or_none``, ``all``, ``scalar``, ``page``, ``add``) and adds the statements its domain needs
by name (``open_for_worker``, ``by_household``…). Row access is not decided here: a "readable" statement
takes its filter from :mod:`app.access` (``visible_visits(principal)``), never writes one inline.
See ``docs/architecture.md`` (the query layer).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import keyset

M = TypeVar("M")


class Repository(Generic[M]):
    """Queries of one model (``model``) in one session; a subclass adds its domain's named statements."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def select(self) -> Select[tuple[M]]:
        """The base statement: every row of the model (a subclass may narrow it, e.g. to rows not deleted)."""
        return select(self.model)

    async def get(self, id: uuid.UUID | Any, *, for_update: bool = False) -> M | None:
        """The row with primary key ``id``, or None (``for_update`` locks it where the database can)."""
        if for_update:
            row: M | None = await self.one_or_none(self.select().where(self.model.id == id).with_for_update())
            return row
        return await self.session.get(self.model, id)

    async def one_or_none(self, stmt: Select[Any]) -> Any:
        return (await self.session.execute(stmt)).scalars().first()

    async def all(self, stmt: Select[Any]) -> list[Any]:
        return list((await self.session.execute(stmt)).scalars())

    async def rows(self, stmt: Select[*tuple[Any, ...]]) -> Sequence[Any]:
        """Rows of several columns (``select(a, b)``), as tuples."""
        rows: Sequence[Any] = (await self.session.execute(stmt)).all()
        return rows

    async def scalar(self, stmt: Select[Any]) -> Any:
        return (await self.session.execute(stmt)).scalar()

    async def count(self, stmt: Select[Any]) -> int:
        return int((await self.session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())

    async def page(
        self,
        stmt: Select[Any],
        *,
        order: tuple[Any, ...],
        limit: int,
        cursor: str | None,
        descending: bool = False,
    ) -> tuple[list[Any], str | None]:
        """One keyset page of ``stmt`` (:func:`app.core.pagination.keyset`)."""
        return await keyset(self.session, stmt, order=order, limit=limit, cursor=cursor, descending=descending)

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def flush(self) -> None:
        await self.session.flush()
