"""Who reads and manages campaigns, and over which areas (``docs/access.md``).

Coordinators, planners and partners read the campaigns that overlap their jurisdiction (a visit names its
campaign); coordinators create and change the campaigns of their jurisdiction (every code of the campaign lies
within it); the summary is for coordinators, counted within their jurisdiction.
"""

from __future__ import annotations

from app.campaigns.models import Campaign
from app.core.principal import Principal, Role, in_codes

CAMPAIGN_READERS = (Role.coordinator, Role.planner, Role.partner)


def intersect_codes(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> list[str]:
    """The administrative areas that lie in both sets (a dong within a district is the dong)."""
    out: set[str] = set()
    for x in a:
        for y in b:
            if x.startswith(y):
                out.add(x)
            elif y.startswith(x):
                out.add(y)
    return sorted(out)


def codes_overlap(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> bool:
    return bool(intersect_codes(a, b))


def may_read_campaigns(principal: Principal) -> bool:
    return principal.role in CAMPAIGN_READERS


def may_see_campaign(principal: Principal, campaign: Campaign) -> bool:
    return may_read_campaigns(principal) and codes_overlap(list(campaign.district_codes or []), principal.jurisdiction)


def may_manage_campaigns(principal: Principal) -> bool:
    return principal.role == Role.coordinator


def first_code_outside(principal: Principal, codes: list[str]) -> str | None:
    """The first of ``codes`` outside the caller's jurisdiction (a campaign lies within it), or None."""
    for code in codes:
        if not in_codes(code, principal.jurisdiction):
            return code
    return None


def summary_codes(principal: Principal, campaign: Campaign) -> list[str]:
    """The campaign's areas within the caller's jurisdiction: what its summary counts."""
    return intersect_codes(list(campaign.district_codes or []), principal.jurisdiction)
