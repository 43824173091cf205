"""What campaigns are to visits: a visit may name an active campaign (``Visit.campaign_id``, docs/care.md).

:func:`app.visits.service.validate_campaign` asks each domain's ``visits`` module
(``registry.extensions("visits")``) whether the campaign a visit names is one it may name, so that visits import
nothing of the campaigns, which count them.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.models import Campaign


async def campaign_open(session: AsyncSession, campaign_id: uuid.UUID) -> bool:
    """Whether a visit may name this campaign: it exists and is active."""
    campaign = await session.get(Campaign, campaign_id)
    return campaign is not None and campaign.active
