"""Delivering outbox events to webhook subscriptions: at least once, signed, retried, dead-lettered.

One round (:func:`deliver_once`) does three short transactions and the HTTP calls between them:

1. **fan-out** — for each active subscription, outbox events after its ``position`` that match its event
   types and its client's jurisdiction become ``webhook_delivery`` rows, and the position moves on.
   Each subscription is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (one worker per
   subscription at a time; SQLite has one writer anyway) and a unique (subscription, event) pair makes a
   double fan-out impossible.
2. **claim** — due deliveries are leased to this worker (``lease_owner``, ``lease_until``): PostgreSQL
   ``SELECT … FOR UPDATE SKIP LOCKED`` then ``UPDATE``; SQLite one atomic ``UPDATE … WHERE id IN (…) AND
   lease expired … RETURNING``. Several workers and API processes may run at once; each delivery is held by
   one worker. A worker that dies leaves its lease to expire, and another takes the delivery over.
3. **send** (no transaction open) and **finish** — the outcome is written only while the lease is still
   ours (same owner, same attempt number); a success marks it ``delivered``; a failure schedules the next
   attempt with exponential backoff and jitter, or moves it to ``dead`` after ``max_attempts``.

Because a worker can die after the receiver got the POST but before the outcome is written, delivery is
*at least once*: receivers drop duplicates by the ``Ongi-Event-Id`` header (the outbox event's id).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import events as access
from app.auth.models import Organization, User
from app.core.db import utcnow
from app.core.state import AppState
from app.core.times import rfc3339
from app.core.uow import open_session
from app.events import transport
from app.events.config import WebhookSettings, webhook_settings
from app.events.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookSubscription
from app.events.service import SECRET_CONTEXT, event_public
from app.events.signing import (
    ATTEMPT_HEADER,
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    sign,
    standard_headers,
)

log = structlog.get_logger("ongi.webhooks")

ATTEMPT_LOG_SIZE = 20
_DUE = (DeliveryStatus.pending, DeliveryStatus.retrying)


def default_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- 1. fan-out ------------------------------------------------------------------------------------------------


async def fan_out(state: AppState, *, now: datetime | None = None) -> int:
    """Turn new outbox events into deliveries. Returns how many deliveries were scheduled."""
    cfg = webhook_settings(state)
    now = now or utcnow()
    scheduled = 0
    behind = (
        select(WebhookSubscription.id)
        .where(
            WebhookSubscription.active.is_(True),
            WebhookSubscription.deleted_at.is_(None),
            WebhookSubscription.position < select(func.max(OutboxEvent.seq)).scalar_subquery(),
        )
        .limit(1)
    )
    async with open_session(state.sessionmaker, write=False) as session:
        if (await session.execute(behind)).first() is None:
            return 0  # nothing to do: no writing transaction (SQLite has one writer; idle workers stay out)
    async with open_session(state.sessionmaker, write=True) as session:
        top = (await session.execute(select(func.max(OutboxEvent.seq)))).scalar_one()
        if top is None:
            return 0
        stmt = (
            select(WebhookSubscription)
            .where(
                WebhookSubscription.active.is_(True),
                WebhookSubscription.deleted_at.is_(None),
                WebhookSubscription.position < top,
            )
            .order_by(WebhookSubscription.position)
        )
        if _is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        subs = list((await session.execute(stmt)).scalars())
        if not subs:
            return 0
        owners = {
            u.id: (u, o)
            for u, o in await session.execute(
                select(User, Organization)
                .join(Organization, Organization.id == User.organization_id)
                .where(User.id.in_({s.owner_id for s in subs}))
            )
        }
        for sub in subs:
            owner = owners.get(sub.owner_id)
            if owner is None or not access.client_eligible(*owner):
                continue  # paused while the client is deactivated or lacks events:read: the position holds
            rows = (
                await session.execute(
                    select(OutboxEvent.seq, OutboxEvent.id, OutboxEvent.type)
                    .where(
                        OutboxEvent.seq > sub.position,
                        OutboxEvent.seq <= top,
                        OutboxEvent.type.in_(list(sub.event_types)),
                        access.client_event_filter(*owner),
                    )
                    .order_by(OutboxEvent.seq)
                    .limit(cfg.fanout_batch)
                )
            ).all()
            new_position = rows[-1].seq if len(rows) == cfg.fanout_batch else top
            if rows:
                values = [
                    {
                        "id": uuid.uuid4(),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "subscription_id": sub.id,
                        "event_id": r.id,
                        "event_seq": r.seq,
                        "event_type": r.type,
                        "status": DeliveryStatus.pending.value,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "redeliveries": 0,
                        "attempt_log": [],
                    }
                    for r in rows
                ]
                insert_ = pg_insert if _is_postgres(session) else sqlite_insert
                await session.execute(
                    insert_(WebhookDelivery).on_conflict_do_nothing(index_elements=["subscription_id", "event_id"]),
                    values,
                )
                scheduled += len(rows)
            # A Core update: moving the position is bookkeeping, not an edit (no version bump, no ETag change).
            await session.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == sub.id)
                .values(position=new_position, updated_at=WebhookSubscription.updated_at)
                .execution_options(synchronize_session=False)
            )
    return scheduled


# --- 2. claim ------------------------------------------------------------------------------------------------


@dataclass
class Claimed:
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    attempts: int
    attempt_log: list[dict[str, Any]]
    url: str = ""
    secret: str = ""
    body: bytes = b""
    missing: bool = False


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    ms: int = 0
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _due(now: datetime) -> Any:
    live = (
        select(WebhookSubscription.id)
        .join(User, User.id == WebhookSubscription.owner_id)
        .where(
            WebhookSubscription.active.is_(True),
            WebhookSubscription.deleted_at.is_(None),
            User.active.is_(True),
        )
    )
    return and_(
        WebhookDelivery.status.in_(_DUE),
        WebhookDelivery.next_attempt_at <= now,
        or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now),
        WebhookDelivery.subscription_id.in_(live),
    )


async def claim(state: AppState, *, worker_id: str, limit: int, now: datetime | None = None) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``worker_id`` and load what sending them needs."""
    cfg = webhook_settings(state)
    now = now or utcnow()
    lease = {
        "lease_owner": worker_id,
        "lease_until": now + timedelta(seconds=cfg.lease_seconds),
        "attempts": WebhookDelivery.attempts + 1,
        "last_attempt_at": now,
        "version": WebhookDelivery.version + 1,
    }
    async with open_session(state.sessionmaker, write=False) as session:
        if (await session.execute(select(WebhookDelivery.id).where(_due(now)).limit(1))).first() is None:
            return []  # nothing due: no writing transaction
    async with open_session(state.sessionmaker, write=True) as session:
        if _is_postgres(session):
            ids = list(
                (
                    await session.execute(
                        select(WebhookDelivery.id)
                        .where(_due(now))
                        .order_by(WebhookDelivery.next_attempt_at)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if ids:
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(ids))
                    .values(**lease)
                    .execution_options(synchronize_session=False)
                )
        else:
            picked = select(WebhookDelivery.id).where(_due(now)).order_by(WebhookDelivery.next_attempt_at).limit(limit)
            ids = list(
                (
                    await session.execute(
                        update(WebhookDelivery)
                        .where(WebhookDelivery.id.in_(picked.scalar_subquery()), _due(now))
                        .values(**lease)
                        .returning(WebhookDelivery.id)
                        .execution_options(synchronize_session=False)
                    )
                ).scalars()
            )
        if not ids:
            return []
        rows = (
            await session.execute(
                select(WebhookDelivery, WebhookSubscription, OutboxEvent)
                .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                .outerjoin(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.event_seq)
                .execution_options(populate_existing=True)
            )
        ).all()
    out = []
    for delivery, sub, event in rows:
        item = Claimed(
            id=delivery.id,
            subscription_id=sub.id,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            attempts=delivery.attempts,
            attempt_log=list(delivery.attempt_log or []),
            url=sub.url,
        )
        if event is None:
            item.missing = True
        else:
            item.secret = state.security.decrypt(sub.secret_ciphertext, context=SECRET_CONTEXT)
            body = event_public(event).model_dump(mode="json")
            item.body = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        out.append(item)
    return out


# --- 3. send and finish --------------------------------------------------------------------------------------


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


async def send(client: httpx.AsyncClient, item: Claimed, *, env: str, cfg: WebhookSettings) -> Outcome:
    """POST one delivery. Never raises: every failure is an :class:`Outcome`."""
    if item.missing:
        return Outcome(ok=False, error="event no longer in the outbox")
    started = time.perf_counter()
    try:
        url = httpx.URL(item.url)
        public_only = not cfg.private_allowed(env)
        if public_only and not transport.is_checked(client):
            return Outcome(ok=False, error="client does not check the target's addresses")
        transport.public_only.set(public_only)  # this task's request only (send runs in its own task per delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": transport.USER_AGENT,
            EVENT_ID_HEADER: str(item.event_id),
            EVENT_TYPE_HEADER: item.event_type,
            DELIVERY_ID_HEADER: str(item.id),
            ATTEMPT_HEADER: str(item.attempts),
            SIGNATURE_HEADER: sign(item.secret, item.body),
            **standard_headers(item.secret, str(item.event_id), item.body),
        }
        response = await client.post(url, content=item.body, headers=headers)
        await response.aread()
    except httpx.ConnectError as exc:
        error = str(exc.__cause__) if isinstance(exc.__cause__, transport.PrivateTarget) else type(exc).__name__
        return Outcome(ok=False, error=error[:200], ms=int((time.perf_counter() - started) * 1000))
    except httpx.TimeoutException:
        return Outcome(ok=False, error="timeout", ms=int((time.perf_counter() - started) * 1000))
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}"[:200], ms=int((time.perf_counter() - started) * 1000))
    ms = int((time.perf_counter() - started) * 1000)
    if 200 <= response.status_code < 300:
        return Outcome(ok=True, status_code=response.status_code, ms=ms)
    return Outcome(
        ok=False,
        status_code=response.status_code,
        error=f"HTTP {response.status_code}",
        ms=ms,
        retry_after=_retry_after(response),
    )


def backoff_seconds(attempts: int, cfg: WebhookSettings, outcome: Outcome | None = None) -> float:
    """Exponential backoff with jitter: min(max, base · 2^(attempts-1)) · U(0.5, 1), or the receiver's
    ``Retry-After`` when that is longer (capped at the maximum)."""
    delay = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * 2 ** max(attempts - 1, 0))
    delay *= random.uniform(0.5, 1.0)
    if outcome is not None and outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, cfg.backoff_max_seconds))
    return delay


async def finish(
    state: AppState,
    results: list[tuple[Claimed, Outcome]],
    *,
    worker_id: str,
    now: datetime | None = None,
) -> int:
    """Write outcomes, each only if this worker still holds that delivery's lease. Returns how many were
    written (a lease lost to another worker is skipped: that worker's attempt counts)."""
    cfg = webhook_settings(state)
    now = now or utcnow()
    written = 0
    async with open_session(state.sessionmaker, write=True) as session:
        for item, outcome in results:
            entry = {
                "at": rfc3339(now),
                "status_code": outcome.status_code,
                "error": outcome.error,
                "ms": outcome.ms,
            }
            values: dict[str, Any] = {
                "lease_owner": None,
                "lease_until": None,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "attempt_log": [*item.attempt_log, entry][-ATTEMPT_LOG_SIZE:],
                "version": WebhookDelivery.version + 1,
                "updated_at": now,
            }
            if outcome.ok:
                values |= {"status": DeliveryStatus.delivered, "delivered_at": now}
            elif item.attempts >= cfg.max_attempts or item.missing:
                values |= {"status": DeliveryStatus.dead, "dead_at": now}
            else:
                values |= {
                    "status": DeliveryStatus.retrying,
                    "next_attempt_at": now + timedelta(seconds=backoff_seconds(item.attempts, cfg, outcome)),
                }
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == item.id,
                    WebhookDelivery.lease_owner == worker_id,
                    WebhookDelivery.attempts == item.attempts,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                written += 1
                state.metrics.webhook_attempts.labels(values["status"].value).inc()
                log.info(
                    "webhook_attempt",
                    delivery_id=str(item.id),
                    subscription_id=str(item.subscription_id),
                    event_id=str(item.event_id),
                    attempt=item.attempts,
                    status=values["status"].value,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    ms=outcome.ms,
                )
            else:
                log.warning("webhook_lease_lost", delivery_id=str(item.id), attempt=item.attempts)
    return written


async def deliver_once(
    state: AppState,
    *,
    limit: int = 100,
    now: datetime | None = None,
    client: httpx.AsyncClient | None = None,
    worker_id: str | None = None,
) -> int:
    """One round: fan out new events, claim up to ``limit`` due deliveries, send them (``concurrency`` at a
    time) and record the outcomes. Returns the number of delivery attempts made."""
    cfg = webhook_settings(state)
    worker_id = worker_id or default_worker_id()
    await fan_out(state, now=now)
    claimed = await claim(state, worker_id=worker_id, limit=limit, now=now)
    if not claimed:
        return 0
    own = client is None
    http = client or transport.http_client(cfg)
    gate = asyncio.Semaphore(cfg.concurrency)

    async def one(item: Claimed) -> tuple[Claimed, Outcome]:
        async with gate:
            return item, await send(http, item, env=state.settings.env, cfg=cfg)

    try:
        results = await asyncio.gather(*(one(item) for item in claimed))
    finally:
        if own:
            await http.aclose()
    await finish(state, list(results), worker_id=worker_id, now=now)
    return len(claimed)
