"""The queries of crisis reports' REST side (``docs/architecture.md``, the query layer); who reaches which
report is :func:`app.access.policy.report_filter`. The progress job reads its own (:mod:`app.reports.progress`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, select

from app.core.repository import Repository
from app.reports.models import CrisisReport, ReportStatus


class ReportRepository(Repository[CrisisReport]):
    model = CrisisReport

    def listing(
        self, reach: ColumnElement[bool], *, status: ReportStatus | None = None, dong_code: str | None = None
    ) -> Select[tuple[CrisisReport]]:
        stmt = select(CrisisReport).where(reach)
        if status is not None:
            stmt = stmt.where(CrisisReport.status == status)
        if dong_code is not None:
            stmt = stmt.where(CrisisReport.dong_code.like(f"{dong_code}%"))
        return stmt

    async def newest_first(
        self, stmt: Select[Any], *, limit: int, cursor: str | None
    ) -> tuple[list[CrisisReport], str | None]:
        return await self.page(
            stmt, order=(CrisisReport.created_at, CrisisReport.id), limit=limit, cursor=cursor, descending=True
        )
