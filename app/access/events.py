"""Who may manage webhook subscriptions and which events reach whom (``app.events``; ``docs/access.md``).

* An **integration client** manages its own subscriptions (its token needs ``events:read``); an **admin**
  manages those of the integration clients in organizations they administer (``app.people.service``'s
  ``can_manage_org``, asked by the service for the organizations :func:`manages_by_organization` says).
* Events reach a subscription, and a poll, only within the client's jurisdiction (``OutboxEvent.district_code``
  within its codes), and only while the client holds ``events:read`` (:func:`client_eligible`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement
from sqlmodel import col

from app.access.policy import codes_clause
from app.auth.models import Organization, User
from app.core.errors import Forbidden
from app.core.principal import Principal, Role
from app.events.models import OutboxEvent, WebhookSubscription

EVENTS_SCOPE = "events:read"


def require_webhook_manager(principal: Principal) -> None:
    """403 for roles that can never manage webhooks, and for a client token without ``events:read``."""
    if principal.role == Role.admin:
        return
    if principal.role == Role.integration:
        if EVENTS_SCOPE not in principal.scopes:
            raise Forbidden("detail.scope-forbidden", params={"scope": EVENTS_SCOPE})
        return
    raise Forbidden("detail.role-forbidden", params={"roles": "admin, integration"})


def manages_by_organization(principal: Principal) -> bool:
    """An admin manages the subscriptions of organizations (those they administer); a client only its own."""
    return principal.role == Role.admin


def manages_own_only(principal: Principal) -> bool:
    """An integration client names no other owner than itself."""
    return principal.role == Role.integration


def subscription_filter(principal: Principal, org_ids: Sequence[uuid.UUID] | None) -> ColumnElement[bool]:
    """The subscriptions the caller manages: of ``org_ids`` (an admin's manageable organizations), else their own."""
    if manages_by_organization(principal):
        return col(WebhookSubscription.organization_id).in_(list(org_ids or []))
    return col(WebhookSubscription.owner_id) == principal.user_id


def is_client(user: User) -> bool:
    """Whether a user is an integration client (the only owners of subscriptions)."""
    return user.role == Role.integration


def client_holds_events_scope(user: User) -> bool:
    return EVENTS_SCOPE in (user.scopes or [])


def client_eligible(user: User, org: Organization) -> bool:
    """Whether deliveries to a client's subscriptions go on: active, of an active organization, holding the scope."""
    return user.active and org.active and is_client(user) and client_holds_events_scope(user)


def client_codes(user: User, org: Organization) -> list[str]:
    """A client's jurisdiction (its own codes when set, else its organization's), as its principal has it."""
    return list(user.jurisdiction if user.jurisdiction is not None else org.jurisdiction)


def client_event_filter(user: User, org: Organization) -> ColumnElement[bool]:
    """The events a client's subscription receives: those within the client's jurisdiction."""
    return codes_clause(OutboxEvent.district_code, client_codes(user, org))


def event_filter(principal: Principal) -> ColumnElement[bool]:
    """The events a poll answers: those within the caller's jurisdiction."""
    return codes_clause(OutboxEvent.district_code, principal.jurisdiction)
