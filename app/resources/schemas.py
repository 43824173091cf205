"""API shapes of the resource catalog (never table objects)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from app.core.strict import NOT_BOOL
from app.resources.models import ResourceKind

DistrictCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
Amount = Annotated[int, Field(ge=0, le=1_000_000_000), NOT_BOOL]


class ResourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    kind: ResourceKind
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    description: LongText | None = None
    provider_organization_id: uuid.UUID
    district_code: DistrictCode
    eligibility: LongText | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = Field(
        default=None, description="Units in total; omit for a resource not limited by capacity"
    )
    remaining: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = Field(
        default=None, description="Units still available (defaults to capacity)"
    )
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "household"
    default_amount: Amount | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    active: StrictBool = True


class ResourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    description: LongText | None = None
    eligibility: LongText | None = None
    capacity: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = Field(
        default=None, description="Changing it moves remaining by the same difference (never below 0)"
    )
    remaining: Annotated[int, Field(ge=0, le=10_000_000), NOT_BOOL] | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    default_amount: Amount | None = None
    contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    active: StrictBool | None = None


class ResourcePublic(BaseModel):
    id: uuid.UUID
    version: int
    name: str
    kind: ResourceKind
    category: str
    description: str | None
    provider_organization_id: uuid.UUID
    provider_name: str | None
    district_code: str
    eligibility: str | None
    capacity: int | None
    remaining: int | None
    unit: str
    default_amount: int | None
    contact: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
