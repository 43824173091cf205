"""Households, their signals, consents and encrypted sensitive fields (docs/data-model.md, docs/access.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import BaseTable, JSONType, UTCDateTime, enum_type, utcnow


class HouseholdStatus(StrEnum):
    identified = "identified"
    contacted = "contacted"
    assessed = "assessed"
    supported = "supported"
    monitoring = "monitoring"
    closed = "closed"


class RiskLevel(StrEnum):
    low = "low"
    moderate = "moderate"
    high = "high"
    critical = "critical"


class SignalSource(StrEnum):
    bigdata = "bigdata"
    lonely_death_screening = "lonely_death_screening"
    agency_referral = "agency_referral"
    resident_report = "resident_report"
    honorary_official = "honorary_official"
    benefit_rejected = "benefit_rejected"


INDICATORS = (
    "power_cut",
    "water_cut",
    "gas_cut",
    "rent_overdue",
    "management_fee_overdue",
    "health_insurance_arrears",
    "telecom_arrears",
    "national_pension_arrears",
    "unemployment",
    "business_closure",
    "medical_crisis",
    "debt",
    "isolation",
    "hoarding",
    "abuse_suspected",
    "benefit_rejected",
    "benefit_terminated",
    "homeless",
    "food_insecurity",
    "heating_lack",
)

VULNERABILITY_TAGS = (
    "elderly",
    "disability",
    "child",
    "single_person",
    "single_parent",
    "homeless",
    "chronic_illness",
    "grandparent_family",
    "multicultural",
    "young_adult_carer",
    "unemployed",
)


class ConsentPurpose(StrEnum):
    identification = "identification"
    assessment = "assessment"
    joint_consultation = "joint_consultation"
    follow_up = "follow_up"
    service_linkage = "service_linkage"
    case_management = "case_management"


class Household(BaseTable, table=True):
    __tablename__ = "household"
    __sync_entity__ = "household"
    __table_args__ = (
        Index("ix_household_dong_status", "dong_code", "status"),
        Index("ix_household_priority", "priority"),
    )

    district_code: str = Field(max_length=5, index=True)
    dong_code: str = Field(max_length=10)
    address: str = Field(max_length=300)
    address_detail: str | None = Field(default=None, max_length=200)
    head_name: str = Field(max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    #: [{"key": "m1", "name": …, "birth_year": …, "relation": …, "tags": [...]}] — no sensitive fields here.
    members: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    living_situation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    risk_level: RiskLevel = Field(default=RiskLevel.low, sa_type=enum_type(RiskLevel))
    priority: int = Field(default=0)
    status: HouseholdStatus = Field(default=HouseholdStatus.identified, sa_type=enum_type(HouseholdStatus))
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set when a new signal reopened a closed household; cleared when its coordinator acknowledges.
    recurrence_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recurrence_count: int = Field(default=0)
    coordinator_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    #: Risk found by the latest assessment (a scored checklist), see app.households.scoring.
    assessed_risk: RiskLevel | None = Field(default=None, sa_type=enum_type(RiskLevel))
    assessed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: What produced the latest assessment (e.g. "checklist:lonely_death_screening@2").
    assessed_source: str | None = Field(default=None, max_length=120)
    #: Blind index of the normalized address and head name, for matching reports and imports.
    match_key: str | None = Field(default=None, max_length=64, index=True)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set when its personal data was destroyed past retention (app.lifecycle): no phone holds it any more.
    destroyed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set (with ``deleted_at``) when it was merged into another household (app.households.merge).
    merged_into_id: uuid.UUID | None = Field(default=None)
    #: Reachability (app.contacts): failed contact attempts since the household was last reached; when they
    #: reach the configured number it is unreachable, with the next step the guidance expects.
    contact_failures: int = Field(default=0)
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_contact_step: str | None = Field(default=None, max_length=32)
    #: The running legal clock of its intake (docs/data-model.md, app.households.clocks): when, and by which rule.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    deadline_rule: str | None = Field(default=None, max_length=64)


class HouseholdSensitive(BaseTable, table=True):
    """Encrypted-at-rest fields (registration numbers, income, benefit history, health notes)."""

    __tablename__ = "household_sensitive"
    __table_args__ = (UniqueConstraint("household_id", "member_key", "kind"),)

    household_id: uuid.UUID = Field(foreign_key="household.id", index=True)
    member_key: str = Field(default="", max_length=40)
    kind: str = Field(max_length=32)  # rrn | income | benefit_history | health_notes
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    blind_index: str | None = Field(default=None, max_length=64, index=True)


class Signal(BaseTable, table=True):
    __tablename__ = "signal"
    __table_args__ = (
        Index("ix_signal_household_observed", "household_id", "observed_at"),
        Index("ix_signal_source_ref", "source", "external_ref"),
    )

    household_id: uuid.UUID = Field(foreign_key="household.id")
    source: SignalSource = Field(sa_type=enum_type(SignalSource))
    indicators: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    observed_at: datetime = Field(sa_type=UTCDateTime)
    external_ref: str | None = Field(default=None, max_length=200)
    #: Free details from the source (amounts overdue, months, referring agency); no registration numbers.
    details: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    recorded_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class Consent(BaseTable, table=True):
    """A consent record: given or refused, by whom, recorded by whom, for whom, for what, and when."""

    __tablename__ = "consent"
    #: Not sent to phones as such, but a consent change changes what partners' phones hold.
    __sync_entity__ = "consent"
    __table_args__ = (Index("ix_consent_household", "household_id", "status"),)

    household_id: uuid.UUID = Field(foreign_key="household.id")
    status: str = Field(max_length=16)  # given | refused
    given_by: str = Field(max_length=100)  # the person, e.g. "세대주 본인", "배우자"
    recorded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    #: "organization" (recipient_organization_id) or "all_partners"
    recipient_kind: str = Field(max_length=16)
    recipient_organization_id: uuid.UUID | None = Field(default=None, foreign_key="organization.id")
    purposes: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    withdrawal_reason: str | None = Field(default=None, max_length=500)


#: Byte-wise comparison of search keys on PostgreSQL (prefix ranges need it; SQLite compares bytes anyway).
SearchKeyType = String(120).with_variant(String(120, collation="C"), "postgresql")


class HouseholdSearchKey(SQLModel, table=True):
    """Normalized search keys of a household (app.households.search), maintained on every write."""

    __tablename__ = "household_search_key"
    __table_args__ = (Index("ix_household_search_key_key", "key", "household_id"),)

    household_id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=8, primary_key=True)  # n | nb | ns | p | a | x (app.households.search)
    key: str = Field(sa_column=Column("key", SearchKeyType, primary_key=True))


class HouseholdMerge(BaseTable, table=True):
    """A merge of one household into another (app.households.merge): exactly which rows moved, and what the
    survivor looked like before, so that an unmerge within 30 days restores both."""

    __tablename__ = "household_merge"
    __table_args__ = (
        Index("ix_household_merge_household", "household_id", "merged_at"),
        Index("ix_household_merge_into", "into_id", "merged_at"),
    )

    #: The merged-away household.
    household_id: uuid.UUID = Field(foreign_key="household.id")
    #: The survivor.
    into_id: uuid.UUID = Field(foreign_key="household.id")
    merged_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    merged_at: datetime = Field(sa_type=UTCDateTime)
    #: Until when ``POST …/unmerge`` may undo it.
    unmerge_until: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=500)
    #: [{"table": …, "id": …, "from": {column: value before}, "to": {column: value after}}]
    moved: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    #: Survivor fields the merge filled: {field: {"before": …, "after": …}}.
    survivor_fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: Rows of the merged-away household that stayed with it (e.g. encrypted fields, conflicting rows).
    kept: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    #: The merged-away household's fields the merge changed (it is closed): {field: {"before": …, "after": …}}.
    other_fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    unmerged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unmerged_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class ConsentForm(BaseTable, table=True):
    """The signed form of one consent (:mod:`app.consentforms` keeps and serves it): one per consent, never
    replaced by other bytes (a wrong form means a new consent record). Images are stored cleaned (no EXIF/GPS),
    PDFs as they came."""

    __tablename__ = "consent_form"
    __table_args__ = (
        Index("ux_consent_form_consent", "consent_id", unique=True),
        Index("ix_consent_form_household", "household_id"),
    )

    consent_id: uuid.UUID = Field(foreign_key="consent.id")
    household_id: uuid.UUID = Field(foreign_key="household.id")
    storage_key: str = Field(max_length=300)
    content_type: str = Field(max_length=100)
    size: int
    #: sha256 of the stored file (the cleaned image, or the PDF).
    sha256: str = Field(max_length=64)
    #: sha256 of the bytes as uploaded: a retried upload of the same file is recognised by it.
    source_sha256: str = Field(max_length=64)
    uploaded_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
