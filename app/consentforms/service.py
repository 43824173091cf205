"""Reading consents' signed forms (for the consent representation)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.consentforms.models import ConsentForm
from app.consentforms.schemas import ConsentFormOut


async def forms_of(session: AsyncSession, consent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ConsentFormOut]:
    """The signed form of each of these consents that has one (one query)."""
    ids = list(consent_ids)
    if not ids:
        return {}
    rows = (await session.execute(select(ConsentForm).where(ConsentForm.consent_id.in_(ids)))).scalars()
    return {row.consent_id: ConsentFormOut.model_validate(row) for row in rows}
