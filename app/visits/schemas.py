"""API shapes of visits and facilities (docs/data-model.md field names).

A partner who is on a visit's team but whom no consent covers for the visit's household gets the
*restricted* view (``view: "restricted"``): id, version, time window, status, purpose, dong, team and
whether it is overdue, and nothing that identifies the household (no ``household_id``, no outcome, no
check-in times or checklists tied to it). Everyone else who sees the visit gets the full view.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints, field_validator

from app.core.pagination import INT32_MAX
from app.core.principal import OrgKind, Role
from app.core.schemas import Input, Public
from app.core.strict import NOT_BOOL, Int, Number
from app.core.times import AwareInstant
from app.households.schemas import DistrictCode, DongCode, Phone, Text200, Text300
from app.visits.models import VisitPurpose, VisitStatus

Outcome = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

MAX_TEAM = 10


class ChecklistPin(Input):
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    version: Int = Field(ge=1, le=INT32_MAX)


class ExpectedPhoto(Input):
    key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    label: Text200 | None = None


class Location(Input):
    lat: Number = Field(ge=-90, le=90)
    lon: Number = Field(ge=-180, le=180)
    accuracy_m: Annotated[float, Field(ge=0, le=100_000), NOT_BOOL] | None = None


def _unique_keys(items: list[Any]) -> list[Any]:
    keys = [i.key for i in items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate key(s): {', '.join(duplicates)}")
    return items


class VisitCreate(Input):
    household_id: uuid.UUID | None = None
    facility_id: uuid.UUID | None = None
    purpose: VisitPurpose
    campaign_id: uuid.UUID | None = None
    window_start: AwareInstant
    window_end: AwareInstant
    assignees: list[uuid.UUID] = Field(min_length=1, max_length=MAX_TEAM, description="User ids of the team")
    lead_id: uuid.UUID | None = Field(default=None, description="Default: the first assignee")
    checklists: list[ChecklistPin] = Field(default_factory=list, max_length=10)
    expected_photos: list[ExpectedPhoto] = Field(default_factory=list, max_length=30)

    @field_validator("checklists", "expected_photos")
    @classmethod
    def _unique(cls, value: list[Any]) -> list[Any]:
        return _unique_keys(value)


class VisitUpdate(Input):
    purpose: VisitPurpose | None = None
    campaign_id: uuid.UUID | None = None
    window_start: AwareInstant | None = None
    window_end: AwareInstant | None = None
    assignees: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_TEAM)
    lead_id: uuid.UUID | None = None
    checklists: list[ChecklistPin] | None = Field(default=None, max_length=10)
    expected_photos: list[ExpectedPhoto] | None = Field(default=None, max_length=30)
    outcome: Outcome | None = None

    @field_validator("checklists", "expected_photos")
    @classmethod
    def _unique(cls, value: list[Any] | None) -> list[Any] | None:
        return _unique_keys(value) if value is not None else None


class TeamUpdate(Input):
    assignees: list[uuid.UUID] = Field(min_length=1, max_length=MAX_TEAM)
    lead_id: uuid.UUID | None = None


class TransitionCreate(Input):
    to: VisitStatus
    outcome: Outcome | None = None
    at: AwareInstant | None = Field(default=None, description="Device time of the change")
    location: Location | None = None
    reason: Reason | None = Field(default=None, description="Why a visit is cancelled")


class TeamMember(Public):
    user_id: uuid.UUID
    display_name: str
    role: Role
    phone: str | None
    organization_id: uuid.UUID
    organization_name: str
    organization_kind: OrgKind
    lead: bool


class VisitPublic(Public):
    view: Literal["full"] = "full"
    id: uuid.UUID
    version: int
    household_id: uuid.UUID | None
    facility_id: uuid.UUID | None
    dong_code: str
    purpose: VisitPurpose
    status: VisitStatus
    window_start: datetime
    window_end: datetime
    assignees: list[uuid.UUID]
    team: list[TeamMember]
    campaign_id: uuid.UUID | None
    checklists: list[dict[str, Any]]
    expected_photos: list[dict[str, Any]]
    outcome: str | None
    checked_in_at: datetime | None
    checked_in_device_at: datetime | None
    checked_out_at: datetime | None
    checked_out_device_at: datetime | None
    overdue: bool
    due_at: datetime | None = Field(default=None, description="Open visits: the end of the window (docs/data-model.md)")
    deadline_state: Literal["on_track", "at_risk", "overdue"] | None = None
    cancel_reason: str | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class VisitRestrictedPublic(Public):
    """A partner's view of a visit whose household no consent opens to them (docs/access.md)."""

    view: Literal["restricted"] = "restricted"
    id: uuid.UUID
    version: int
    dong_code: str
    purpose: VisitPurpose
    status: VisitStatus
    window_start: datetime
    window_end: datetime
    assignees: list[uuid.UUID]
    team: list[TeamMember]
    overdue: bool
    due_at: datetime | None = Field(default=None, description="Open visits: the end of the window (docs/data-model.md)")
    deadline_state: Literal["on_track", "at_risk", "overdue"] | None = None


VisitView = Annotated[VisitPublic | VisitRestrictedPublic, Field(discriminator="view")]


class TransitionPublic(Public):
    id: uuid.UUID
    from_status: str
    to_status: str
    actor_id: uuid.UUID | None
    device_at: datetime | None
    server_at: datetime
    note: str | None
    location: dict[str, Any] | None = Field(default=None, description="Public staff only")


# --- facilities ------------------------------------------------------------------------------------------------

FacilityKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


class FacilityCreate(Input):
    name: Text200
    kind: FacilityKind = Field(description="senior_center, shelter, community_child_center, care_home, …")
    district_code: DistrictCode
    dong_code: DongCode
    address: Text300
    contact_phone: Phone | None = None
    operator: Text200 | None = None
    capacity: Annotated[int, Field(ge=0, le=100_000), NOT_BOOL] | None = None
    active: StrictBool = True


class FacilityUpdate(Input):
    name: Text200 | None = None
    kind: FacilityKind | None = None
    district_code: DistrictCode | None = None
    dong_code: DongCode | None = None
    address: Text300 | None = None
    contact_phone: Phone | None = None
    operator: Text200 | None = None
    capacity: Annotated[int, Field(ge=0, le=100_000), NOT_BOOL] | None = None
    active: StrictBool | None = None


class FacilityPublic(Public):
    id: uuid.UUID
    version: int
    name: str
    kind: str
    district_code: str
    dong_code: str
    address: str
    contact_phone: str | None
    operator: str | None
    capacity: int | None
    active: bool
    last_inspected_at: datetime | None = Field(
        default=None, description="When the latest inspection checklist of one of its visits was completed"
    )
    last_inspection_visit_id: uuid.UUID | None = None
    last_inspection_urgent: bool | None = Field(default=None, description="That inspection found urgent hazards")
    created_at: datetime
    updated_at: datetime
