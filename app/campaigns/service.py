"""Campaigns (``docs/care.md``): a focused period — the winter campaign runs from December 15 to February 28 —
with its districts and criteria. Their summary is :mod:`app.campaigns.summary`.

Who (:mod:`app.access.campaigns` decides): coordinators create and change the campaigns of their jurisdiction
(every code of the campaign lies within it); coordinators, planners and partners read the campaigns that
overlap their jurisdiction (a visit names its campaign); the summary is for coordinators, counted within their
jurisdiction.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import campaigns as access
from app.campaigns.models import Campaign
from app.campaigns.repository import CampaignRepository
from app.campaigns.schemas import CampaignCreate, CampaignCriteria, CampaignPublic, CampaignUpdate
from app.core.errors import Forbidden, NotFound, field_problem
from app.core.pagination import encode_cursor
from app.core.principal import Principal
from app.households.models import INDICATORS, VULNERABILITY_TAGS
from app.journal import audit

WINTER_START = (12, 15)
WINTER_END = (2, 28)


def winter_period(today: date) -> tuple[date, date]:
    """The winter campaign (December 15 – end of February) running on ``today``, or the next one."""
    start_year = today.year - 1 if today.month <= 2 else today.year
    start = date(start_year, *WINTER_START)
    end_year = start_year + 1
    leap = end_year % 4 == 0 and (end_year % 100 != 0 or end_year % 400 == 0)
    return start, date(end_year, 2, 29 if leap else 28)


def to_public(campaign: Campaign) -> CampaignPublic:
    return CampaignPublic(
        id=campaign.id,
        version=campaign.version,
        name=campaign.name,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        district_codes=list(campaign.district_codes or []),
        criteria=dict(campaign.criteria or {}),
        organization_id=campaign.organization_id,
        active=campaign.active,
        description=campaign.description,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def visible(principal: Principal, campaign: Campaign) -> bool:
    """Whether the caller reads ``campaign`` (:func:`app.access.campaigns.may_see_campaign`)."""
    return access.may_see_campaign(principal, campaign)


async def get_campaign_or_404(session: AsyncSession, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None or not visible(principal, campaign):
        raise NotFound()
    return campaign


async def list_campaigns(
    session: AsyncSession,
    principal: Principal,
    *,
    active: bool | None,
    on: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Campaign], str | None]:
    """Campaigns overlapping the caller's jurisdiction, oldest first. The jurisdiction test runs in Python
    (codes are JSON lists), over keyset pages of 200; campaigns are few (a handful a year per district)."""
    if not access.may_read_campaigns(principal):
        return [], None
    repo = CampaignRepository(session)
    stmt = repo.listing(active=active, on=on)
    order = (Campaign.created_at, Campaign.id)
    out: list[Campaign] = []
    for _ in range(1000):  # bounded scan
        rows, cursor = await repo.page(stmt, order=order, limit=200, cursor=cursor)
        out += [row for row in rows if visible(principal, row)]
        if len(out) > limit or cursor is None:
            break
    next_cursor = None
    if len(out) > limit:
        out = out[:limit]
        next_cursor = encode_cursor([out[-1].created_at, out[-1].id])
    return out, next_cursor


def _check_criteria(criteria: CampaignCriteria, field: str) -> None:
    unknown = sorted(set(criteria.indicators) - set(INDICATORS)) + sorted(set(criteria.tags) - set(VULNERABILITY_TAGS))
    if unknown:
        raise field_problem(field, "care.unknown-criteria", values=", ".join(unknown))


def _check_codes(principal: Principal, codes: list[str], field: str) -> None:
    outside = access.first_code_outside(principal, codes)
    if outside is not None:
        raise field_problem(field, "care.outside-jurisdiction", code=outside)


def require_coordinator(principal: Principal) -> None:
    if not access.may_manage_campaigns(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": "coordinator"})


async def create_campaign(session: AsyncSession, principal: Principal, body: CampaignCreate) -> Campaign:
    require_coordinator(principal)
    _check_codes(principal, body.district_codes, "body.district_codes")
    _check_criteria(body.criteria, "body.criteria")
    if body.ends_on < body.starts_on:
        raise field_problem("body.ends_on", "care.period-order")
    campaign = Campaign(
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        district_codes=sorted(set(body.district_codes)),
        criteria=body.criteria.model_dump(mode="json", exclude_defaults=True),
        organization_id=principal.organization_id,
        active=body.active,
        description=body.description,
        created_by_id=principal.user_id,
    )
    session.add(campaign)
    await session.flush()
    await audit.record(session, principal, "campaign.create", entity="campaign", entity_id=campaign.id)
    return campaign


async def update_campaign(
    session: AsyncSession, principal: Principal, campaign: Campaign, body: CampaignUpdate
) -> Campaign:
    require_coordinator(principal)
    _check_codes(principal, list(campaign.district_codes or []), "body.district_codes")
    changes = body.model_dump(exclude_unset=True)
    if body.district_codes is not None:
        _check_codes(principal, body.district_codes, "body.district_codes")
        campaign.district_codes = sorted(set(body.district_codes))
    if body.criteria is not None:
        _check_criteria(body.criteria, "body.criteria")
        campaign.criteria = body.criteria.model_dump(mode="json", exclude_defaults=True)
    for name in ("name", "starts_on", "ends_on", "active"):
        if changes.get(name) is not None:
            setattr(campaign, name, changes[name])
    if "description" in changes:
        campaign.description = body.description
    if campaign.ends_on < campaign.starts_on:
        raise field_problem("body.ends_on", "care.period-order")
    await session.flush()
    await audit.record(
        session,
        principal,
        "campaign.update",
        entity="campaign",
        entity_id=campaign.id,
        details={"fields": sorted(changes)},
    )
    return campaign
