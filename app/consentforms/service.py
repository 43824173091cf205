"""Reading consents' signed forms (for the consent representation)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.consentforms.models import ConsentForm
from app.consentforms.schemas import ConsentFormPublic


async def forms_of(session: AsyncSession, consent_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ConsentFormPublic]:
    """The signed form of each of these consents that has one (one query)."""
    ids = list(consent_ids)
    if not ids:
        return {}
    rows = (await session.execute(select(ConsentForm).where(ConsentForm.consent_id.in_(ids)))).scalars()
    return {row.consent_id: ConsentFormPublic.model_validate(row) for row in rows}


async def form_of(session: AsyncSession, consent_id: uuid.UUID) -> ConsentForm | None:
    """The signed form kept with this consent, if any."""
    return (await session.execute(select(ConsentForm).where(ConsentForm.consent_id == consent_id))).scalar_one_or_none()


async def destroy_forms(session: AsyncSession, household_id: uuid.UUID, out: Any) -> None:
    """The signed forms of a household's consents (they show names and signatures), when the household is
    destroyed (app.lifecycle): the rows now, the files into ``out.keys`` (deleted once the destruction commits).
    The consent rows stay, for the statistics."""
    from app.households.models import Consent

    consent_ids = select(Consent.id).where(Consent.household_id == household_id)
    forms = list((await session.execute(select(ConsentForm).where(ConsentForm.consent_id.in_(consent_ids)))).scalars())
    for form in forms:
        out.keys.add(form.storage_key)
        await session.delete(form)
    if forms:
        await session.flush()
    out.add("consent_forms", len(forms))
