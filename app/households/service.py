"""Households: intake and matching, signals and recurrence, status, sensitive fields, consent, reveal, and the
one function through which a household leaves the server (:func:`household_views`).

Matching
    A household's ``match_key`` is a blind index (keyed hash) of its normalized address (address and
    address detail, without spaces or punctuation, NFKC, lower case) and head name. Imports, report triage
    and staff find an existing household, open or closed, by it within their jurisdiction.

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

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import (
    PUBLIC_STAFF,
    codes_clause,
    consent_covers,
    consent_in_force,
    may_reveal_rrn,
    sensitive_kinds_visible,
)
from app.audit import service as audit
from app.auth.models import Organization, OrgKind, Role, User
from app.auth.principal import Principal, in_codes
from app.core.db import utcnow
from app.core.errors import Problem
from app.core.i18n import t
from app.core.security import Security
from app.events.outbox import emit
from app.households import messages as _messages  # noqa: F401  (registers the messages)
from app.households import search as _search  # noqa: F401  (keeps search keys on every ORM write)
from app.households.models import (
    INDICATORS,
    Consent,
    Household,
    HouseholdSensitive,
    HouseholdStatus,
    Signal,
    SignalSource,
)
from app.households.schemas import (
    ConsentBrief,
    ConsentIn,
    ConsentSummary,
    HouseholdCreate,
    HouseholdInput,
    HouseholdOut,
    HouseholdPatch,
    MemberIn,
    MemberOut,
    RevealedMember,
    RevealIn,
    RevealOut,
    SensitiveInput,
    SensitiveOut,
)
from app.households.scoring import recompute

FLOW = (
    HouseholdStatus.identified,
    HouseholdStatus.contacted,
    HouseholdStatus.assessed,
    HouseholdStatus.supported,
    HouseholdStatus.monitoring,
    HouseholdStatus.closed,
)

#: Fields a visitor (partner) may correct; the phone sends the same through sync (DESIGN §4.2).
VISITOR_FIELDS = ("contact_phone", "living_situation", "address_detail")
REQUIRED_FIELDS = ("district_code", "dong_code", "address", "head_name")
SENSITIVE_TEXT_KINDS = ("income", "benefit_history", "health_notes")
MATCH_CONTEXT = "household:match"
RRN_INDEX_CONTEXT = "household_sensitive:rrn"


# --- errors ----------------------------------------------------------------------------------------------------


def validation_problem(errors: list[tuple[str, str, dict[str, Any]]]) -> Problem:
    """A 422 problem with ``errors`` [{field, code, message}] (the shape FastAPI's validation errors have)."""
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": len(errors)},
        extra={
            "errors": [
                {"field": field, "code": "value_error", "message": t(key, **params)} for field, key, params in errors
            ]
        },
    )


def field_problem(field: str, key: str, **params: Any) -> Problem:
    return validation_problem([(field, key, params)])


# --- security --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _default_security() -> Security:
    from app.core.config import get_settings

    return Security(get_settings())


def security_or_default(security: Security | None) -> Security:
    """The app's Security when the caller has it (``state.security``); else one built from the environment's
    settings (the same keys in any process of the same deployment)."""
    return security if security is not None else _default_security()


def _normalize(text: str | None) -> str:
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\W_]+", "", folded)


def match_key(security: Security, address: str, address_detail: str | None, head_name: str) -> str:
    """The blind index that finds a household by address and head name without storing them twice."""
    value = f"{_normalize(address)}{_normalize(address_detail)}|{_normalize(head_name)}"
    return security.blind_index(value, context=MATCH_CONTEXT)


def _sensitive_context(kind: str, household_id: uuid.UUID, member_key: str) -> str:
    return f"household_sensitive:{kind}:{household_id}:{member_key}"


# --- lookups ---------------------------------------------------------------------------------------------------


async def find_match(session: AsyncSession, principal: Principal, key: str) -> Household | None:
    """An existing household with this match key in the caller's jurisdiction: an open one first (most
    recently changed), else the most recently changed closed one."""
    rows = (
        await session.execute(
            select(Household)
            .where(
                Household.match_key == key,
                Household.deleted_at.is_(None),
                codes_clause(Household.dong_code, principal.jurisdiction),
            )
            .order_by(case((Household.status == HouseholdStatus.closed, 1), else_=0), Household.updated_at.desc())
            .limit(1)
        )
    ).scalars()
    return next(iter(rows), None)


async def _check_coordinator(session: AsyncSession, user_id: uuid.UUID, dong_code: str, field: str) -> None:
    row = (
        await session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id)
        )
    ).first()
    if row is None:
        raise field_problem(field, "households.unknown-coordinator")
    user, org = row
    codes = user.jurisdiction if user.jurisdiction is not None else org.jurisdiction
    if not (user.active and org.active and user.role == Role.coordinator and in_codes(dong_code, codes or [])):
        raise field_problem(field, "households.unknown-coordinator")


def _member_dicts(members: list[MemberIn]) -> list[dict[str, object]]:
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
    if not principal.in_jurisdiction(dong_code):
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
    elif principal.role == Role.coordinator:
        coordinator_id = principal.user_id
    household = await new_household(session, principal, security, body, coordinator_id=coordinator_id)
    if body.sensitive is not None:
        await _apply_sensitive(session, security, household, body.sensitive)
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
        existing = (
            await session.execute(
                select(Signal).where(
                    Signal.household_id == household.id,
                    Signal.source == source,
                    Signal.external_ref == external_ref,
                    Signal.observed_at == observed_at,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing, "matched"
    signal = Signal(
        household_id=household.id,
        source=source,
        indicators=indicators,
        observed_at=observed_at,
        external_ref=external_ref,
        details=dict(details or {}),
        recorded_by_id=principal.user_id if principal.role != Role.integration else None,
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
        raise Problem(
            409,
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
    session: AsyncSession, principal: Principal, security: Security, household: Household, body: HouseholdPatch
) -> Household:
    changes = body.model_dump(exclude_unset=True)
    sensitive = changes.pop("sensitive", None)
    if principal.role not in PUBLIC_STAFF:
        forbidden = sorted(set(changes) - set(VISITOR_FIELDS)) + (["sensitive"] if sensitive is not None else [])
        if forbidden:
            raise Problem(
                403,
                "forbidden",
                "households.field-forbidden",
                params={"fields": ", ".join(VISITOR_FIELDS)},
                extra={"fields": forbidden},
            )
    errors = [(f"body.{name}", "households.required", {}) for name in REQUIRED_FIELDS if changes.get(name, 1) is None]
    errors += [
        (f"body.{name}", "households.required", {})
        for name in ("members", "tags", "status")
        if name in changes and changes[name] is None
    ]
    if errors:
        raise validation_problem(errors)
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
        keys = {str(m["key"]) for m in household.members}
        stale = (
            await session.execute(
                select(HouseholdSensitive).where(
                    HouseholdSensitive.household_id == household.id, HouseholdSensitive.member_key != ""
                )
            )
        ).scalars()
        for row in stale:
            if row.member_key not in keys:
                await session.delete(row)
    if body.sensitive is not None:
        await _apply_sensitive(session, security, household, body.sensitive)
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


async def _apply_sensitive(
    session: AsyncSession, security: Security, household: Household, sens: SensitiveInput
) -> None:
    keys = {str(m.get("key")) for m in household.members or []}
    errors = [
        (f"body.sensitive.members.{i}.key", "households.unknown-member", {"member": m.key})
        for i, m in enumerate(sens.members)
        if m.key not in keys
    ]
    if errors:
        raise validation_problem(errors)
    existing = {
        (row.member_key, row.kind): row
        for row in (
            await session.execute(select(HouseholdSensitive).where(HouseholdSensitive.household_id == household.id))
        ).scalars()
    }
    wanted: list[tuple[str, str, str | None]] = [("rrn", m.key, m.rrn) for m in sens.members]
    wanted += [(kind, "", getattr(sens, kind)) for kind in SENSITIVE_TEXT_KINDS if kind in sens.model_fields_set]
    for kind, member_key, value in wanted:
        row = existing.get((member_key, kind))
        if value is None:
            if row is not None:
                await session.delete(row)
            continue
        ciphertext = security.encrypt(value, context=_sensitive_context(kind, household.id, member_key))
        index = security.blind_index(value, context=RRN_INDEX_CONTEXT) if kind == "rrn" else None
        if row is None:
            session.add(
                HouseholdSensitive(
                    household_id=household.id,
                    member_key=member_key,
                    kind=kind,
                    ciphertext=ciphertext,
                    blind_index=index,
                )
            )
        else:
            row.ciphertext = ciphertext
            row.blind_index = index
    await session.flush()


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


def touch(household: Household) -> None:
    """Mark the household changed (its consent summary changed): new version, and a sync change."""
    household.updated_at = utcnow()


# --- consent ---------------------------------------------------------------------------------------------------


async def record_consent(session: AsyncSession, principal: Principal, household: Household, body: ConsentIn) -> Consent:
    now = utcnow()
    if body.recipient_kind == "organization":
        if body.recipient_organization_id is None:
            raise field_problem("body.recipient_organization_id", "households.consent-organization-required")
        org = await session.get(Organization, body.recipient_organization_id)
        if org is None or not org.active or org.kind != OrgKind.private:
            raise field_problem("body.recipient_organization_id", "households.consent-organization-unknown")
    elif body.recipient_organization_id is not None:
        raise field_problem("body.recipient_organization_id", "households.consent-organization-unexpected")
    valid_from = body.valid_from or now
    if body.valid_until is not None and body.valid_until <= valid_from:
        raise field_problem("body.valid_until", "households.consent-until-before-from")
    consent = Consent(
        household_id=household.id,
        status=body.status,
        given_by=body.given_by,
        recorded_by_id=principal.user_id,
        recipient_kind=body.recipient_kind,
        recipient_organization_id=body.recipient_organization_id,
        purposes=[p.value for p in body.purposes],
        valid_from=valid_from,
        valid_until=body.valid_until,
    )
    session.add(consent)
    touch(household)
    await session.flush()
    await audit.record(
        session,
        principal,
        "household.consent.create",
        entity="consent",
        entity_id=consent.id,
        household_id=household.id,
        details={"status": body.status, "recipient_kind": body.recipient_kind, "purposes": len(body.purposes)},
    )
    return consent


async def withdraw_consent(
    session: AsyncSession, principal: Principal, household: Household, consent: Consent, reason: str
) -> Consent:
    if consent.withdrawn_at is not None:
        raise Problem(409, "consent-closed", "households.consent-withdrawn")
    if consent.status != "given":
        raise Problem(409, "consent-closed", "households.consent-not-given")
    consent.withdrawn_at = utcnow()
    consent.withdrawn_by_id = principal.user_id
    consent.withdrawal_reason = reason
    touch(household)
    await session.flush()
    await audit.record(
        session,
        principal,
        "household.consent.withdraw",
        entity="consent",
        entity_id=consent.id,
        household_id=household.id,
        purpose=reason,
    )
    return consent


def consent_summary(consents: list[Consent], principal: Principal, at: datetime) -> ConsentSummary:
    in_force = [c for c in consents if consent_in_force(c, at)]
    if principal.role == Role.partner:
        in_force = [
            c for c in in_force if any(consent_covers(c, principal.organization_id, p, at) for p in c.purposes or [])
        ]
    latest = max(consents, key=lambda c: (c.created_at, str(c.id)), default=None)
    ends = [c.valid_until for c in in_force]
    return ConsentSummary(
        in_force=[
            ConsentBrief(
                id=c.id,
                recipient_kind=c.recipient_kind,
                recipient_organization_id=c.recipient_organization_id,
                purposes=list(c.purposes or []),
                valid_until=c.valid_until,
            )
            for c in in_force
        ],
        refused=latest is not None and latest.status == "refused" and latest.withdrawn_at is None,
        until=None if not ends or any(e is None for e in ends) else max(e for e in ends if e is not None),
    )


# --- the way out ----------------------------------------------------------------------------------------------


async def household_views(
    session: AsyncSession,
    principal: Principal,
    households: list[Household],
    *,
    security: Security | None = None,
    include_sensitive: bool = False,
) -> list[HouseholdOut]:
    """Every household that leaves the server over REST goes through here, redacted for the caller's role
    (:func:`app.access.policy.sensitive_kinds_visible`): registration numbers never (only by reveal);
    income, benefit history and health notes to coordinators and planners, on a single household
    (``include_sensitive``); a partner's consent summary lists only the consents that cover them."""
    from app.winter.deadlines import deadline_fields

    if not households:
        return []
    now = utcnow()
    ids = [h.id for h in households]
    consents: dict[uuid.UUID, list[Consent]] = {}
    for c in (await session.execute(select(Consent).where(Consent.household_id.in_(ids)))).scalars():
        consents.setdefault(c.household_id, []).append(c)
    kinds = sensitive_kinds_visible(principal) if include_sensitive else frozenset()
    sensitive: dict[uuid.UUID, SensitiveOut] = {}
    if kinds:
        sec = security_or_default(security)
        rows = (
            await session.execute(select(HouseholdSensitive).where(HouseholdSensitive.household_id.in_(ids)))
        ).scalars()
        for row in rows:
            out = sensitive.setdefault(row.household_id, SensitiveOut())
            if row.kind == "rrn":
                out.rrn_on_file.append(row.member_key)
            elif row.kind in kinds:
                value = sec.decrypt(row.ciphertext, context=_sensitive_context(row.kind, row.household_id, ""))
                setattr(out, row.kind, value)
    views = []
    for h in households:
        views.append(
            HouseholdOut(
                id=h.id,
                version=h.version,
                district_code=h.district_code,
                dong_code=h.dong_code,
                address=h.address,
                address_detail=h.address_detail,
                head_name=h.head_name,
                contact_phone=h.contact_phone,
                members=[MemberOut.model_validate(m) for m in h.members or []],
                tags=list(h.tags or []),
                living_situation=h.living_situation,
                risk_level=h.risk_level,
                priority=h.priority,
                status=h.status,
                status_changed_at=h.status_changed_at,
                recurrence_at=h.recurrence_at,
                recurrence_count=h.recurrence_count,
                coordinator_id=h.coordinator_id,
                assessed_risk=h.assessed_risk,
                assessed_at=h.assessed_at,
                consent=consent_summary(consents.get(h.id, []), principal, now),
                contact_failures=h.contact_failures or 0,
                unreachable=h.unreachable_at is not None,
                unreachable_at=h.unreachable_at,
                next_contact_step=h.next_contact_step,  # type: ignore[arg-type]
                sensitive=(sensitive.get(h.id, SensitiveOut()) if kinds else None),
                **deadline_fields(h, now),  # app.winter: the intake's legal clock
                created_at=h.created_at,
                updated_at=h.updated_at,
            )
        )
    return views


async def reveal(
    session: AsyncSession, principal: Principal, security: Security, household: Household, body: RevealIn
) -> RevealOut:
    """Decrypt members' registration numbers for a coordinator, audited with the reason as purpose."""
    if not may_reveal_rrn(principal):
        raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "coordinator"})
    names = {str(m.get("key")): m.get("name") for m in household.members or []}
    wanted = list(dict.fromkeys(body.member_keys)) if body.member_keys is not None else list(names)
    errors = [
        (f"body.member_keys.{i}", "households.unknown-member", {"member": k})
        for i, k in enumerate(wanted)
        if k not in names
    ]
    if errors:
        raise validation_problem(errors)
    rows = {
        row.member_key: row
        for row in (
            await session.execute(
                select(HouseholdSensitive).where(
                    HouseholdSensitive.household_id == household.id, HouseholdSensitive.kind == "rrn"
                )
            )
        ).scalars()
    }
    members = []
    for key in wanted:
        row = rows.get(key)
        rrn = (
            security.decrypt(row.ciphertext, context=_sensitive_context("rrn", household.id, key))
            if row is not None
            else None
        )
        members.append(RevealedMember(key=key, name=str(names[key]) if names[key] else None, rrn=rrn))
    now = utcnow()
    await audit.record(
        session,
        principal,
        "household.reveal",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        purpose=body.reason,
        details={"members": len(members), "revealed": sum(1 for m in members if m.rrn is not None)},
    )
    return RevealOut(household_id=household.id, members=members, revealed_at=now)
