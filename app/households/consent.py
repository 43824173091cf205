"""A household's consents: recording, withdrawing, and how they are shown (``docs/access.md``, consent).

A consent is given (or refused) by the household for an organization or all partners and for purposes; while
it is in force (:func:`app.access.policy.consent_in_force`) it opens the household to the partners it covers.
Recording or withdrawing one changes the household's consent summary, so the household gets a new version
(:func:`touch`) and phones learn of it; a withdrawal cuts a partner's access at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import households as access
from app.access import policy
from app.auth.models import Organization
from app.core.db import utcnow
from app.core.errors import Conflict, field_problem
from app.core.principal import OrgKind, Principal
from app.households.models import Consent, Household
from app.households.repository import HouseholdRepository
from app.households.schemas import ConsentBrief, ConsentCreate, ConsentFormPublic, ConsentPublic, ConsentSummary
from app.journal import audit


def touch(household: Household) -> None:
    """Mark the household changed (its consent summary changed): new version, and a sync change."""
    household.updated_at = utcnow()


async def record_consent(
    session: AsyncSession, principal: Principal, household: Household, body: ConsentCreate
) -> Consent:
    now = utcnow()
    if body.recipient_kind == "organization":
        if body.recipient_organization_id is None:
            raise field_problem("body.recipient_organization_id", "households.consent-organization-required")
        org = await session.get(Organization, body.recipient_organization_id)
        if org is None or not org.active or org.kind != OrgKind.private:
            raise field_problem("body.recipient_organization_id", "households.consent-organization-unknown")
    elif body.recipient_organization_id is not None:
        raise field_problem("body.recipient_organization_id", "households.consent-organization-unexpected")
    valid_from = body.valid_from or now
    if body.valid_until is not None and body.valid_until <= valid_from:
        raise field_problem("body.valid_until", "households.consent-until-before-from")
    consent = Consent(
        household_id=household.id,
        status=body.status,
        given_by=body.given_by,
        recorded_by_id=principal.user_id,
        recipient_kind=body.recipient_kind,
        recipient_organization_id=body.recipient_organization_id,
        purposes=[p.value for p in body.purposes],
        valid_from=valid_from,
        valid_until=body.valid_until,
    )
    session.add(consent)
    touch(household)
    await session.flush()
    await audit.record(
        session,
        principal,
        "household.consent.create",
        entity="consent",
        entity_id=consent.id,
        household_id=household.id,
        details={"status": body.status, "recipient_kind": body.recipient_kind, "purposes": len(body.purposes)},
    )
    return consent


async def withdraw_consent(
    session: AsyncSession, principal: Principal, household: Household, consent: Consent, reason: str
) -> Consent:
    if consent.withdrawn_at is not None:
        raise Conflict("consent-closed", "households.consent-withdrawn")
    if consent.status != "given":
        raise Conflict("consent-closed", "households.consent-not-given")
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = principal.user_id
    consent.withdrawal_reason = reason
    touch(household)
    await session.flush()
    await audit.record(
        session,
        principal,
        "household.consent.withdraw",
        entity="consent",
        entity_id=consent.id,
        household_id=household.id,
        purpose=reason,
    )
    return consent


def consent_summary(consents: list[Consent], principal: Principal, at: datetime) -> ConsentSummary:
    """Who may see the household now and until when, as the caller is told it
    (:func:`app.access.households.consents_shown`)."""
    in_force = access.consents_shown(principal, [c for c in consents if policy.consent_in_force(c, at)], at)
    latest = max(consents, key=lambda c: (c.created_at, str(c.id)), default=None)
    ends = [c.valid_until for c in in_force]
    return ConsentSummary(
        in_force=[
            ConsentBrief(
                id=c.id,
                recipient_kind=c.recipient_kind,
                recipient_organization_id=c.recipient_organization_id,
                purposes=list(c.purposes or []),
                valid_until=c.valid_until,
            )
            for c in in_force
        ],
        refused=latest is not None and latest.status == "refused" and latest.withdrawn_at is None,
        until=None if not ends or any(e is None for e in ends) else max(e for e in ends if e is not None),
    )


def consent_public(consent: Consent, now: datetime, form: Any = None) -> ConsentPublic:
    """A consent as it leaves the API: whether it is in force now, and its signed form (or None)."""
    out = ConsentPublic.model_validate(consent)
    out.in_force = policy.consent_in_force(consent, now)
    out.form = form
    return out


async def forms_of(session: AsyncSession, consent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ConsentFormPublic]:
    """The signed form of each of these consents that has one (one query; app.consentforms keeps them)."""
    ids = list(consent_ids)
    if not ids:
        return {}
    rows = await HouseholdRepository(session).forms_by_consent(ids)
    return {row.consent_id: ConsentFormPublic.model_validate(row) for row in rows}
