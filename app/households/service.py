"""Households: intake, signals and recurrence, status and updates (``docs/architecture.md``, households).

The household's other jobs have their own modules: matching (:mod:`app.households.matching`), consents
(:mod:`app.households.consent`), sealed fields and the reveal (:mod:`app.households.sensitive`), the one view
of a household for REST and sync (:mod:`app.households.views`), merges (:mod:`app.households.merge`) and
every query (:mod:`app.households.repository`). Who may do what is :mod:`app.access.households`.

Signals and recurrence
    Every signal is stored (a retry of the same source, external reference and observation time is
    recognized and not stored twice), the risk level and priority are recomputed
    (:mod:`app.households.scoring`), and a signal on a *closed* household reopens it: status back to
    ``identified``, ``recurrence_at`` set and ``recurrence_count`` raised, ``household.recurrence`` emitted
    to flag its coordinator (who clears the flag with ``acknowledge_recurrence``).

Status
    ``identified → contacted → assessed → supported → monitoring → closed``. Staff may move a household
    forward (skipping steps is allowed), close it from any status, and reopen a closed one to
    ``identified`` by hand; other backward moves answer 409. A completed visit moves the household forward
    by itself (:func:`advance_after_visit`): ``identified`` → ``contacted`` (first contact); when the visit was
    an assessment or joint consultation, or an assessment was recorded during it, ``identified`` or
    ``contacted`` → ``assessed``. It never moves a household back or out of ``supported`` and later.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import households as access
from app.core.db import utcnow
from app.core.errors import Conflict, FieldInvalid, Forbidden, field_problem
from app.core.principal import Principal
from app.core.security import Security
from app.households import messages as _messages  # noqa: F401  (registers the messages)
from app.households import search as _search  # noqa: F401  (keeps search keys on every ORM write)
from app.households.matching import find_match, match_key, security_or_default
from app.households.models import INDICATORS, Household, HouseholdStatus, Signal, SignalSource
from app.households.repository import HouseholdRepository
from app.households.schemas import HouseholdCreate, HouseholdInput, HouseholdUpdate, MemberInput
from app.households.scoring import recompute
from app.households.sensitive import apply_sensitive, drop_departed_members
from app.journal import audit
from app.journal.outbox import emit

FLOW = (
    HouseholdStatus.identified,
    HouseholdStatus.contacted,
    HouseholdStatus.assessed,
    HouseholdStatus.supported,
    HouseholdStatus.monitoring,
    HouseholdStatus.closed,
)

#: Fields a visitor (partner) may correct; the phone sends the same through sync (docs/sync.md).
VISITOR_FIELDS = ("contact_phone", "living_situation", "address_detail")
REQUIRED_FIELDS = ("district_code", "dong_code", "address", "head_name")


# --- lookups ---------------------------------------------------------------------------------------------------


async def _check_coordinator(session: AsyncSession, user_id: uuid.UUID, dong_code: str, field: str) -> None:
    found = await HouseholdRepository(session).user_with_organization(user_id)
    if found is None or not access.may_coordinate(found[0], found[1], dong_code):
        raise field_problem(field, "households.unknown-coordinator")


def _member_dicts(members: list[MemberInput]) -> list[dict[str, object]]:
    taken = {m.key for m in members if m.key}
    out: list[dict[str, object]] = []
    n = 1
    for m in members:
        key = m.key
        if key is None:
            while f"m{n}" in taken:
                n += 1
            key = f"m{n}"
            taken.add(key)
        out.append({"key": key, "name": m.name, "birth_year": m.birth_year, "relation": m.relation, "tags": m.tags})
    return out


def check_jurisdiction(principal: Principal, dong_code: str, field: str = "body.dong_code") -> None:
    if not access.may_place(principal, dong_code):
        raise field_problem(field, "households.outside-jurisdiction")


# --- creation and signals --------------------------------------------------------------------------------------


async def new_household(
    session: AsyncSession,
    principal: Principal,
    security: Security,
    target: HouseholdInput,
    *,
    coordinator_id: uuid.UUID | None,
) -> Household:
    now = utcnow()
    household = Household(
        district_code=target.district_code,
        dong_code=target.dong_code,
        address=target.address,
        address_detail=target.address_detail,
        head_name=target.head_name,
        contact_phone=target.contact_phone,
        members=_member_dicts(target.members),
        tags=list(target.tags),
        living_situation=target.living_situation,
        status=HouseholdStatus.identified,
        status_changed_at=now,
        coordinator_id=coordinator_id,
        match_key=match_key(security, target.address, target.address_detail, target.head_name),
    )
    session.add(household)
    await session.flush()
    await audit.record(
        session, principal, "household.create", entity="household", entity_id=household.id, household_id=household.id
    )
    return household


async def create_household(
    session: AsyncSession, principal: Principal, security: Security, body: HouseholdCreate
) -> Household:
    """Staff register a household in their jurisdiction (with an optional first signal)."""
    check_jurisdiction(principal, body.dong_code)
    coordinator_id = body.coordinator_id
    if coordinator_id is not None:
        await _check_coordinator(session, coordinator_id, body.dong_code, "body.coordinator_id")
    elif access.coordinates_new_households(principal):
        coordinator_id = principal.user_id
    household = await new_household(session, principal, security, body, coordinator_id=coordinator_id)
    if body.sensitive is not None:
        await apply_sensitive(session, security, household, body.sensitive)
    if body.signal is not None:
        s = body.signal
        await add_signal(
            session,
            principal,
            household,
            source=s.source,
            indicators=list(s.indicators),
            observed_at=s.observed_at,
            external_ref=s.external_ref,
            details=s.details,
            quiet=True,
        )
    else:
        await recompute(session, household, reason="created", quiet=True)
    return household


def _check_indicators(indicators: list[str]) -> list[str]:
    unknown = sorted(set(indicators) - set(INDICATORS))
    if unknown:
        raise field_problem("body.indicators", "households.indicator-unknown", values=", ".join(unknown))
    return list(dict.fromkeys(indicators))


async def _reopen(session: AsyncSession, household: Household, signal: Signal) -> None:
    now = utcnow()
    household.status = HouseholdStatus.identified
    household.status_changed_at = now
    household.recurrence_at = now
    household.recurrence_count = (household.recurrence_count or 0) + 1
    emit(
        session,
        "household.recurrence",
        {
            "household_id": str(household.id),
            "signal_id": str(signal.id),
            "source": signal.source.value if hasattr(signal.source, "value") else str(signal.source),
            "recurrence_count": household.recurrence_count,
            "coordinator_id": str(household.coordinator_id) if household.coordinator_id else None,
        },
        household_id=household.id,
        district_code=household.district_code,
    )


async def add_signal(
    session: AsyncSession,
    principal: Principal,
    household: Household,
    *,
    source: SignalSource | str,
    indicators: list[str],
    observed_at: datetime,
    external_ref: str | None,
    details: dict[str, Any],
    quiet: bool = False,
) -> tuple[Signal, Literal["matched", "reopened"]]:
    """Add a signal to a household: recompute its risk, reopen it when closed (a recurrence).

    A signal equal to one already stored (same source, external reference and observation time) is not
    stored again: the stored one is returned."""
    source = SignalSource(source)
    indicators = _check_indicators(indicators)
    if observed_at.tzinfo is None:
        raise field_problem("body.observed_at", "field.datetime_parsing")
    if external_ref is not None:
        existing = await HouseholdRepository(session).same_signal(household.id, source, external_ref, observed_at)
        if existing is not None:
            return existing, "matched"
    signal = Signal(
        household_id=household.id,
        source=source,
        indicators=indicators,
        observed_at=observed_at,
        external_ref=external_ref,
        details=dict(details or {}),
        recorded_by_id=access.signal_author(principal),
    )
    session.add(signal)
    await session.flush()
    outcome: Literal["matched", "reopened"] = "matched"
    if household.status == HouseholdStatus.closed:
        await _reopen(session, household, signal)
        outcome = "reopened"
    await recompute(session, household, reason="signal", quiet=quiet)
    await audit.record(
        session,
        principal,
        "household.signal.create",
        entity="signal",
        entity_id=signal.id,
        household_id=household.id,
        details={"source": source.value, "indicators": len(indicators), "outcome": outcome},
    )
    return signal, outcome


@dataclass
class IngestResult:
    household: Household
    signal: Signal
    outcome: Literal["created", "matched", "reopened"]


def _merge_into(household: Household, target: HouseholdInput) -> None:
    """Fill what staff have not recorded yet; never overwrite what they curated."""
    if not household.contact_phone and target.contact_phone:
        household.contact_phone = target.contact_phone
    if not household.living_situation and target.living_situation:
        household.living_situation = target.living_situation
    if not household.address_detail and target.address_detail:
        household.address_detail = target.address_detail
    if not household.members and target.members:
        household.members = _member_dicts(target.members)
    new_tags = [tag for tag in target.tags if tag not in (household.tags or [])]
    if new_tags:
        household.tags = [*(household.tags or []), *new_tags]


async def ingest_signal(
    session: AsyncSession,
    principal: Principal,
    *,
    source: SignalSource,
    indicators: list[str],
    observed_at: datetime,
    external_ref: str | None,
    details: dict[str, Any],
    target: HouseholdInput,
    security: Security | None = None,
) -> IngestResult:
    """Match the target to an existing household (open or closed, by match key, within the caller's
    jurisdiction) or create one; add the signal; recompute risk and priority; reopen a closed household.

    Used by imports (``/v1/integrations/households``), report triage and ``POST …/{id}/signals``.
    Pass ``security=state.security`` where the app state is at hand."""
    sec = security_or_default(security)
    check_jurisdiction(principal, target.dong_code, "body.dong_code")
    key = match_key(sec, target.address, target.address_detail, target.head_name)
    household = await find_match(session, principal, key)
    created = household is None
    if household is None:
        household = await new_household(session, principal, sec, target, coordinator_id=None)
    else:
        _merge_into(household, target)
    signal, outcome = await add_signal(
        session,
        principal,
        household,
        source=source,
        indicators=indicators,
        observed_at=observed_at,
        external_ref=external_ref,
        details=details,
        quiet=created,
    )
    return IngestResult(household=household, signal=signal, outcome="created" if created else outcome)


# --- updates ---------------------------------------------------------------------------------------------------


def allowed_statuses(current: HouseholdStatus) -> list[HouseholdStatus]:
    if current == HouseholdStatus.closed:
        return [HouseholdStatus.identified]
    return [s for s in FLOW if FLOW.index(s) > FLOW.index(current)]


def _set_status(household: Household, to: HouseholdStatus) -> None:
    if household.status == to:
        return
    allowed = allowed_statuses(household.status)
    if to not in allowed:
        raise Conflict(
            "illegal-status",
            "households.illegal-status",
            params={
                "from_status": household.status.value,
                "to_status": to.value,
                "allowed": ", ".join(s.value for s in allowed) or "-",
            },
            extra={"from": household.status.value, "to": to.value, "allowed": [s.value for s in allowed]},
        )
    household.status = to
    household.status_changed_at = utcnow()


async def update_household(
    session: AsyncSession, principal: Principal, security: Security, household: Household, body: HouseholdUpdate
) -> Household:
    changes = body.model_dump(exclude_unset=True)
    sensitive = changes.pop("sensitive", None)
    if not access.may_edit_all_fields(principal):
        forbidden = sorted(set(changes) - set(VISITOR_FIELDS)) + (["sensitive"] if sensitive is not None else [])
        if forbidden:
            problem = Forbidden("households.field-forbidden", params={"fields": ", ".join(VISITOR_FIELDS)})
            problem.extra = {"fields": forbidden}
            raise problem
    errors = [(f"body.{name}", "households.required", {}) for name in REQUIRED_FIELDS if changes.get(name, 1) is None]
    errors += [
        (f"body.{name}", "households.required", {})
        for name in ("members", "tags", "status")
        if name in changes and changes[name] is None
    ]
    if errors:
        raise FieldInvalid(errors)
    district = changes.get("district_code", household.district_code)
    dong = changes.get("dong_code", household.dong_code)
    if not dong.startswith(district):
        raise field_problem("body.dong_code", "households.codes-mismatch")
    if "dong_code" in changes and dong != household.dong_code:
        check_jurisdiction(principal, dong)
    if changes.get("coordinator_id") is not None:
        await _check_coordinator(session, changes["coordinator_id"], dong, "body.coordinator_id")

    status = changes.pop("status", None)
    acknowledge = changes.pop("acknowledge_recurrence", None)
    members_changed = "members" in changes
    if members_changed:
        changes["members"] = _member_dicts(body.members or [])
    for name, value in changes.items():
        if getattr(household, name) != value:
            setattr(household, name, value)
    if status is not None:
        _set_status(household, HouseholdStatus(status))
    if acknowledge:
        household.recurrence_at = None
    if {"address", "address_detail", "head_name"} & set(changes):
        household.match_key = match_key(security, household.address, household.address_detail, household.head_name)
    if members_changed:
        await drop_departed_members(session, household)
    if body.sensitive is not None:
        await apply_sensitive(session, security, household, body.sensitive)
    if {"members", "tags"} & set(changes):
        await recompute(session, household, reason="members")
    await session.flush()
    fields = sorted([*changes, *(["status"] if status else []), *(["sensitive"] if sensitive is not None else [])])
    await audit.record(
        session,
        principal,
        "household.update",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        details={"fields": fields},
    )
    return household


async def advance_after_visit(
    session: AsyncSession, household: Household, *, purpose: str, started_at: datetime | None
) -> HouseholdStatus | None:
    """The status rule for a completed visit (see the module docstring). Returns the new status, if any."""
    if household.status not in (HouseholdStatus.identified, HouseholdStatus.contacted):
        return None
    assessed_during = (
        household.assessed_at is not None and started_at is not None and household.assessed_at >= started_at
    )
    target = (
        HouseholdStatus.assessed
        if purpose in ("assessment", "joint_consultation") or assessed_during
        else HouseholdStatus.contacted
    )
    if FLOW.index(target) <= FLOW.index(household.status):
        return None
    household.status = target
    household.status_changed_at = utcnow()
    await session.flush()
    return target


# --- reads -------------------------------------------------------------------------------------------------------


async def records_page(
    session: AsyncSession,
    principal: Principal,
    household: Household,
    model: Any,
    action: str,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """A page of one household's ``model`` rows (signals, consents; newest first), the read audited as ``action``."""
    rows, next_cursor = await HouseholdRepository(session).records_of(model, household.id, limit=limit, cursor=cursor)
    await audit.record(
        session,
        principal,
        action,
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        details={"count": len(rows)},
    )
    return rows, next_cursor
