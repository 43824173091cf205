"""``/v1/campaigns``: campaigns and their summaries (``docs/care.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from app.access import gates
from app.campaigns import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.campaigns import service as campaigns
from app.campaigns import summary
from app.campaigns.models import Campaign
from app.campaigns.schemas import CampaignCreate, CampaignPublic, CampaignSummary, CampaignUpdate
from app.core.deps import SessionDep
from app.core.http import CASEWORK_TEXTS, check_if_match, problems, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.times import IsoDay

router = APIRouter(tags=["care"])

_TEXT = CASEWORK_TEXTS


@router.get(
    "/v1/campaigns",
    response_model=Page[CampaignPublic],
    summary="Campaigns overlapping your jurisdiction",
    responses=problems(403, texts=_TEXT),
)
async def list_campaigns(
    principal: gates.FieldStaff,
    session: SessionDep,
    active: bool | None = None,
    on: Annotated[IsoDay | None, Query(description="Running on this date")] = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[CampaignPublic]:
    rows, next_cursor = await campaigns.list_campaigns(
        session, principal, active=active, on=on, limit=limit, cursor=cursor
    )
    return Page(items=[campaigns.to_public(c) for c in rows], next_cursor=next_cursor)


@router.post(
    "/v1/campaigns",
    response_model=CampaignPublic,
    status_code=201,
    summary="Start a campaign in your jurisdiction (coordinators)",
    responses=problems(403, 422, texts=_TEXT),
)
async def create_campaign(
    body: CampaignCreate, principal: gates.Coordinator, session: SessionDep, response: Response
) -> CampaignPublic:
    campaign = await campaigns.create_campaign(session, principal, body)
    set_etag(response, campaign.version)
    return campaigns.to_public(campaign)


@router.get(
    "/v1/campaigns/{campaign_id}",
    response_model=CampaignPublic,
    summary="One campaign",
    responses=problems(403, 404, texts=_TEXT),
)
async def get_campaign(
    campaign_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> CampaignPublic:
    campaign = await campaigns.get_campaign_or_404(session, principal, campaign_id)
    set_etag(response, campaign.version)
    return campaigns.to_public(campaign)


@router.patch(
    "/v1/campaigns/{campaign_id}",
    response_model=CampaignPublic,
    summary="Change a campaign (coordinators of its jurisdiction)",
    responses=problems(403, 404, 412, 422, texts=_TEXT),
)
async def update_campaign(
    campaign_id: uuid.UUID,
    body: CampaignUpdate,
    request: Request,
    principal: gates.Coordinator,
    session: SessionDep,
    response: Response,
) -> CampaignPublic:
    campaign = await campaigns.get_campaign_or_404(session, principal, campaign_id)
    check_if_match(request, campaign.version)
    campaign = await campaigns.update_campaign(session, principal, campaign, body)
    set_etag(response, campaign.version)
    return campaigns.to_public(campaign)


@router.get(
    "/v1/campaigns/{campaign_id}/summary",
    response_model=CampaignSummary,
    summary="Identified, reached, unreachable, visited, supported, monitored households and deadlines missed, "
    "by district, dong, source and dong × source; JSON, CSV or XLSX",
    responses={**problems(403, 404, texts=_TEXT), **summary.SUMMARY_RESPONSES},
)
async def campaign_summary(
    campaign_id: uuid.UUID,
    principal: gates.Coordinator,
    session: SessionDep,
    request: Request,
    format: Annotated[
        Literal["json", "csv", "xlsx"] | None, Query(description="json (default), csv or xlsx; wins over Accept")
    ] = None,
) -> Any:
    campaign: Campaign = await campaigns.get_campaign_or_404(session, principal, campaign_id)
    return await summary.summary_response(
        session, principal, campaign, fmt=format, accept=request.headers.get("accept")
    )
