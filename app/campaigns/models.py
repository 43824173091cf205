"""Campaigns (``docs/care.md``): a focused period (the winter campaign, December 15 to February 28) with its
districts and criteria."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Column, Text
from sqlmodel import Field

from app.core.db import BaseTable, JSONType


class Campaign(BaseTable, table=True):
    """A focused period, e.g. the winter campaign from December 15 to February 28."""

    __tablename__ = "campaign"

    name: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    district_codes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: What qualifies a household: {"sources": [...], "indicators": [...], "min_risk": "high"}
    criteria: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    active: bool = Field(default=True)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
