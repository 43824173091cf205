"""The pull cursor: what a device presents to say which batch it holds (signed, opaque), and the rule for
"nothing new" shared by the pull and its fast path (:mod:`app.sync.fastpath`). See docs/sync.md.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import Problem
from app.core.state import AppState
from app.sync import messages as _messages  # noqa: F401 - registers messages
from app.sync.models import ChangeCounter


def cursor_expired() -> Problem:
    return Problem(410, "cursor-expired", "detail.cursor-expired")


@dataclass(frozen=True)
class Cursor:
    device_id: uuid.UUID
    batch: int
    seq: int
    day: str
    #: In a first sync's walk: where the next page starts (``entity index`` or ``entity index-last id``).
    walk: str = ""

    def encode(self, state: AppState) -> str:
        body = f"1.{self.device_id.hex}.{self.batch}.{self.seq}.{self.day}"
        if self.walk:
            body = f"2.{self.device_id.hex}.{self.batch}.{self.seq}.{self.day}.{self.walk}"
        mac = state.security.mac(body.encode(), context="sync-cursor")
        return base64.urlsafe_b64encode(f"{body}.{mac}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, state: AppState, raw: str) -> Cursor | None:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            version, device, batch, seq, day, *walk, mac = text.split(".")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if (version, len(walk)) not in (("1", 0), ("2", 1)):
            return None
        body = ".".join([version, device, batch, seq, day, *walk])
        if state.security.mac(body.encode(), context="sync-cursor") != mac:
            return None
        try:
            cursor = cls(uuid.UUID(hex=device), int(batch), int(seq), day, walk[0] if walk else "")
        except ValueError:
            return None
        return cursor if cursor.walk_at() is not None or not cursor.walk else None

    def walk_at(self) -> tuple[int, uuid.UUID | None] | None:
        """The walk's position: the index of the entity it is at, and the last id sent of it."""
        if not self.walk:
            return None
        index, _, after = self.walk.partition("-")
        try:
            return int(index), uuid.UUID(hex=after) if after else None
        except ValueError:
            return None


def nothing_new(
    cursor: Cursor, *, batch: int, has_more: bool, seq: int, renew_after: datetime | None, now: datetime, today: str
) -> bool:
    """Whether a pull presenting ``cursor`` has nothing to receive: the shared rule of both paths."""
    return (
        cursor.batch == batch
        and not has_more
        and cursor.seq == seq
        and cursor.day == today
        and renew_after is not None
        and now < renew_after
    )


async def current_seq(session: AsyncSession) -> int:
    return int((await session.execute(select(col(ChangeCounter.value)).where(col(ChangeCounter.id) == 1))).scalar_one())
