from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from app.core.principal import OrgKind, Role

AdminCode = Annotated[str, StringConstraints(pattern=r"^\d{5}(\d{5})?$")]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    kind: OrgKind
    jurisdiction: list[AdminCode] = Field(default_factory=list, max_length=200)


class OrganizationUpdate(BaseModel):
    """Fields left out stay as they are; none of them may be set to null."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: object) -> object:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(f"may not be null: {', '.join(nulls)}")
        return data

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] | None = None
    jurisdiction: list[AdminCode] | None = Field(default=None, max_length=200)
    active: StrictBool | None = None


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    name: str
    kind: OrgKind
    jurisdiction: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


Username = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9._-]{3,100}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization_id: uuid.UUID
    username: Username
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    role: Role
    password: Password | None = Field(default=None, description="Required except for integration clients")
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    jurisdiction: list[AdminCode] | None = None
    scopes: list[str] = Field(default_factory=list, description="integration clients only")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] | None = None
    role: Role | None = None
    active: StrictBool | None = None
    password: Password | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    jurisdiction: list[AdminCode] | None = None
    scopes: list[str] | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    username: str
    display_name: str
    role: Role
    email: str | None
    phone: str | None
    active: bool
    jurisdiction: list[str] | None
    scopes: list[str]
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class UserCreated(UserPublic):
    client_secret: str | None = Field(default=None, description="Shown once, for integration clients")


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: int
    user_id: uuid.UUID
    client_device_id: str
    name: str
    last_seen_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None
    created_at: datetime


class DeviceRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
