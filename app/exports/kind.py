"""What an export kind is (:class:`Kind`): its NDJSON fields, its page function, its spreadsheet columns.

Each kind lives in :mod:`app.exports.kinds` (one module per kind); its page statement in
:mod:`app.exports.repository`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core import tabular
from app.core.i18n import t

#: What a page function answers: the rows to send, the cursor of the next page (None: this was the last), and
#: the (record id, household id) pairs to audit.
PageResult = tuple[list[dict[str, Any]], str | None, list[tuple[uuid.UUID, uuid.UUID | None]]]


@dataclass
class Kind:
    name: str
    #: The fields of an NDJSON record (the page's rows may carry more: the views' full data).
    columns: list[str]
    #: (session, principal, filters, cursor, limit) → one page (:data:`PageResult`) after the position ``cursor``.
    page: Callable[..., Any]
    statuses: tuple[str, ...] = ()
    #: The page function writes (campaign summaries audit themselves): read it in a writing transaction.
    writes: bool = False
    #: The entity audited for each record sent.
    entity: str = ""
    #: The spreadsheet's columns (key, Korean title, English title) and the function that turns a page of rows
    #: into them (names instead of ids), in the page's session.
    sheet: list[tuple[str, str, str]] = field(default_factory=list)
    people: Callable[..., Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: Where the owning domain decides the table (campaign summaries): the NDJSON fields and the sheet's
    #: columns, computed when asked.
    columns_of: Callable[[], list[str]] | None = None
    sheet_of: Callable[[], list[tuple[str, str, str]]] | None = None

    def fields(self) -> list[str]:
        return self.columns_of() if self.columns_of is not None else self.columns

    def sheet_columns(self) -> list[tabular.Column]:
        sheet = self.sheet_of() if self.sheet_of is not None else self.sheet
        out = []
        for key, ko, _en in sheet:
            title = t(f"exports.col.{self.name}.{key}")
            out.append(tabular.Column(key, ko if title == f"exports.col.{self.name}.{key}" else title))
        return out
