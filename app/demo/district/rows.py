"""How the district's rows are made and written: seeded ids and times, rows kept per table, one bulk
``INSERT`` per thousand rows in foreign-key order, and the change-log notes phones sync from (numbered and
written by :mod:`app.journal.changes`, the owner of that rule)."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from app.demo.district.sizes import SizeSpec
from app.demo.seed import DONGS
from app.journal import changes


def column_defaults(model: type[SQLModel]) -> dict[str, Callable[[], Any]]:
    """A zero-argument factory per column for what a row leaves out (the model's default, else NULL)."""
    from pydantic_core import PydanticUndefined

    out: dict[str, Callable[[], Any]] = {}
    fields = model.model_fields
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        info = fields.get(column.name)
        if info is not None and info.default_factory is not None:
            out[column.name] = info.default_factory  # type: ignore[assignment]
        elif info is not None and info.default is not PydanticUndefined:
            value = info.default
            out[column.name] = lambda value=value: value
        elif column.nullable:
            out[column.name] = lambda: None
        else:
            name = column.name
            out[column.name] = lambda name=name: (_ for _ in ()).throw(ValueError(f"{model.__name__}.{name}"))
    return out


def random_hex(rng: random.Random, n: int = 64) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


class Tables:
    """Rows to insert, per model, with the change-log notes of synced records."""

    def __init__(self) -> None:
        self.rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
        self.order: list[type[SQLModel]] = []

    def add(self, model: type[SQLModel], row: dict[str, Any]) -> dict[str, Any]:
        if model not in self.rows:
            self.order.append(model)
        self.rows[model].append(row)
        return row


class Gen:
    """The seeded source of ids and times, and the rows made so far."""

    def __init__(self, spec: SizeSpec, seed: int, today: date, tz: ZoneInfo) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.today = today
        self.tz = tz
        #: "Now" for the generated history: the start of ``today`` (service time zone). Everything that
        #: happened is before it; today's visits are all still to come.
        self.anchor = datetime.combine(today, time(0, 0), tz).astimezone(UTC)
        self.t = Tables()
        self.dongs = list(DONGS[: spec.dongs])

    # ids and times
    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz).astimezone(UTC)

    def before_anchor(self, at: datetime) -> datetime:
        return min(at, self.anchor - timedelta(minutes=1))

    def base(self, at: datetime, row_id: uuid.UUID | None = None) -> dict[str, Any]:
        at = self.before_anchor(at)
        return {"id": row_id or self.uid(), "version": 1, "created_at": at, "updated_at": at}


async def log_changes(session: AsyncSession, tables: Tables, at: datetime) -> int:
    """One change-log upsert per synced row, numbered from the shared counter (:mod:`app.journal.changes`)."""
    notes = [
        changes.change_note(entity, row)
        for model in dependency_order(tables)
        if (entity := getattr(model, "__sync_entity__", None)) is not None
        for row in tables.rows[model]
    ]
    return await changes.write_numbered(session, notes, at=at, chunk=2000)


def dependency_order(tables: Tables) -> list[type[SQLModel]]:
    """The models in foreign-key order (a table after the tables it references)."""
    rank = {t.name: i for i, t in enumerate(SQLModel.metadata.sorted_tables)}
    return sorted(tables.order, key=lambda m: rank[m.__table__.name])  # type: ignore[attr-defined]


async def insert_all(session: AsyncSession, tables: Tables) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in dependency_order(tables):
        rows = tables.rows[model]
        if not rows:
            continue
        defaults = column_defaults(model)
        columns = set(defaults)
        for row in rows:
            for name in columns - row.keys():
                row[name] = defaults[name]()
        table = model.__table__  # type: ignore[attr-defined]
        for i in range(0, len(rows), 1000):
            await session.execute(insert(table), rows[i : i + 1000])
        counts[table.name] = len(rows)
    return counts


def pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]
