"""API shapes of imports from other systems (docs/integrations.md §2)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.core.times import AwareInstant
from app.households.models import INDICATORS, SignalSource
from app.households.schemas import MAX_DETAILS_BYTES, HouseholdInput, Indicator

#: Printable, no whitespace and no slash (it travels in a URL path segment).
ExternalId = Annotated[str, StringConstraints(pattern=r"^[^\s/]{1,200}$")]

ImportStatus = Literal["created", "updated", "unchanged", "matched", "reopened", "rejected"]


class ImportPayload(BaseModel):
    """One household from a crisis list: why it came to attention, and who and where it is."""

    model_config = ConfigDict(extra="forbid")

    indicators: list[Indicator] = Field(min_length=1, max_length=len(INDICATORS), description=", ".join(INDICATORS))
    observed_at: AwareInstant = Field(description="When the source observed it (RFC 3339 with an offset)")
    details: dict[str, Any] = Field(
        default_factory=dict, description="Amounts, months, reference codes; never registration numbers"
    )
    household: HouseholdInput
    round_ends_at: AwareInstant | None = Field(
        default=None,
        description="End of the list's round (big-data): the household's deadline (docs/winter.md), in details",
    )

    @model_validator(mode="after")
    def _round_end_in_details(self) -> ImportPayload:
        # The signal keeps it in its details (app.winter.deadlines reads details["round_ends_at"]).
        if self.round_ends_at is not None:
            self.details = {**self.details, "round_ends_at": self.round_ends_at.isoformat()}
        return self

    @field_validator("indicators")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("details")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, ensure_ascii=False, default=str).encode()) > MAX_DETAILS_BYTES:
            raise ValueError(f"details are limited to {MAX_DETAILS_BYTES} bytes")
        return value


class ImportLine(ImportPayload):
    """One line of a bulk NDJSON import: the payload with its source and external id."""

    source: SignalSource
    external_id: ExternalId


class ImportResult(BaseModel):
    """What one import did. ``unchanged``: the same payload was imported before, nothing was written."""

    source: SignalSource
    external_id: str
    status: ImportStatus
    household_id: uuid.UUID
    signal_id: uuid.UUID | None = None
    imported_at: datetime


class LineError(BaseModel):
    field: str
    code: str
    message: str


class LineResult(BaseModel):
    """One line of a bulk import's answer (NDJSON)."""

    line: int
    external_id: str | None = None
    status: ImportStatus
    household_id: uuid.UUID | None = None
    errors: list[LineError] | None = None


ImportJobStatus = Literal["queued", "running", "done", "failed"]


class ImportCounts(BaseModel):
    created: int = 0
    matched: int = 0
    updated: int = 0
    reopened: int = 0


class ImportJobOut(BaseModel):
    """A spreadsheet import (``POST /v1/integrations/imports``) and how far it got."""

    id: uuid.UUID
    status: ImportJobStatus
    file_format: Literal["csv", "xlsx"]
    size_bytes: int
    rows_total: int | None = Field(description="Data rows in the file (an estimate until the import is done)")
    rows: int = Field(description="Rows imported so far (each has a result)")
    applied: int = Field(description="Rows that created, matched, updated or reopened a household")
    unchanged: int = Field(description="Rows imported before with the same content (nothing written)")
    rejected: int = Field(description="Rows refused (the results name why)")
    counts: ImportCounts
    progress: float | None = Field(description="rows / rows_total (0 to 1); 1 once done")
    error: str | None = Field(default=None, description="Why a failed import stopped")
    results_url: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
