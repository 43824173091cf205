"""Keyset pagination with an opaque cursor: ``{"items": [...], "next_cursor": ...}`` (docs/api.md)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Problem
from app.core.i18n import t

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size")]
CursorQuery = Annotated[str | None, Query(max_length=200, description="Opaque cursor from next_cursor")]


def encode_cursor(values: list[Any]) -> str:
    out = [v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(out, separators=(",", ":")).encode()).decode().rstrip("=")


#: Largest values the database's integer columns hold (INTEGER, BIGINT). A number beyond them in a request is
#: a 422 at validation, never a database error.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def invalid_cursor() -> Problem:
    """A cursor this service did not hand out (or one tampered with): 422, naming ``query.cursor``."""
    return Problem(
        422,
        "invalid-cursor",
        "detail.malformed-body",
        extra={"errors": [{"field": "query.cursor", "code": "invalid_cursor", "message": t("detail.malformed-body")}]},
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity, -Infinity: JSON allows none of them


def _bounded(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return -INT64_MAX - 1 <= value <= INT64_MAX
    if isinstance(value, float):
        return abs(value) <= INT64_MAX
    if isinstance(value, list):
        return all(_bounded(v) for v in value)
    return False


def decode_cursor(cursor: str) -> list[Any]:
    """The values of a cursor from :func:`encode_cursor`; numbers beyond 64 bits, NaN and infinities refused."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_refuse_constant)
        if not isinstance(values, list) or not _bounded(values):
            raise ValueError
        return values
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise invalid_cursor() from exc


def cursor_int(value: Any, *, minimum: int = -INT64_MAX - 1) -> int:
    """An integer position from a cursor (a JSON integer, not a float like ``1e+300``, within 64 bits)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= INT64_MAX:
        raise invalid_cursor()
    return value


def _cursor_value(column: Any, raw: Any) -> Any:
    """A cursor's value read back as the type of the column it was written from."""
    kind = getattr(column.type, "impl_instance", column.type)  # a TypeDecorator (UTCDateTime) says its impl's type
    try:
        python_type = kind.python_type
    except (AttributeError, NotImplementedError):
        python_type = None
    if python_type is datetime:
        return datetime.fromisoformat(raw)
    if python_type is date:
        return date.fromisoformat(raw)
    if python_type is uuid.UUID:
        return uuid.UUID(raw)
    if python_type is int:
        return cursor_int(raw)
    if python_type is str:
        if not isinstance(raw, str):
            raise TypeError(raw)
        return raw
    return raw


#: The order of a keyset listing: each item a column, or ``(column, "asc" | "desc")`` for a column that runs its
#: own way (the triage queue: highest priority first, then oldest first).
Direction = Literal["asc", "desc"]
OrderItem = Any | tuple[Any, Direction]


def _directed(order: Sequence[OrderItem], descending: bool) -> list[tuple[Any, bool]]:
    """Each column of ``order`` with whether it runs descending: a bare column runs the listing's way
    (``descending``), a ``(column, direction)`` pair its own."""
    out: list[tuple[Any, bool]] = []
    for item in order:
        if isinstance(item, tuple):
            column, direction = item
            if direction not in ("asc", "desc"):
                raise ValueError(f"order direction {direction!r}: asc or desc")
            out.append((column, direction == "desc"))
        else:
            out.append((item, descending))
    return out


def _after(columns: Sequence[tuple[Any, bool]], values: list[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``columns`` (each with its direction):
    (a > x) or (a = x and b > y) or …, with < for a descending column."""
    clauses = []
    for i, (column, desc) in enumerate(columns):
        step = column < values[i] if desc else column > values[i]
        clauses.append(and_(*[columns[j][0] == values[j] for j in range(i)], step))
    return or_(*clauses)


async def keyset(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    order: Sequence[OrderItem],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """The one keyset pager: ``stmt`` (selecting one entity) ordered by the columns ``order`` (the last one
    unique, usually the id), ``limit`` rows after the position in ``cursor``. Every column runs ascending, or
    descending with ``descending=True``; a ``(column, "desc")`` (or ``"asc"``) item runs its own way. The cursor
    is written from the columns of the order, so it is only ever read back by the same listing; one that does
    not fit is a 422."""
    columns = _directed(order, descending)
    if cursor:
        raw = decode_cursor(cursor)
        if len(raw) != len(columns):
            raise invalid_cursor()
        try:
            values = [_cursor_value(column, value) for (column, _), value in zip(columns, raw, strict=True)]
        except (ValueError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(_after(columns, values))
    ordering = [column.desc() if desc else column.asc() for column, desc in columns]
    rows = list((await session.execute(stmt.order_by(*ordering).limit(limit + 1))).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, column.key) for column, _ in columns])
    return rows, next_cursor


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    created_col: Any,
    id_col: Any,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """:func:`keyset` ordered by (``created_col``, id): ``created_col`` is the time the page sorts by
    (``created_at``, or e.g. a history's ``at``)."""
    return await keyset(session, stmt, order=(created_col, id_col), limit=limit, cursor=cursor, descending=descending)
