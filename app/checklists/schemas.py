"""API shapes of checklist templates and responses.

Templates are served with both languages by default: ``title``, item ``label``, option ``label`` and band
``label`` are ``{"ko": …, "en": …}`` (the sync record is always this shape, so a phone can switch language
offline). ``?lang=ko|en`` asks for a single-language view in which each of those is a plain string;
``?lang=auto`` picks the language from ``Accept-Language`` (Korean by default). The single-language view
names its language in ``lang``.

The template's ``version`` is its version number within its key (``docs/data-model.md``); ``revision`` is the change
counter of the stored row (it moves while a draft is edited and once when it is published) and is what
the ``ETag`` and ``If-Match`` of drafts refer to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict, StrictBool, StrictInt, StringConstraints

from app.checklists.models import ChecklistResponse, ChecklistTemplate, ItemType, TemplateStatus
from app.core.pagination import INT32_MAX
from app.core.strict import NOT_BOOL, Int
from app.core.times import Instant
from app.households.models import RiskLevel

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
OptionValue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
LangChoice = Literal["ko", "en", "auto"]
#: A JSON number, never a boolean or a numeric string.
Number = StrictInt | Annotated[float, Strict(), AllowInfNan(False)]


class LocalizedText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ko: Label
    en: Label


class OptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: OptionValue
    label: LocalizedText


class ItemCreate(BaseModel):
    """One checklist item. ``visible_if`` follows the condition grammar of :mod:`app.checklists.rules`;
    ``weight`` is a number for a boolean (added when the answer is true) or ``{option value: number}`` for a
    choice (the chosen option's weight; for a multi-choice the sum of the chosen ones)."""

    model_config = ConfigDict(extra="forbid")
    key: Key
    type: ItemType
    label: LocalizedText
    help: LocalizedText | None = None
    options: list[OptionCreate] = Field(default_factory=list, max_length=50)
    required: Annotated[bool, Strict()] = False  # 0 is not a boolean (the document says so)
    visible_if: dict[str, Any] | None = None
    weight: Number | dict[str, Number] | None = None
    min: Number | None = Field(default=None, description="number items: smallest allowed value")
    max: Number | None = Field(default=None, description="number items: largest allowed value")
    unit: LocalizedText | None = Field(default=None, description="number items: unit shown after the value")


class BandCreate(BaseModel):
    """A scoring band: a total score ``min <= score`` (and ``<= max`` when ``max`` is given) falls in it."""

    model_config = ConfigDict(extra="forbid")
    min: Number
    max: Number | None = None
    band: Key
    label: LocalizedText | None = None
    risk_level: RiskLevel | None = None


Items = Annotated[list[ItemCreate], Field(min_length=1, max_length=300)]
Bands = Annotated[list[BandCreate], Field(max_length=20)]


class TemplateCreate(BaseModel):
    """A new draft: the first version of a new key, or the next version of an existing key."""

    model_config = ConfigDict(extra="forbid")
    key: Key
    title: LocalizedText
    items: Items
    bands: Bands = Field(default_factory=list)


class TemplateReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: LocalizedText
    items: Items
    bands: Bands = Field(default_factory=list)


class TemplateUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: LocalizedText | None = None
    items: Items | None = None
    bands: Bands | None = None


Text = dict[str, str] | str


class OptionPublic(BaseModel):
    value: str
    label: Text


class ItemPublic(BaseModel):
    key: str
    type: ItemType
    label: Text
    help: Text | None = None
    options: list[OptionPublic] = Field(default_factory=list)
    required: bool = False
    visible_if: dict[str, Any] | None = None
    weight: int | float | dict[str, int | float] | None = None
    min: int | float | None = None
    max: int | float | None = None
    unit: Text | None = None


class BandPublic(BaseModel):
    min: int | float
    max: int | float | None = None
    band: str
    label: Text | None = None
    risk_level: RiskLevel | None = None


class TemplatePublic(BaseModel):
    id: uuid.UUID
    key: str
    version: int = Field(description="The template's version number within its key")
    revision: int = Field(description="Change counter of the stored record (ETag of drafts)")
    status: TemplateStatus
    title: Text
    items: list[ItemPublic]
    bands: list[BandPublic]
    builtin: bool
    owner_organization_id: uuid.UUID | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    lang: Literal["ko", "en"] | None = Field(default=None, description="Set in a single-language view")


def _pick(text: Any, lang: str | None) -> Any:
    if lang is None or not isinstance(text, dict):
        return text
    return text.get(lang) or text.get("ko") or next(iter(text.values()), "")


def template_data(template: ChecklistTemplate, lang: str | None = None) -> dict[str, Any]:
    """The template record as REST and sync serve it (both languages unless ``lang`` is given)."""
    items = []
    for item in template.items:
        out = {k: v for k, v in item.items() if v is not None and k not in ("options",)}
        out["label"] = _pick(item["label"], lang)
        for field in ("help", "unit"):
            if item.get(field) is not None:
                out[field] = _pick(item[field], lang)
        out["options"] = [{"value": o["value"], "label": _pick(o["label"], lang)} for o in item.get("options", [])]
        out.setdefault("required", False)
        out.setdefault("visible_if", None)
        out.setdefault("weight", None)
        items.append(out)
    bands = []
    for band in template.bands:
        out = {k: v for k, v in band.items() if v is not None}
        if band.get("label") is not None:
            out["label"] = _pick(band["label"], lang)
        bands.append(out)
    return {
        "id": template.id,
        "key": template.key,
        "version": template.template_version,
        "revision": template.version,
        "status": template.status,
        "title": _pick(template.title, lang),
        "items": items,
        "bands": bands,
        "builtin": template.builtin,
        "owner_organization_id": template.owner_organization_id,
        "published_at": template.published_at,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
        "lang": lang,
    }


def template_public(template: ChecklistTemplate, lang: str | None = None) -> TemplatePublic:
    return TemplatePublic.model_validate(template_data(template, lang))


# --- responses -------------------------------------------------------------------------------------------


class AnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any = Field(
        description="boolean, option value, list of option values, number, text, "
        "ISO date (YYYY-MM-DD), photo id or list of photo ids; null clears the answer"
    )
    answered_at: Instant | None = Field(default=None, description="When the visitor answered (device time)")


Answers = Annotated[dict[Key, AnswerCreate], Field(max_length=300)]


class ResponseCreate(BaseModel):
    """Create the visit's response for a pinned template version, or merge into it when it exists."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = Field(default=None, description="Client-chosen id for a new response")
    template_key: Key
    template_version: Int = Field(ge=1, le=INT32_MAX)
    answers: Answers = Field(default_factory=dict)
    base_version: Annotated[int, Field(ge=0, le=INT32_MAX), NOT_BOOL] | None = Field(
        default=None,
        description="The response version the answers were based on (per-item merge)",
    )
    completed: StrictBool | None = Field(default=None, description="true submits the response (required items checked)")


class ResponseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: Answers = Field(default_factory=dict)
    base_version: Annotated[int, Field(ge=0, le=INT32_MAX), NOT_BOOL] | None = Field(
        default=None,
        description="The response version the answers were based on; default: If-Match",
    )
    completed: StrictBool | None = None


class AnswerPublic(BaseModel):
    value: Any = None
    answered_by: uuid.UUID | None = None
    answered_at: datetime | None = None


class ConflictPublic(BaseModel):
    item_key: str
    server: AnswerPublic
    incoming: AnswerPublic


class ResponsePublic(BaseModel):
    id: uuid.UUID
    version: int
    visit_id: uuid.UUID
    household_id: uuid.UUID | None
    template_key: str
    template_version: int
    answers: dict[str, AnswerPublic]
    score: int | float | None
    band: str | None
    risk_level: RiskLevel | None
    completed: bool
    completed_at: datetime | None
    completed_by: uuid.UUID | None
    missing_required: list[str] = Field(
        default_factory=list, description="Visible required items without an answer (blocks submission)"
    )
    created_at: datetime
    updated_at: datetime


class ResponseWritten(ResponsePublic):
    conflicts: list[ConflictPublic] = Field(
        default_factory=list, description="Items where the server kept a newer value; yours is in the history"
    )


def _score_out(score: float | None) -> int | float | None:
    if score is None:
        return None
    return int(score) if float(score).is_integer() else round(float(score), 4)


def response_data(response: ChecklistResponse, missing_required: list[str] | None = None) -> dict[str, Any]:
    """The response record as REST and sync serve it."""
    return {
        "id": response.id,
        "version": response.version,
        "visit_id": response.visit_id,
        "household_id": response.household_id,
        "template_key": response.template_key,
        "template_version": response.template_version,
        "answers": {k: dict(v) for k, v in response.answers.items()},
        "score": _score_out(response.score),
        "band": response.band,
        "risk_level": response.risk_level,
        "completed": response.completed,
        "completed_at": response.completed_at,
        "completed_by": response.completed_by_id,
        "missing_required": missing_required or [],
        "created_at": response.created_at,
        "updated_at": response.updated_at,
    }
