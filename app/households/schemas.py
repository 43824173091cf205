"""API shapes of households, signals, consents and reveals (docs/data-model.md field names)."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.core.schemas import Input, Public
from app.core.strict import Int
from app.core.times import AwareInstant
from app.households.models import (
    INDICATORS,
    VULNERABILITY_TAGS,
    ConsentPurpose,
    HouseholdStatus,
    RiskLevel,
    SignalSource,
)

VulnerabilityTag = Literal[VULNERABILITY_TAGS]  # type: ignore[valid-type]
Indicator = Literal[INDICATORS]  # type: ignore[valid-type]
Relation = Literal[
    "head", "spouse", "child", "parent", "grandparent", "grandchild", "sibling", "relative", "cohabitant", "other"
]

DistrictCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
DongCode = Annotated[str, StringConstraints(pattern=r"^\d{10}$")]


def _no_nul(value: str) -> str:
    """NUL never belongs in text (PostgreSQL cannot store it; SQLite would, and exports would carry it)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


NoNul = AfterValidator(_no_nul)
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NoNul]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+()\- ]{6,40}$")]
MemberKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), NoNul]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]

_RRN = re.compile(r"^(\d{6})-?(\d{7})$")
MAX_DETAILS_BYTES = 8192


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


# --- members and households ---------------------------------------------------------------------------------


class MemberInput(Input):
    key: MemberKey | None = Field(default=None, description="Stable key within the household; m1, m2… if omitted")
    name: Name
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    relation: Relation = "other"
    tags: list[VulnerabilityTag] = Field(default_factory=list, max_length=len(VULNERABILITY_TAGS))

    @field_validator("birth_year")
    @classmethod
    def _not_future(cls, value: int | None) -> int | None:
        if value is not None and value > datetime.now().year:
            raise ValueError("birth year is in the future")
        return value

    @field_validator("tags")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _unique(value)


class MemberPublic(Public):
    key: str
    name: str
    birth_year: int | None = None
    relation: str = "other"
    tags: list[str] = Field(default_factory=list)


def _check_members(members: list[MemberInput] | None) -> list[MemberInput] | None:
    if members is None:
        return None
    keys = [m.key for m in members if m.key is not None]
    if len(keys) != len(set(keys)):
        raise ValueError("member keys must be unique")
    return members


def _check_codes(district: str | None, dong: str | None) -> None:
    if district is not None and dong is not None and not dong.startswith(district):
        raise ValueError("dong_code must lie in district_code")


class HouseholdInput(Input):
    """What identifies and describes a household, as staff, imports and report triage give it."""

    district_code: DistrictCode
    dong_code: DongCode
    address: Text300
    address_detail: Text200 | None = None
    head_name: Name
    contact_phone: Phone | None = None
    members: list[MemberInput] = Field(default_factory=list, max_length=30)
    tags: list[VulnerabilityTag] = Field(default_factory=list, max_length=len(VULNERABILITY_TAGS))
    living_situation: LongText | None = None

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[MemberInput]) -> list[MemberInput]:
        return _check_members(value) or []

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @model_validator(mode="after")
    def _codes(self) -> HouseholdInput:
        _check_codes(self.district_code, self.dong_code)
        return self


class MemberRrn(Input):
    key: MemberKey
    rrn: str | None = Field(description="Resident registration number (YYMMDD-NNNNNNN); null removes it")

    @field_validator("rrn")
    @classmethod
    def _rrn(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _RRN.match(value.strip())
        if not match:
            raise ValueError("registration number must be 13 digits (YYMMDD-NNNNNNN)")
        return f"{match.group(1)}-{match.group(2)}"


class SensitiveInput(Input):
    """Encrypted at rest. ``null`` removes a value; an absent field leaves it as it is."""

    members: list[MemberRrn] = Field(default_factory=list, max_length=30)
    income: LongText | None = None
    benefit_history: LongText | None = None
    health_notes: LongText | None = None


class SignalCreate(Input):
    source: SignalSource
    indicators: list[Indicator] = Field(default_factory=list, max_length=len(INDICATORS))
    observed_at: AwareInstant
    external_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    details: dict[str, Any] = Field(default_factory=dict, description="Ids, amounts, months; no personal data")

    @field_validator("indicators")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @field_validator("details")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, ensure_ascii=False, default=str).encode()) > MAX_DETAILS_BYTES:
            raise ValueError(f"details are limited to {MAX_DETAILS_BYTES} bytes")
        return value


def normalize_search(text: str) -> str:
    """Search text as stored text is compared: Unicode NFC (a phone's keyboard may send Hangul as separate
    jamo, NFD), whitespace runs as one space, trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


class HouseholdSearch(Input):
    """``POST /v1/households/search``: the list's filters and paging, and the search text in the body, where no
    proxy or access log sees it (docs/data-model.md)."""

    q: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="Name, address or phone number (part of it); public staff only"
    )
    status: HouseholdStatus | None = None
    risk_level: RiskLevel | None = None
    dong_code: Annotated[str, StringConstraints(pattern=r"^\d{2,10}$")] | None = None
    tag: VulnerabilityTag | None = None  # type: ignore[valid-type]
    recurrence: StrictBool | None = None  # 0 and "yes" are not booleans (the document says so)
    limit: Int = Field(default=50, ge=1, le=500)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None

    @field_validator("q")
    @classmethod
    def _normalized(cls, value: str) -> str:
        value = normalize_search(value)
        if not value:
            raise ValueError("empty search")
        return value


class HouseholdCreate(HouseholdInput):
    coordinator_id: uuid.UUID | None = Field(default=None, description="Default: the creating coordinator")
    sensitive: SensitiveInput | None = None
    signal: SignalCreate | None = Field(default=None, description="How the household came to attention")


class HouseholdUpdate(Input):
    district_code: DistrictCode | None = None
    dong_code: DongCode | None = None
    address: Text300 | None = None
    address_detail: Text200 | None = None
    head_name: Name | None = None
    contact_phone: Phone | None = None
    members: list[MemberInput] | None = Field(default=None, max_length=30)
    tags: list[VulnerabilityTag] | None = Field(default=None, max_length=len(VULNERABILITY_TAGS))
    living_situation: LongText | None = None
    status: HouseholdStatus | None = None
    coordinator_id: uuid.UUID | None = None
    sensitive: SensitiveInput | None = None
    acknowledge_recurrence: StrictBool | None = Field(default=None, description="true clears the recurrence flag")

    @field_validator("members")
    @classmethod
    def _members(cls, value: list[MemberInput] | None) -> list[MemberInput] | None:
        return _check_members(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return _unique(value) if value is not None else None


# --- consent ---------------------------------------------------------------------------------------------------


class ConsentBrief(Public):
    id: uuid.UUID
    recipient_kind: str
    recipient_organization_id: uuid.UUID | None
    purposes: list[str]
    valid_until: datetime | None


class ConsentSummary(Public):
    """Who may see the household now, and until when (consents given, in force, not withdrawn)."""

    in_force: list[ConsentBrief] = Field(default_factory=list)
    refused: bool = Field(default=False, description="The latest consent record is a refusal")
    until: datetime | None = Field(default=None, description="When the last consent in force ends (null: open)")


class ConsentCreate(Input):
    status: Literal["given", "refused"]
    given_by: Name = Field(description='Who gave or refused it, e.g. "세대주 본인"')
    recipient_kind: Literal["organization", "all_partners"]
    recipient_organization_id: uuid.UUID | None = None
    purposes: list[ConsentPurpose] = Field(min_length=1, max_length=len(ConsentPurpose))
    valid_from: AwareInstant | None = Field(default=None, description="Default: now")
    valid_until: AwareInstant | None = None

    @field_validator("purposes")
    @classmethod
    def _dedupe(cls, value: list[ConsentPurpose]) -> list[ConsentPurpose]:
        return _unique(value)


class ConsentWithdraw(Input):
    reason: Reason


class ConsentFormPublic(Public):
    """The signed form kept with a consent (download it from ``…/consents/{id}/form`` with a reason)."""

    content_type: str = Field(
        description="image/jpeg, image/png, image/webp (a HEIC is kept as JPEG) or application/pdf"
    )
    size: int
    sha256: str = Field(description="sha256 of the stored file (an image cleaned of its metadata)")
    uploaded_at: datetime


class ConsentPublic(Public):
    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    status: str
    given_by: str
    recorded_by_id: uuid.UUID
    recipient_kind: str
    recipient_organization_id: uuid.UUID | None
    purposes: list[str]
    valid_from: datetime
    valid_until: datetime | None
    withdrawn_at: datetime | None
    withdrawn_by_id: uuid.UUID | None
    withdrawal_reason: str | None
    in_force: bool = False
    created_at: datetime
    form: ConsentFormPublic | None = Field(
        default=None, description="The signed form (PUT/GET …/consents/{id}/form), or null when none is attached"
    )


# --- outputs ---------------------------------------------------------------------------------------------------


class SensitivePublic(Public):
    """Decrypted sensitive fields for coordinators and planners; registration numbers only by reveal."""

    income: str | None = None
    benefit_history: str | None = None
    health_notes: str | None = None
    rrn_on_file: list[str] = Field(default_factory=list, description="Member keys with a registration number")


class HouseholdPublic(Public):
    id: uuid.UUID
    version: int
    district_code: str
    dong_code: str
    address: str
    address_detail: str | None
    head_name: str
    contact_phone: str | None
    members: list[MemberPublic]
    tags: list[str]
    living_situation: str | None
    risk_level: RiskLevel
    priority: int
    status: HouseholdStatus
    status_changed_at: datetime | None
    recurrence_at: datetime | None
    recurrence_count: int
    coordinator_id: uuid.UUID | None
    assessed_risk: RiskLevel | None
    assessed_at: datetime | None
    consent: ConsentSummary
    contact_failures: int = Field(default=0, description="Failed contact attempts since it was last reached")
    unreachable: bool = Field(default=False, description="As many failed attempts as the configured number")
    unreachable_at: datetime | None = None
    next_contact_step: Literal["registered_mail", "fact_check", "review"] | None = Field(
        default=None, description="What the guidance expects next for an unreachable household"
    )
    due_at: datetime | None = Field(
        default=None, description="When the intake's legal clock runs out (docs/data-model.md)"
    )
    deadline_state: Literal["on_track", "at_risk", "overdue"] | None = Field(
        default=None, description="Null when no clock runs (the household was reached and, if urgent, decided)"
    )
    sensitive: SensitivePublic | None = Field(
        default=None, description="Only on a single household, for coordinators and planners"
    )
    created_at: datetime
    updated_at: datetime


class HouseholdBrief(Public):
    id: uuid.UUID
    version: int
    status: HouseholdStatus
    risk_level: RiskLevel
    priority: int
    recurrence_at: datetime | None
    recurrence_count: int


class SignalPublic(Public):
    id: uuid.UUID
    household_id: uuid.UUID
    source: SignalSource
    indicators: list[str]
    observed_at: datetime
    external_ref: str | None
    details: dict[str, Any]
    recorded_by_id: uuid.UUID | None
    created_at: datetime


class SignalAdded(Public):
    outcome: Literal["created", "matched", "reopened"]
    signal: SignalPublic
    household: HouseholdBrief


class RevealRequest(Input):
    reason: Reason = Field(description="Why the registration numbers are needed (kept in the audit)")
    member_keys: list[MemberKey] | None = Field(default=None, max_length=30, description="Default: every member")


class RevealedMember(Public):
    key: str
    name: str | None
    rrn: str | None


class RevealResult(Public):
    household_id: uuid.UUID
    members: list[RevealedMember]
    revealed_at: datetime


# --- merges ----------------------------------------------------------------------------------------------------


class MergeRequest(Input):
    into: uuid.UUID = Field(description="The household that survives")
    reason: Reason | None = None


class UnmergeRequest(Input):
    reason: Reason | None = None


class MergePublic(Public):
    id: uuid.UUID
    household_id: uuid.UUID = Field(description="The merged-away household")
    into: uuid.UUID = Field(description="The survivor")
    merged_at: datetime
    unmerge_until: datetime
    unmerged_at: datetime | None
    moved: dict[str, int] = Field(description="Rows moved to the survivor, by table")
    kept: dict[str, int] = Field(description="Rows that stayed with the merged-away household, by table")
