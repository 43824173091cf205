"""Two workers claiming at the same moment, on separate connections that really commit: every due delivery
is claimed by exactly one of them (PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED; SQLite: one writer and an
atomic UPDATE … RETURNING). Also the worker loop running the webhook job.

These tests commit for real (not inside the per-test transaction), so they clean up after themselves."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.models import Organization, User
from app.core.db import create_sessionmaker, utcnow
from app.core.principal import OrgKind, Role
from app.core.state import AppState
from app.events.config import WEBHOOK_SETTINGS, WebhookSettings
from app.events.delivery import claim
from app.events.models import WebhookDelivery, WebhookSubscription
from app.events.service import SECRET_CONTEXT


def _worker(app: Any, engine: AsyncEngine, maker: Any) -> AppState:
    """A worker's state: the app's, bound to a real (committing) engine, with slots of its own."""
    state: AppState = replace(app.state.ongi, engine=engine, sessionmaker=maker)
    state.set(WEBHOOK_SETTINGS, WebhookSettings())
    return state


async def test_concurrent_claims_never_overlap(engine: AsyncEngine, app: Any) -> None:
    security = app.state.ongi.security
    now = utcnow()
    org_id, user_id, sub_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    base = {"version": 1, "created_at": now, "updated_at": now}
    maker = create_sessionmaker(engine)
    async with maker() as s:
        await s.execute(
            insert(Organization),
            [
                {
                    **base,
                    "id": org_id,
                    "name": f"claims-{org_id.hex[:8]}",
                    "kind": OrgKind.public,
                    "jurisdiction": ["11990"],
                    "active": True,
                }
            ],
        )
        await s.execute(
            insert(User),
            [
                {
                    **base,
                    "id": user_id,
                    "organization_id": org_id,
                    "username": f"claims-{user_id.hex[:8]}",
                    "display_name": "claims",
                    "role": Role.integration,
                    "scopes": ["events:read"],
                    "active": True,
                }
            ],
        )
        await s.execute(
            insert(WebhookSubscription),
            [
                {
                    **base,
                    "id": sub_id,
                    "owner_id": user_id,
                    "organization_id": org_id,
                    "url": "http://127.0.0.1:9/x",
                    "event_types": ["visit.completed"],
                    "secret_ciphertext": security.encrypt("whsec_x", context=SECRET_CONTEXT),
                    "active": True,
                    "position": 0,
                }
            ],
        )
        await s.execute(
            insert(WebhookDelivery),
            [
                {
                    **base,
                    "id": uuid.uuid4(),
                    "subscription_id": sub_id,
                    "event_id": uuid.uuid4(),
                    "event_seq": i,
                    "event_type": "visit.completed",
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "redeliveries": 0,
                    "attempt_log": [],
                }
                for i in range(60)
            ],
        )
        await s.commit()
    try:
        workers = [_worker(app, engine, maker) for _ in range(3)]
        rounds = await asyncio.gather(*(claim(w, worker_id=f"w{i}", limit=25) for i, w in enumerate(workers)))
        claimed = [item.id for batch in rounds for item in batch if item.subscription_id == sub_id]
        assert len(claimed) == 60  # 25 + 25 + 10, in some order
        assert len(set(claimed)) == 60  # nobody got a delivery another worker holds
        # and nothing is left to claim while the leases run
        assert [i for i in await claim(workers[0], worker_id="w9", limit=100) if i.subscription_id == sub_id] == []  # type: ignore[arg-type]
    finally:
        async with maker() as s:
            await s.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id))
            await s.execute(delete(WebhookSubscription).where(WebhookSubscription.id == sub_id))
            await s.execute(delete(User).where(User.id == user_id))
            await s.execute(delete(Organization).where(Organization.id == org_id))
            await s.commit()
