"""Who may upload to a visit and use an upload (``docs/access.md``, ``docs/uploads.md``).

An upload is its uploader's alone: anyone else gets 404 for it. Creating one, and every PATCH after, needs
the caller to see the visit and to be on its team; a photo of a home identifies the household, so creating
one also needs the household's consent for a partner (404 otherwise, as for the visit's notes).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import get_visit_or_404, get_visit_with_household_or_404, is_visit_team_member
from app.core.errors import NotFound
from app.core.principal import Principal
from app.media.models import Upload
from app.visits.models import Visit


def owns_upload(principal: Principal, upload: Upload) -> bool:
    return upload.uploader_id == principal.user_id


async def visit_to_upload_to(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The visit a new upload goes to: visible with its household, and the caller on its team (404 else)."""
    visit = await get_visit_with_household_or_404(session, principal, visit_id)
    if not await is_visit_team_member(session, principal, visit.id):
        raise NotFound()
    return visit


async def require_upload_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> None:
    """A PATCH to an upload: the caller still sees its visit and is still on its team (404 else)."""
    await get_visit_or_404(session, principal, visit_id)
    if not await is_visit_team_member(session, principal, visit_id):
        raise NotFound()
