"""``/v1/webhooks`` (subscriptions, deliveries, redelivery) and ``GET /v1/events`` (polling); see
docs/integrations.md, Events."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.access import gates
from app.auth.deps import CurrentPrincipal
from app.core.deps import SessionDep, StateDep
from app.core.http import check_if_match, set_etag
from app.core.pagination import INT64_MAX, CursorQuery, LimitQuery, Page
from app.events import messages as _messages  # noqa: F401 - registers the messages
from app.events.models import DeliveryStatus
from app.events.schemas import (
    DeliveryPublic,
    EventPage,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.events.service import (
    WebhookService,
    cursor_after,
    delivery_public,
    get_subscription_or_404,
    parse_types,
    poll_events,
    webhook_public,
)

router = APIRouter(tags=["events"])

_COMMON = {
    401: {"description": "No valid token"},
    403: {"description": "Not an admin or an integration client with events:read"},
}
_ONE = {**_COMMON, 404: {"description": "No such subscription, or not yours"}}


@router.post(
    "/v1/webhooks",
    response_model=WebhookWithSecret,
    status_code=201,
    summary="Subscribe a URL to events (the secret is shown once)",
    responses={**_COMMON, 422: {"description": "Invalid URL, event types or client"}},
)
async def create_webhook(
    body: WebhookCreate,
    principal: CurrentPrincipal,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> WebhookWithSecret:
    created = await WebhookService(state, session, principal).create(body)
    set_etag(response, created.version)
    response.headers["Location"] = f"/v1/webhooks/{created.id}"
    return created


@router.get(
    "/v1/webhooks",
    response_model=Page[WebhookPublic],
    summary="Webhook subscriptions you manage",
    responses=_COMMON,
)
async def list_webhooks(
    principal: CurrentPrincipal,
    state: StateDep,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[WebhookPublic]:
    rows, next_cursor = await WebhookService(state, session, principal).list(limit=limit, cursor=cursor)
    return Page(items=[webhook_public(r) for r in rows], next_cursor=next_cursor)


@router.get("/v1/webhooks/{webhook_id}", response_model=WebhookPublic, summary="One subscription", responses=_ONE)
async def get_webhook(
    webhook_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, response: Response
) -> WebhookPublic:
    sub = await get_subscription_or_404(session, principal, webhook_id)
    set_etag(response, sub.version)
    return webhook_public(sub)


@router.patch(
    "/v1/webhooks/{webhook_id}",
    response_model=WebhookPublic | WebhookWithSecret,
    summary="Change a subscription (URL, event types, active) or rotate its secret",
    responses={**_ONE, 412: {"description": "If-Match names another version"}, 422: {"description": "Invalid"}},
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    request: Request,
    principal: CurrentPrincipal,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> WebhookPublic | WebhookWithSecret:
    sub = await get_subscription_or_404(session, principal, webhook_id)
    check_if_match(request, sub.version)
    updated = await WebhookService(state, session, principal).update(sub, body)
    set_etag(response, updated.version)
    return updated


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=204,
    summary="Remove a subscription (its deliveries stop; history is kept)",
    responses={**_ONE, 412: {"description": "If-Match names another version"}},
)
async def delete_webhook(
    webhook_id: uuid.UUID, request: Request, principal: CurrentPrincipal, state: StateDep, session: SessionDep
) -> Response:
    sub = await get_subscription_or_404(session, principal, webhook_id)
    check_if_match(request, sub.version)
    await WebhookService(state, session, principal).delete(sub)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryPublic],
    summary="Deliveries of a subscription, newest first (status=dead: the dead-letter list)",
    responses=_ONE,
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    principal: CurrentPrincipal,
    state: StateDep,
    session: SessionDep,
    status: Annotated[DeliveryStatus | None, Query(description="pending, retrying, delivered or dead")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DeliveryPublic]:
    sub = await get_subscription_or_404(session, principal, webhook_id)
    rows, next_cursor = await WebhookService(state, session, principal).deliveries(
        sub, status=status, limit=limit, cursor=cursor
    )
    return Page(items=[delivery_public(d) for d in rows], next_cursor=next_cursor)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}",
    response_model=DeliveryPublic,
    summary="One delivery with its attempts",
    responses=_ONE,
)
async def get_delivery(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, principal: CurrentPrincipal, state: StateDep, session: SessionDep
) -> DeliveryPublic:
    sub = await get_subscription_or_404(session, principal, webhook_id)
    return delivery_public(await WebhookService(state, session, principal).get_delivery(sub, delivery_id))


@router.post(
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryPublic,
    status_code=202,
    summary="Send a delivery again (a dead letter, or one the receiver lost)",
    responses={**_ONE, 409: {"description": "A worker is sending it right now"}},
)
async def redeliver(
    webhook_id: uuid.UUID, delivery_id: uuid.UUID, principal: CurrentPrincipal, state: StateDep, session: SessionDep
) -> DeliveryPublic:
    sub = await get_subscription_or_404(session, principal, webhook_id)
    return delivery_public(await WebhookService(state, session, principal).redeliver(sub, delivery_id))


@router.get(
    "/v1/events",
    response_model=EventPage,
    summary="Events after a position, in commit order, within your jurisdiction (polling)",
    responses={
        401: {"description": "No valid token"},
        403: {"description": "Needs the events:read scope"},
        422: {"description": "Unknown event type"},
    },
)
async def list_events(
    principal: gates.EventReader,
    session: SessionDep,
    after: Annotated[
        int, Query(ge=0, le=INT64_MAX, description="The last seq you processed (0: from the beginning)")
    ] = 0,
    types: Annotated[list[str], Query(description="Event types, repeated or comma-separated")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: CursorQuery = None,
) -> EventPage:
    if cursor:  # next_cursor of a previous page: the same as after=next_after
        after = cursor_after(cursor)
    return await poll_events(session, principal, after=after, types=parse_types(types), limit=limit)
