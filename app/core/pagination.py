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

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


LimitQuery = Annotated[int, Query(ge=1, le=500, description="Page size")]
CursorQuery = Annotated[str | None, Query(max_length=200, description="Opaque cursor from next_cursor")]


def encode_cursor(values: list[Any]) -> str:
    out = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(out, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list):
            raise ValueError
        return values
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Problem(400, "invalid-cursor", "detail.malformed-body") from exc


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
    """Page ``stmt`` (which selects one entity) ordered by (created_at, id)."""
    if cursor:
        raw = decode_cursor(cursor)
        try:
            c_at, c_id = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
        except (ValueError, IndexError, TypeError) as exc:
            raise Problem(400, "invalid-cursor", "detail.malformed-body") from exc
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
        next_cursor = encode_cursor([last.created_at, last.id])
    return rows, next_cursor
