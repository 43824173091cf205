"""Queueing notifications and sending them, exactly once per thing to tell.

:func:`enqueue` writes a ``notification`` in the caller's transaction, at most one per ``dedupe_key`` (a
unique column: a second enqueue of the same key, by this worker or another, does nothing). The worker's
``notifications`` job (:func:`deliver_once`) sends what is due through the configured
:class:`~app.notify.providers.Notifier`, in three short steps like webhook delivery (``app.events.delivery``):
**claim** due rows under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; one atomic ``UPDATE`` on SQLite),
**send** with no transaction open, **finish** only while the lease is still this round's. A worker that dies
between the provider's answer and the finish leaves the lease to expire and the next round sends again with
the same ``Idempotency-Key`` (the notification's id), which the gateways drop as a duplicate.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.core.db import utcnow
from app.core.i18n import t
from app.core.state import AppState, Slot
from app.core.uow import open_session
from app.notify.config import NotifySettings, notify_settings
from app.notify.models import Notification, NotificationStatus
from app.notify.providers import Message, Notifier, Recipient, SendFailed, notifier_for

log = structlog.get_logger("ongi.notify")


async def enqueue(
    session: AsyncSession, *, recipient_id: uuid.UUID, dedupe_key: str, template: str, params: dict[str, Any]
) -> None:
    """Queue one notification for ``recipient_id`` unless one with ``dedupe_key`` exists."""
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "recipient_id": recipient_id,
        "dedupe_key": dedupe_key,
        "template": template,
        "params": params,
        "status": NotificationStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(Notification.__table__).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


#: The app's notifier, made from the settings on first use; a test puts a recording one here.
NOTIFIER: Slot[Notifier] = Slot("notifier")


def _notifier(state: AppState, cfg: NotifySettings) -> Notifier:
    return state.get_or_create(NOTIFIER, lambda: notifier_for(cfg, state.settings.env))


def _due(now: datetime) -> Any:
    return and_(
        Notification.status == NotificationStatus.pending,
        Notification.next_attempt_at <= now,
        or_(Notification.lease_until.is_(None), Notification.lease_until < now),
    )


async def _claim(state: AppState, cfg: NotifySettings, now: datetime) -> tuple[list[uuid.UUID], datetime]:
    lease = now + timedelta(seconds=cfg.lease_seconds)
    async with open_session(state.sessionmaker, write=True) as session:
        stmt = select(Notification.id).where(_due(now)).order_by(Notification.next_attempt_at).limit(cfg.batch)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list((await session.execute(stmt)).scalars())
        if not ids:
            return [], lease
        result = await session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), _due(now))
            .values(lease_until=lease)
            .returning(Notification.id)
        )
        return list(result.scalars()), lease


async def _finish(state: AppState, notification_id: uuid.UUID, lease: datetime, values: dict[str, Any]) -> None:
    async with open_session(state.sessionmaker, write=True) as session:
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.lease_until == lease)
            .values(lease_until=None, updated_at=utcnow(), **values)
        )


async def deliver_once(state: AppState) -> int:
    """One round: send the notifications that are due. Returns how many were sent or given up."""
    cfg = notify_settings(state)
    notifier = _notifier(state, cfg)
    now = utcnow()
    ids, lease = await _claim(state, cfg, now)
    done = 0
    for notification_id in ids:
        async with open_session(state.sessionmaker, write=False) as session:
            row = (
                await session.execute(
                    select(Notification, User.phone)
                    .join(User, User.id == Notification.recipient_id)
                    .where(Notification.id == notification_id)
                )
            ).first()
        if row is None:
            continue
        notification, phone = row
        message = Message(
            id=str(notification.id),
            template=notification.template,
            text=t(notification.template, "ko", **(notification.params or {})),
            params=dict(notification.params or {}),
        )
        attempts = notification.attempts + 1
        try:
            ref = await notifier.send(Recipient(user_id=str(notification.recipient_id), phone=phone), message)
        except SendFailed as exc:
            give_up = exc.permanent or attempts >= cfg.max_attempts
            await _finish(
                state,
                notification_id,
                lease,
                {
                    "attempts": attempts,
                    "status": NotificationStatus.failed if give_up else NotificationStatus.pending,
                    "next_attempt_at": utcnow() + timedelta(seconds=cfg.backoff_seconds * 2 ** (attempts - 1)),
                    "last_error": exc.reason,
                    "provider": notifier.name,
                },
            )
            log.warning("notification_failed", notification_id=str(notification_id), reason=exc.reason, final=give_up)
            done += int(give_up)
            continue
        await _finish(
            state,
            notification_id,
            lease,
            {
                "attempts": attempts,
                "status": NotificationStatus.sent,
                "sent_at": utcnow(),
                "provider": notifier.name,
                "provider_ref": ref[:200],
                "last_error": None,
            },
        )
        done += 1
    return done
