"""The queries of webhook subscriptions, deliveries and polling (``docs/architecture.md``, the query layer).
Which subscriptions and events a caller reaches is :mod:`app.access.events`'s."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, func, select

from app.core.repository import Repository
from app.events.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookSubscription


class SubscriptionRepository(Repository[WebhookSubscription]):
    model = WebhookSubscription
    order = (WebhookSubscription.created_at, WebhookSubscription.id)

    def live(self, scope: ColumnElement[bool]) -> Select[tuple[WebhookSubscription]]:
        """Subscriptions not deleted, within ``scope`` (:func:`app.access.events.subscription_filter`)."""
        return select(WebhookSubscription).where(WebhookSubscription.deleted_at.is_(None), scope)

    async def live_one(self, subscription_id: uuid.UUID, scope: ColumnElement[bool]) -> WebhookSubscription | None:
        return await self.one_or_none(self.live(scope).where(WebhookSubscription.id == subscription_id))  # type: ignore[no-any-return]

    async def count_of_owner(self, owner_id: uuid.UUID) -> int:
        return await self.count(
            select(WebhookSubscription.id).where(
                WebhookSubscription.owner_id == owner_id, WebhookSubscription.deleted_at.is_(None)
            )
        )

    async def outbox_end(self) -> int:
        """The current end of the outbox (the highest ``seq``; 0 when empty)."""
        return int(await self.scalar(select(func.max(OutboxEvent.seq))) or 0)


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery
    #: Newest first (``descending``).
    order = (WebhookDelivery.created_at, WebhookDelivery.id)

    def of_subscription(
        self, subscription_id: uuid.UUID, status: DeliveryStatus | None = None
    ) -> Select[tuple[WebhookDelivery]]:
        stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        return stmt

    async def one_of_subscription(self, subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        return await self.one_or_none(self.of_subscription(subscription_id).where(WebhookDelivery.id == delivery_id))  # type: ignore[no-any-return]


class EventRepository(Repository[OutboxEvent]):
    model = OutboxEvent

    async def after(self, scope: ColumnElement[bool], *, after: int, types: list[str], limit: int) -> list[OutboxEvent]:
        """Up to ``limit`` events after ``after`` in commit order, within ``scope`` (of ``types`` when named)."""
        stmt = select(OutboxEvent).where(OutboxEvent.seq > after, scope)
        if types:
            stmt = stmt.where(OutboxEvent.type.in_(types))
        return await self.all(stmt.order_by(OutboxEvent.seq).limit(limit))
