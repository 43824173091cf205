"""Welfare facilities: registering, changing and deactivating them (``docs/architecture.md``, visits).

Facilities are institutions, not personal data: staff and admins read those of their area
(:func:`app.access.policy.facility_filter`); coordinators and admins manage them (the ``Steward`` gate), each
placed in a dong of the caller's jurisdiction (:func:`app.access.facilities.may_place_facility`). A facility is
never deleted, only deactivated (kept for the history of its visits). Its last inspection is kept current by
:func:`app.winter.inspections.record_inspection`.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.facilities import may_place_facility
from app.core.errors import FieldInvalid
from app.core.principal import Principal
from app.journal import audit
from app.visits.models import Facility
from app.visits.schemas import FacilityCreate, FacilityUpdate

#: Fields a facility always has (a change may not set them to null).
REQUIRED = ("name", "kind", "district_code", "dong_code", "address", "active")


def check_facility_area(principal: Principal, district: str, dong: str) -> None:
    errors = []
    if not dong.startswith(district):
        errors.append(("body.dong_code", "households.codes-mismatch", {}))
    if not may_place_facility(principal, dong):
        errors.append(("body.dong_code", "facilities.outside-jurisdiction", {}))
    if errors:
        raise FieldInvalid(errors)


async def create_facility(session: AsyncSession, principal: Principal, body: FacilityCreate) -> Facility:
    check_facility_area(principal, body.district_code, body.dong_code)
    facility = Facility(**body.model_dump())
    session.add(facility)
    await session.flush()
    await audit.record(session, principal, "facility.create", entity="facility", entity_id=facility.id)
    return facility


async def update_facility(
    session: AsyncSession, principal: Principal, facility: Facility, body: FacilityUpdate
) -> Facility:
    changes = body.model_dump(exclude_unset=True)
    missing = [(f"body.{k}", "households.required", {}) for k in REQUIRED if k in changes and changes[k] is None]
    if missing:
        raise FieldInvalid(missing)
    check_facility_area(
        principal, changes.get("district_code", facility.district_code), changes.get("dong_code", facility.dong_code)
    )
    for name, value in changes.items():
        if getattr(facility, name) != value:
            setattr(facility, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "facility.update",
        entity="facility",
        entity_id=facility.id,
        details={"fields": sorted(changes)},
    )
    return facility


async def deactivate_facility(session: AsyncSession, principal: Principal, facility: Facility) -> None:
    if facility.active:
        facility.active = False
        await session.flush()
        await audit.record(session, principal, "facility.deactivate", entity="facility", entity_id=facility.id)
