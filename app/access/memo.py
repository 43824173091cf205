"""The memo of a batch for one caller (``docs/access.md``, "Batches").

A sync push applies hundreds of mutations for one caller in one transaction. Within it the caller's reach
cannot change (a push neither assigns visits nor records consents), so the visits they may see and their
partner reach are looked up once, or prefetched for the whole push in one query (:mod:`app.access.reach`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

MEMO_KEY = "ongi_access_memo"


def start_memo(session: AsyncSession) -> None:
    session.info[MEMO_KEY] = {}


def clear_memo(session: AsyncSession) -> None:
    """Forget remembered objects (after a savepoint rollback expired them); memoing stays on."""
    if MEMO_KEY in session.info:
        session.info[MEMO_KEY] = {}


def end_memo(session: AsyncSession) -> None:
    session.info.pop(MEMO_KEY, None)


def memo_of(session: AsyncSession) -> dict[Any, Any] | None:
    """The batch memo, when one is on (see :func:`start_memo`)."""
    return session.info.get(MEMO_KEY)  # type: ignore[no-any-return]
