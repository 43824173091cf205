"""API shapes for webhooks and event polling (docs/integrations.md, Events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator

from app.events.models import EVENT_TYPES, DeliveryStatus

Description = Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)]


def _check_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(value))


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(description="Where events are POSTed (https; http only outside production)")
    event_types: list[str] = Field(min_length=1, max_length=len(EVENT_TYPES), description=", ".join(EVENT_TYPES))
    description: Description | None = None
    active: StrictBool = True
    client_id: uuid.UUID | None = Field(
        default=None,
        description="The integration client the subscription is for. Admins must name one; an integration "
        "client may omit it (it is then itself).",
    )

    _types = field_validator("event_types")(_check_types)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = None
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=len(EVENT_TYPES))
    description: Description | None = None
    active: StrictBool | None = None
    rotate_secret: StrictBool = Field(
        default=False, description="Generate a new secret; the answer shows it once. The old one stops at once."
    )

    _types = field_validator("event_types")(_check_types)


class WebhookPublic(BaseModel):
    id: uuid.UUID
    version: int
    client_id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    #: Outbox position: events up to this ``seq`` have been scheduled for delivery.
    position: int
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="Shown only in this answer: keep it to verify Ongi-Signature")


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None = None
    error: str | None = None
    ms: int | None = None


class DeliveryPublic(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_seq: int
    event_type: str
    status: DeliveryStatus
    #: A worker holds it right now.
    in_flight: bool
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None
    redeliveries: int
    attempt_log: list[DeliveryAttempt]
    created_at: datetime


class EventPublic(BaseModel):
    """One event, the same in ``GET /v1/events`` and in a webhook's body."""

    model_config = ConfigDict(json_schema_extra={"description": "Ids and codes only; fetch details by API."})

    id: uuid.UUID
    seq: int
    type: str
    occurred_at: datetime
    household_id: uuid.UUID | None
    district_code: str | None
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventPublic]
    #: Pass as ``after`` in the next poll (the last item's seq, or the ``after`` you gave when empty).
    next_after: int
    #: More events are waiting right now: poll again at once.
    has_more: bool
    next_cursor: str | None = None
