"""Checklist templates, checklist responses and the history of superseded answers (``docs/data-model.md``).

* ``checklist_template`` — one row per (key, template version). ``template_version`` is the documented field
  ``version`` of a template; the row's own ``version`` column is the change counter every table has
  (served as ``revision`` and used for the ETag of drafts). A published row never changes again.
* ``checklist_response`` — one per visit and template version. ``answers`` maps item keys to
  ``{"value", "answered_by", "answered_at"}``; ``item_versions`` maps item keys to the response version at
  which the item last changed, so a writer's ``base_version`` tells which items changed since it read.
* ``checklist_answer_history`` — every value that stopped being current: overwritten by a later answer,
  or refused because it conflicted with a newer server value. Nothing a visitor entered is lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type


class TemplateStatus(StrEnum):
    draft = "draft"
    published = "published"


class ItemType(StrEnum):
    boolean = "boolean"
    single_choice = "single_choice"
    multi_choice = "multi_choice"
    number = "number"
    text = "text"
    date = "date"
    photo = "photo"


class HistoryReason(StrEnum):
    conflict = "conflict"
    overwritten = "overwritten"


class ChecklistTemplate(BaseTable, table=True):
    __tablename__ = "checklist_template"
    __sync_entity__ = "checklist_template"
    __table_args__ = (
        UniqueConstraint("key", "template_version"),
        Index("ix_checklist_template_key_status", "key", "status"),
    )

    key: str = Field(max_length=64)
    #: The template's version number (the documented ``version``): 1, 2, 3… per key, never reused.
    template_version: int
    status: TemplateStatus = Field(default=TemplateStatus.draft, sa_type=enum_type(TemplateStatus, 16))
    #: {"ko": …, "en": …}
    title: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    bands: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: Shipped with the code (app/checklists/templates/*.json); no owning organization.
    builtin: bool = Field(default=False)
    #: The organization whose admins and coordinators manage this key's drafts (None: built-in).
    owner_organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id", index=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    #: A discarded draft (published versions are never deleted).
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChecklistResponse(BaseTable, table=True):
    __tablename__ = "checklist_response"
    __sync_entity__ = "checklist_response"
    __table_args__ = (UniqueConstraint("visit_id", "template_key", "template_version"),)

    visit_id: uuid.UUID = Field(foreign_key="visit.id", index=True)
    #: The visit's household (None for a facility visit), kept for scoping, sync and audit.
    household_id: uuid.UUID | None = Field(default=None, foreign_key="household.id", index=True)
    template_id: uuid.UUID = Field(foreign_key="checklist_template.id")
    template_key: str = Field(max_length=64)
    template_version: int
    #: {item_key: {"value": …, "answered_by": "uuid", "answered_at": "RFC 3339"}}
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: {item_key: response version at which the item last changed}
    item_versions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    score: float | None = Field(default=None)
    band: str | None = Field(default=None, max_length=64)
    #: The band's risk level, when it has one (low|moderate|high|critical).
    risk_level: str | None = Field(default=None, max_length=16)
    completed: bool = Field(default=False)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    #: The risk level last handed to the household's assessment (so an amendment re-applies only a change).
    applied_risk_level: str | None = Field(default=None, max_length=16)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChecklistAnswerHistory(BaseTable, table=True):
    """A value that is no longer current: overwritten by a later answer, or kept aside on a conflict."""

    __tablename__ = "checklist_answer_history"
    __table_args__ = (Index("ix_checklist_answer_history_response_item", "response_id", "item_key"),)

    response_id: uuid.UUID = Field(foreign_key="checklist_response.id")
    item_key: str = Field(max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSONType, nullable=True))
    answered_by: uuid.UUID | None = Field(default=None)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    superseded_at: datetime = Field(sa_type=UTCDateTime)
    reason: HistoryReason = Field(sa_type=enum_type(HistoryReason, 16))
    #: The response version current when this value was set aside.
    response_version: int
    #: Who caused it: the writer of the overwriting answer, or the writer whose answer conflicted.
    actor_id: uuid.UUID | None = Field(default=None)
