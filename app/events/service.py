"""Webhook subscriptions (who may manage which), redelivery, and event polling (docs/integrations.md, Events).

Who manages subscriptions:

* an **integration client** manages its own (its token needs the ``events:read`` scope);
* an **admin** manages those of integration clients in organizations they administer
  (``app.people.service.can_manage_org``), naming the client with ``client_id``.

Events reach a subscription, and a poll, only when they lie in the client's jurisdiction
(``OutboxEvent.district_code`` within the client's codes) and the client holds ``events:read``.
"""

from __future__ import annotations

import ipaddress
import uuid

import httpx
from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import events as access
from app.auth.models import Organization, User
from app.core.db import utcnow
from app.core.errors import Conflict, FieldInvalid, NotFound, Problem
from app.core.i18n import t
from app.core.pagination import encode_cursor
from app.core.principal import Principal
from app.core.state import AppState
from app.events.config import WebhookSettings, webhook_settings
from app.events.models import DeliveryStatus, OutboxEvent, WebhookDelivery, WebhookSubscription
from app.events.repository import DeliveryRepository, EventRepository, SubscriptionRepository
from app.events.schemas import (
    DeliveryPublic,
    EventPage,
    EventPublic,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.events.signing import new_secret
from app.journal import audit

SECRET_CONTEXT = "webhook_subscription.secret"  # noqa: S105 - an encryption context, not a secret


# --- shapes --------------------------------------------------------------------------------------------------


def event_public(event: OutboxEvent) -> EventPublic:
    return EventPublic(
        id=event.id,
        seq=event.seq,
        type=event.type,
        occurred_at=event.occurred_at,
        household_id=event.household_id,
        district_code=event.district_code,
        data=dict(event.payload or {}),
    )


def webhook_public(sub: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic(
        id=sub.id,
        version=sub.version,
        client_id=sub.owner_id,
        organization_id=sub.organization_id,
        url=sub.url,
        event_types=list(sub.event_types),
        description=sub.description,
        active=sub.active,
        position=sub.position,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


def delivery_public(d: WebhookDelivery) -> DeliveryPublic:
    now = utcnow()
    finished = d.status in (DeliveryStatus.delivered, DeliveryStatus.dead)
    return DeliveryPublic(
        id=d.id,
        subscription_id=d.subscription_id,
        event_id=d.event_id,
        event_seq=d.event_seq,
        event_type=d.event_type,
        status=d.status,
        in_flight=d.lease_until is not None and d.lease_until > now,
        attempts=d.attempts,
        next_attempt_at=None if finished else d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        dead_at=d.dead_at,
        redeliveries=d.redeliveries,
        attempt_log=list(d.attempt_log or []),  # type: ignore[arg-type]
        created_at=d.created_at,
    )


# --- who may do what -----------------------------------------------------------------------------------------


async def _scope(session: AsyncSession, principal: Principal) -> ColumnElement[bool]:
    """The subscriptions the caller manages (:func:`app.access.events.subscription_filter`)."""
    org_ids = None
    if access.manages_by_organization(principal):
        from app.people.service import manageable_orgs

        org_ids = [o.id for o in await manageable_orgs(session, principal)]
    return access.subscription_filter(principal, org_ids)


async def get_subscription_or_404(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    access.require_webhook_manager(principal)
    sub = await SubscriptionRepository(session).live_one(subscription_id, await _scope(session, principal))
    if sub is None:
        raise NotFound()
    return sub


# --- target addresses ----------------------------------------------------------------------------------------


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not ip.is_global or ip.is_multicast


def check_url(url: str, env: str, cfg: WebhookSettings, field: str = "body.url") -> None:
    parsed = httpx.URL(url)
    if parsed.userinfo:
        raise FieldInvalid.one(field, "webhooks.credentials-in-url")
    if parsed.scheme != "https" and not cfg.http_allowed(env):
        raise FieldInvalid.one(field, "webhooks.https-required")
    host = parsed.host.strip("[]").lower()
    if not cfg.private_allowed(env) and (
        host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or _is_private(host)
    ):
        raise FieldInvalid.one(field, "webhooks.private-target")


# --- subscriptions -------------------------------------------------------------------------------------------


class WebhookService:
    def __init__(self, state: AppState, session: AsyncSession, principal: Principal) -> None:
        self.state, self.session, self.principal = state, session, principal
        self.cfg = webhook_settings(state)

    async def _owner(self, client_id: uuid.UUID | None) -> tuple[User, Organization]:
        p = self.principal
        if access.manages_own_only(p):
            if client_id not in (None, p.user_id):
                raise FieldInvalid.one("body.client_id", "webhooks.client-invalid")
            client_id = p.user_id
        elif client_id is None:
            raise FieldInvalid.one("body.client_id", "webhooks.client-required")
        user = await self.session.get(User, client_id)
        org = await self.session.get(Organization, user.organization_id) if user is not None else None
        if user is None or org is None or not access.is_client(user):
            raise FieldInvalid.one("body.client_id", "webhooks.client-invalid")
        if access.manages_by_organization(p):
            from app.people.service import can_manage_org

            if not can_manage_org(p, org):
                raise FieldInvalid.one("body.client_id", "webhooks.client-invalid")
        if not access.client_holds_events_scope(user):
            raise FieldInvalid.one("body.client_id", "webhooks.client-needs-scope")
        return user, org

    async def create(self, body: WebhookCreate) -> WebhookWithSecret:
        access.require_webhook_manager(self.principal)
        owner, org = await self._owner(body.client_id)
        url = str(body.url)
        check_url(url, self.state.settings.env, self.cfg)
        subs = SubscriptionRepository(self.session)
        if await subs.count_of_owner(owner.id) >= self.cfg.max_subscriptions_per_client:
            raise FieldInvalid.one("body.client_id", "webhooks.too-many", limit=self.cfg.max_subscriptions_per_client)
        # Only events committed from now on: the current end of the outbox.
        position = await subs.outbox_end()
        secret = new_secret()
        sub = WebhookSubscription(
            owner_id=owner.id,
            organization_id=org.id,
            url=url,
            event_types=list(body.event_types),
            description=body.description,
            secret_ciphertext=self.state.security.encrypt(secret, context=SECRET_CONTEXT),
            active=body.active,
            position=position,
            created_by_id=self.principal.user_id,
        )
        self.session.add(sub)
        await self.session.flush()
        await audit.record(
            self.session,
            self.principal,
            "webhooks.create",
            entity="webhook_subscription",
            entity_id=sub.id,
            details={"client_id": str(owner.id), "event_types": list(body.event_types)},
        )
        return WebhookWithSecret(**webhook_public(sub).model_dump(), secret=secret)

    async def list(self, *, limit: int, cursor: str | None) -> tuple[list[WebhookSubscription], str | None]:
        access.require_webhook_manager(self.principal)
        subs = SubscriptionRepository(self.session)
        stmt = subs.live(await _scope(self.session, self.principal))
        return await subs.page(stmt, order=SubscriptionRepository.order, limit=limit, cursor=cursor)

    async def update(self, sub: WebhookSubscription, body: WebhookUpdate) -> WebhookPublic | WebhookWithSecret:
        changed: list[str] = []
        if body.url is not None:
            url = str(body.url)
            check_url(url, self.state.settings.env, self.cfg)
            sub.url = url
            changed.append("url")
        if body.event_types is not None:
            sub.event_types = list(body.event_types)
            changed.append("event_types")
        if "description" in body.model_fields_set:
            sub.description = body.description
            changed.append("description")
        if body.active is not None:
            sub.active = body.active
            changed.append("active")
        secret: str | None = None
        if body.rotate_secret:
            secret = new_secret()
            sub.secret_ciphertext = self.state.security.encrypt(secret, context=SECRET_CONTEXT)
            changed.append("secret")
        if changed:
            await self.session.flush()
        await audit.record(
            self.session,
            self.principal,
            "webhooks.update",
            entity="webhook_subscription",
            entity_id=sub.id,
            details={"fields": changed},
        )
        public = webhook_public(sub)
        return WebhookWithSecret(**public.model_dump(), secret=secret) if secret else public

    async def delete(self, sub: WebhookSubscription) -> None:
        sub.deleted_at = utcnow()
        sub.active = False
        await self.session.flush()
        await audit.record(
            self.session, self.principal, "webhooks.delete", entity="webhook_subscription", entity_id=sub.id
        )

    # --- deliveries ----------------------------------------------------------------------------------------

    async def deliveries(
        self, sub: WebhookSubscription, *, status: DeliveryStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[WebhookDelivery], str | None]:
        deliveries = DeliveryRepository(self.session)
        stmt = deliveries.of_subscription(sub.id, status)
        return await deliveries.page(stmt, order=DeliveryRepository.order, limit=limit, cursor=cursor, descending=True)

    async def get_delivery(self, sub: WebhookSubscription, delivery_id: uuid.UUID) -> WebhookDelivery:
        delivery = await DeliveryRepository(self.session).one_of_subscription(sub.id, delivery_id)
        if delivery is None:
            raise NotFound()
        return delivery

    async def redeliver(self, sub: WebhookSubscription, delivery_id: uuid.UUID) -> WebhookDelivery:
        """Queue a delivery again (a dead letter, or one the receiver lost), due at once, with a fresh
        attempt budget. Refused while a worker holds it."""
        delivery = await self.get_delivery(sub, delivery_id)
        now = utcnow()
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                (WebhookDelivery.lease_until.is_(None)) | (WebhookDelivery.lease_until <= now),
            )
            .values(
                status=DeliveryStatus.pending,
                attempts=0,
                next_attempt_at=now,
                dead_at=None,
                lease_owner=None,
                lease_until=None,
                redeliveries=WebhookDelivery.redeliveries + 1,
                version=WebhookDelivery.version + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            problem = Conflict("delivery-in-flight", "webhooks.delivery-in-flight")
            problem.headers["Retry-After"] = "10"
            raise problem
        await self.session.refresh(delivery)
        await audit.record(
            self.session,
            self.principal,
            "webhooks.redeliver",
            entity="webhook_delivery",
            entity_id=delivery.id,
            details={"subscription_id": str(sub.id), "event_id": str(delivery.event_id)},
        )
        return delivery


# --- polling ---------------------------------------------------------------------------------------------------


def cursor_after(cursor: str) -> int:
    from app.core.pagination import cursor_int, decode_cursor, invalid_cursor

    raw = decode_cursor(cursor)
    if len(raw) != 1:
        raise invalid_cursor()
    return cursor_int(raw[0], minimum=0)


def parse_types(raw: list[str]) -> list[str]:
    from app.events.models import EVENT_TYPES

    types = [part.strip() for value in raw for part in value.split(",") if part.strip()]
    unknown = sorted({x for x in types if x not in EVENT_TYPES})
    if unknown:
        raise Problem(
            422,
            "validation",
            "detail.validation",
            params={"count": 1},
            extra={
                "errors": [
                    {
                        "field": "query.types",
                        "code": "enum",
                        "message": t("events.unknown-type", types=", ".join(unknown)),
                    }
                ]
            },
        )
    return list(dict.fromkeys(types))


async def poll_events(
    session: AsyncSession, principal: Principal, *, after: int, types: list[str], limit: int
) -> EventPage:
    """Events after ``after`` in commit order, within the caller's jurisdiction.

    ``seq`` is handed out in commit order (``app.journal.changes``): once an event with ``seq`` n is visible,
    no event with a smaller ``seq`` can still appear, so polling from the last ``seq`` seen skips nothing.
    """
    rows = await EventRepository(session).after(
        access.event_filter(principal), after=after, types=types, limit=limit + 1
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_after = rows[-1].seq if rows else after
    if rows:  # an empty poll discloses nothing: not audited (clients poll every few seconds)
        await audit.record(
            session,
            principal,
            "events.read",
            entity="outbox_event",
            details={"after": after, "count": len(rows), "next_after": next_after},
        )
    return EventPage(
        items=[event_public(r) for r in rows],
        next_after=next_after,
        has_more=has_more,
        next_cursor=encode_cursor([next_after]) if has_more else None,
    )
