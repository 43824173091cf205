"""The memo of a batch for one caller (``docs/access.md``, "Batches").

A sync push applies hundreds of mutations for one caller in one transaction. Within it the caller's reach
cannot change (a push neither assigns visits nor records consents), so the visits they may see, whether they are on
their teams, and their partner reach are looked up once, or prefetched for the whole push in one query
(:mod:`app.access.reach`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.core.uow import journal_of

# The memo lives in the unit of work's journal (``Journal.memo``): memoing the reach is not a write.


def start_memo(session: AsyncSession) -> None:
    journal_of(session).memo = {}


def clear_memo(session: AsyncSession) -> None:
    """Forget remembered objects (after a savepoint rollback expired them); memoing stays on."""
    journal = journal_of(session)
    if journal.memo is not None:
        journal.memo = {}


def end_memo(session: AsyncSession) -> None:
    journal_of(session).memo = None


def memo_of(session: AsyncSession | Session) -> dict[Any, Any] | None:
    """The batch memo, when one is on (see :func:`start_memo`)."""
    return journal_of(session).memo
