"""What checklists are to visits: a visit pins published template versions (docs/checklists.md).

:func:`app.visits.service.validate_checklists` asks each domain's ``visits`` module
(``registry.extensions("visits")``) which of a visit's pins name a published template, so that visits import
nothing of the checklists, whose responses belong to visits.
"""

from __future__ import annotations

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.checklists.models import ChecklistTemplate, TemplateStatus


async def published_pins(session: AsyncSession, pins: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """The (key, version) pins among ``pins`` that name a published template."""
    stmt = select(col(ChecklistTemplate.key), col(ChecklistTemplate.template_version)).where(
        tuple_(col(ChecklistTemplate.key), col(ChecklistTemplate.template_version)).in_(pins),
        col(ChecklistTemplate.status) == TemplateStatus.published,
    )
    return {(key, int(version)) for key, version in (await session.execute(stmt)).all()}
