"""The queries of checklist templates and responses (``docs/architecture.md``, the query layer)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.checklists.models import ChecklistResponse, ChecklistTemplate, TemplateStatus
from app.core.repository import Repository


class TemplateRepository(Repository[ChecklistTemplate]):
    model = ChecklistTemplate

    def listing(
        self, drafts: ColumnElement[bool], key: str | None = None, status: TemplateStatus | None = None
    ) -> Select[Any]:
        """Latest published version of each key (every published version when ``key`` is given), plus the
        drafts ``drafts`` admits (:func:`app.access.templates.drafts_filter`)."""
        tpl = ChecklistTemplate
        if key is None:
            newer = aliased(ChecklistTemplate)
            published: ColumnElement[bool] = and_(
                col(tpl.status) == TemplateStatus.published,
                ~exists().where(
                    col(newer.key) == col(tpl.key),
                    col(newer.status) == TemplateStatus.published,
                    col(newer.deleted_at).is_(None),
                    col(newer.template_version) > col(tpl.template_version),
                ),
            )
        else:
            published = col(tpl.status) == TemplateStatus.published
        stmt = select(tpl).where(col(tpl.deleted_at).is_(None), or_(published, drafts))
        if key is not None:
            stmt = stmt.where(col(tpl.key) == key)
        if status is not None:
            stmt = stmt.where(col(tpl.status) == status)
        return stmt

    async def version(self, key: str, version: int) -> ChecklistTemplate | None:
        """One version of a key, whatever its state."""
        found: ChecklistTemplate | None = await self.one_or_none(
            select(ChecklistTemplate).where(
                col(ChecklistTemplate.key) == key, col(ChecklistTemplate.template_version) == version
            )
        )
        return found

    async def published(self, key: str, version: int) -> ChecklistTemplate | None:
        found: ChecklistTemplate | None = await self.one_or_none(
            select(ChecklistTemplate).where(
                col(ChecklistTemplate.key) == key,
                col(ChecklistTemplate.template_version) == version,
                col(ChecklistTemplate.status) == TemplateStatus.published,
                col(ChecklistTemplate.deleted_at).is_(None),
            )
        )
        return found

    async def of_key(self, key: str) -> list[ChecklistTemplate]:
        """Every version of a key (discarded drafts too), newest first."""
        return await self.all(
            select(ChecklistTemplate)
            .where(col(ChecklistTemplate.key) == key)
            .order_by(col(ChecklistTemplate.template_version).desc())
        )


class ResponseRepository(Repository[ChecklistResponse]):
    model = ChecklistResponse

    def of_visit(self, visit_id: uuid.UUID) -> Select[Any]:
        """The visit's responses not deleted."""
        return select(ChecklistResponse).where(
            col(ChecklistResponse.visit_id) == visit_id, col(ChecklistResponse.deleted_at).is_(None)
        )

    async def get_locked(self, response_id: uuid.UUID, *, for_update: bool = False) -> ChecklistResponse | None:
        return await self.session.get(ChecklistResponse, response_id, with_for_update=for_update or None)

    async def for_template(self, visit_id: uuid.UUID, key: str, version: int) -> ChecklistResponse | None:
        """The visit's response to one template version, locked: concurrent writers of one response merge
        one after the other (PostgreSQL)."""
        found: ChecklistResponse | None = await self.one_or_none(
            select(ChecklistResponse)
            .where(
                col(ChecklistResponse.visit_id) == visit_id,
                col(ChecklistResponse.template_key) == key,
                col(ChecklistResponse.template_version) == version,
            )
            .with_for_update()
        )
        return found

    async def submitted_versions(self, visit_id: uuid.UUID) -> set[tuple[Any, Any]]:
        """(template key, version) of the visit's submitted responses."""
        rows = await self.rows(
            select(col(ChecklistResponse.template_key), col(ChecklistResponse.template_version)).where(
                col(ChecklistResponse.visit_id) == visit_id,
                col(ChecklistResponse.completed).is_(True),
                col(ChecklistResponse.deleted_at).is_(None),
            )
        )
        return {(key, version) for key, version in rows}
