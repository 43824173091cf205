"""The resource catalog (``docs/care.md``): public benefits and private resources with their provider
organization and remaining capacity (``None``: not capacity-limited, e.g. a statutory benefit)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, Text
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, enum_type


class ResourceKind(StrEnum):
    public_benefit = "public_benefit"
    private_resource = "private_resource"


#: Categories of the catalog, by kind (more may be added; the API accepts these).
RESOURCE_CATEGORIES: dict[ResourceKind, tuple[str, ...]] = {
    ResourceKind.public_benefit: (
        "emergency_welfare",  # 긴급복지지원
        "basic_livelihood",  # 국민기초생활보장
        "medical_aid",  # 의료급여
        "energy_voucher",  # 에너지바우처
        "housing_benefit",  # 주거급여
        "disability_pension",  # 장애인연금
        "basic_pension",  # 기초연금
        "childcare",  # 아동·보육
        "employment",  # 국민취업지원
        "care_service",  # 노인맞춤돌봄
    ),
    ResourceKind.private_resource: (
        "food_bank",  # 푸드뱅크
        "heating_fuel",  # 난방유·연탄
        "medical_expense",  # 의료비
        "living_support",  # 생계비·생활용품
        "education_training",  # 교육·훈련
        "housing_repair",  # 주거환경 개선
        "counseling",  # 상담
    ),
}


class Resource(BaseTable, table=True):
    __tablename__ = "resource"
    __sync_entity__ = "resource"
    __table_args__ = (
        CheckConstraint("remaining IS NULL OR remaining >= 0", name="remaining_not_negative"),
        Index("ix_resource_district_active", "district_code", "active"),
    )

    name: str = Field(max_length=200)
    kind: ResourceKind = Field(sa_type=enum_type(ResourceKind))
    category: str = Field(max_length=64)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_organization_id: uuid.UUID = Field(foreign_key="organization.id", index=True)
    #: The district (5-digit code) where the resource is offered.
    district_code: str = Field(max_length=5)
    eligibility: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Units in total and still available; ``None`` means not limited by capacity.
    capacity: int | None = Field(default=None)
    remaining: int | None = Field(default=None)
    unit: str = Field(default="household", max_length=32)
    #: A typical amount in KRW, when the resource is money or priced in money.
    default_amount: int | None = Field(default=None)
    contact: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
