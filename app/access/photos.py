"""Who sees and changes photos (``docs/access.md``).

A photo belongs to its visit: whoever sees the visit sees its photos, among the roles that ever work with
photos (coordinators, planners, partners). A photo of a home identifies the household, so a partner also
needs consent for the household, as for the visit's notes and checklists. Only the uploader or a
coordinator changes or deletes a photo.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import partner_reach
from app.core.principal import Principal, Role
from app.media.models import Photo
from app.visits.models import Visit

#: Roles that ever see photos (anyone else gets 404, as for a photo that does not exist).
PHOTO_ROLES = frozenset({Role.coordinator, Role.planner, Role.partner})


def may_see_photos(principal: Principal) -> bool:
    """Whether the caller's role works with photos at all."""
    return principal.role in PHOTO_ROLES


async def visit_photos_visible(session: AsyncSession, principal: Principal, visit: Visit) -> bool:
    """Whether the photos of a visit the caller sees are open to them: for a partner, the household's
    consent must cover them too (a visit on a facility has no household)."""
    if principal.role == Role.partner and visit.household_id is not None:
        reach = await partner_reach(session, principal)
        return reach.household_visible(visit.household_id)
    return True


def may_change_photo(principal: Principal, photo: Photo) -> bool:
    """The uploader, or a coordinator, changes a photo's caption or item key, or deletes it."""
    return principal.user_id == photo.uploaded_by_id or principal.role == Role.coordinator
