from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.pagination import INT32_MAX


class Change(BaseModel):
    entity: str
    id: uuid.UUID
    op: Literal["upsert", "delete", "revoke"]
    version: int | None = None
    data: dict[str, Any] | None = None
    hold_until: datetime | None = None


class PullResponse(BaseModel):
    cursor: str = Field(description="Opaque; send it back as ?cursor= on the next pull")
    has_more: bool
    checksum: str = Field(description="sha256 over the sorted lines 'entity:id:version' the phone should hold")
    changes: list[Change]
    hold_until: datetime | None = Field(
        default=None, description="When present, every record the phone holds is leased until then"
    )


class Mutation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mutation_id: uuid.UUID
    entity: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    op: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    id: uuid.UUID
    base_version: int | None = Field(default=None, ge=0, le=INT32_MAX)
    data: dict[str, Any] | None = None
    at: str | None = Field(default=None, max_length=64, description="device time, RFC 3339")


class PushRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    device_time: str | None = Field(default=None, max_length=64)
    mutations: list[Mutation] = Field(max_length=100_000)


class MutationResult(BaseModel):
    #: Domain handlers may add members (e.g. ``response_id`` when answers merged into another response).
    model_config = ConfigDict(extra="allow")

    mutation_id: uuid.UUID
    status: Literal["applied", "duplicate", "conflict", "rejected"]
    version: int | None = None
    error: dict[str, Any] | None = None
    server: dict[str, Any] | None = None
    device: dict[str, Any] | None = None


class PushResponse(BaseModel):
    results: list[MutationResult]


class PurgedRecord(BaseModel):
    entity: str | None = None
    id: uuid.UUID


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: str | None = Field(default=None, max_length=200)
    purged: list[PurgedRecord | uuid.UUID] = Field(
        default_factory=list, max_length=100_000, description="Revoked records the phone erased"
    )


class AckResponse(BaseModel):
    purged: int


class HoldingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    entity: str
    entity_id: uuid.UUID
    household_id: uuid.UUID | None
    held_version: int | None
    sent_version: int | None
    sent_op: str | None
    sent_at: datetime | None
    hold_until: datetime | None
    revoked_at: datetime | None


class DeviceHoldings(BaseModel):
    device_id: uuid.UUID
    last_pull_at: datetime | None
    last_push_at: datetime | None
    clock_skew_ms: int | None
    items: list[HoldingPublic]
