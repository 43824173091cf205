"""Keyset pagination with an opaque cursor: ``{"items": [...], "next_cursor": ...}`` (DESIGN §7)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

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
    out = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v for v in values]
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
    """Page ``stmt`` (which selects one entity) ordered by (``created_col``, id): ``created_col`` is the time the
    page sorts by (``created_at``, or e.g. a history's ``at``), and the cursor is written from that column."""
    if cursor:
        raw = decode_cursor(cursor)
        try:
            c_at, c_id = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        if descending:
            stmt = stmt.where(or_(created_col < c_at, and_(created_col == c_at, id_col < c_id)))
        else:
            stmt = stmt.where(or_(created_col > c_at, and_(created_col == c_at, id_col > c_id)))
    order = (created_col.desc(), id_col.desc()) if descending else (created_col.asc(), id_col.asc())
    rows = list((await session.execute(stmt.order_by(*order).limit(limit + 1))).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, created_col.key), getattr(last, id_col.key)])
    return rows, next_cursor
