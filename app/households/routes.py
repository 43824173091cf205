"""``/v1/households`` (and signals, consents, reveal) and ``/v1/triage`` (DESIGN §2, §3.2, §7.1).

Every response that carries a household's personal data is audited: one event per household returned.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import PUBLIC_STAFF, get_household_or_404, household_filter, role_gate
from app.audit import service as audit
from app.auth.models import Role
from app.auth.principal import Principal
from app.core.deps import SessionDep, StateDep
from app.core.errors import Problem, not_found
from app.core.etag import check_if_match, set_etag
from app.core.pagination import (
    CursorQuery,
    LimitQuery,
    Page,
    cursor_int,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    keyset_page,
)
from app.households import duplicates, merge, search, service
from app.households.models import Consent, Household, HouseholdStatus, RiskLevel, Signal
from app.households.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentWithdraw,
    HouseholdBrief,
    HouseholdCreate,
    HouseholdOut,
    HouseholdPatch,
    HouseholdSearch,
    RevealIn,
    RevealOut,
    SignalAdded,
    SignalIn,
    SignalOut,
    VulnerabilityTag,
)

router = APIRouter(tags=["households"])
router.include_router(duplicates.router)  # GET …/{id}/duplicates
router.include_router(merge.router)  # POST …/{id}/merge, …/{id}/unmerge

NOT_FOUND: dict[str, Any] = {"description": "No such household, or not one the caller may see"}
PRECONDITION: dict[str, Any] = {"description": "If-Match names another version"}
MERGED: dict[str, Any] = {"description": "Merged into another household: problem `household-merged` with `merged_into`"}
VALIDATION: dict[str, Any] = {"description": "Invalid input: `errors` lists each field"}

ReadHouseholds = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="households:read"))
]
EditHouseholds = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner))]
Staff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner))]
StaffOrReader = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, scope="households:read"))]
Coordinator = Annotated[Principal, Depends(role_gate(Role.coordinator))]

DongQuery = Annotated[str | None, Query(pattern=r"^\d{2,10}$", description="District or dong code (prefix)")]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def _views_audited(
    session: Any,
    principal: Principal,
    households: list[Household],
    state: Any,
    *,
    include_sensitive: bool = False,
    via: str | None = None,
) -> list[HouseholdOut]:
    views = await service.household_views(
        session, principal, households, security=state.security, include_sensitive=include_sensitive
    )
    await audit.record_many(
        session,
        principal,
        "household.read",
        entity="household",
        items=[(h.id, h.id) for h in households],
        details={"via": via} if via else None,
    )
    return views


@router.get(
    "/v1/households",
    response_model=Page[HouseholdOut],
    summary="Households the caller reaches, with filters (search by text: POST /v1/households/search)",
    responses={
        400: {"description": "A search text in the URL (q): use POST /v1/households/search"},
        403: {"description": "Role may not read households"},
    },
)
async def list_households(
    principal: ReadHouseholds,
    state: StateDep,
    session: SessionDep,
    status: HouseholdStatus | None = None,
    risk_level: RiskLevel | None = None,
    dong_code: DongQuery = None,
    tag: VulnerabilityTag | None = None,  # type: ignore[valid-type]
    recurrence: Annotated[bool | None, Query(description="Only households flagged as recurred")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    q: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> Page[HouseholdOut]:
    if q is not None:  # names and addresses never travel in a URL (proxies and access logs keep URLs)
        raise Problem(400, "search-in-body", "households.search-in-body")
    filters = HouseholdSearch.model_construct(
        status=status, risk_level=risk_level, dong_code=dong_code, tag=tag, recurrence=recurrence
    )
    return await _list(session, principal, state, filters, None, limit=limit, cursor=cursor)


@router.post(
    "/v1/households/search",
    response_model=Page[HouseholdOut],
    summary="Search households by name, address or phone (public staff), with the list's filters and paging",
    responses={
        403: {"description": "Role may not read households, or may not search by name/address"},
        422: VALIDATION,
    },
)
async def search_households(
    body: HouseholdSearch, principal: ReadHouseholds, state: StateDep, session: SessionDep
) -> Page[HouseholdOut]:
    if principal.role not in PUBLIC_STAFF:
        raise Problem(403, "forbidden", "households.search-forbidden")
    return await _list(session, principal, state, body, body.q, limit=body.limit, cursor=body.cursor)


async def _list(
    session: AsyncSession,
    principal: Principal,
    state: Any,
    filters: HouseholdSearch,
    q: str | None,
    *,
    limit: int,
    cursor: str | None,
) -> Page[HouseholdOut]:
    """The list and the search: one query, one access filter, one audit."""
    stmt = select(Household).where(await household_filter(session, principal))
    if filters.status is not None:
        stmt = stmt.where(Household.status == filters.status)
    if filters.risk_level is not None:
        stmt = stmt.where(Household.risk_level == filters.risk_level)
    if filters.dong_code is not None:
        stmt = stmt.where(Household.dong_code.like(f"{filters.dong_code}%"))
    if filters.tag is not None:
        stmt = stmt.where(_tag_clause(filters.tag))
    if q is not None:  # names, phones and addresses by their normalized keys (app.households.search)
        stmt = stmt.where(search.search_clause(q))
    if filters.recurrence is not None:
        stmt = stmt.where(
            Household.recurrence_at.is_not(None) if filters.recurrence else Household.recurrence_at.is_(None)
        )
    rows, next_cursor = await keyset_page(
        session, stmt, created_col=Household.created_at, id_col=Household.id, limit=limit, cursor=cursor
    )
    return Page(items=await _views_audited(session, principal, rows, state), next_cursor=next_cursor)


def _tag_clause(tag: str) -> Any:
    from sqlalchemy import String, cast

    # Tags come from a fixed vocabulary (validated), so a text match on the JSON array is exact.
    return cast(Household.tags, String).like(f'%"{tag}"%')


@router.post(
    "/v1/households",
    response_model=duplicates.HouseholdCreated,
    status_code=201,
    summary="Register a household in the caller's jurisdiction (answers the households it may duplicate)",
    responses={422: VALIDATION},
)
async def create_household(
    body: HouseholdCreate, principal: Staff, state: StateDep, session: SessionDep, response: Response
) -> duplicates.HouseholdCreated:
    household = await service.create_household(session, principal, state.security, body)
    await session.flush()
    view = (
        await service.household_views(session, principal, [household], security=state.security, include_sensitive=True)
    )[0]
    candidates = await duplicates.duplicates_of(session, principal, household)
    found = await duplicates.duplicate_views(session, principal, state, candidates, via="duplicates")
    set_etag(response, household.version)
    response.headers["Location"] = f"/v1/households/{household.id}"
    return duplicates.HouseholdCreated(**view.model_dump(), duplicates=found)


@router.get(
    "/v1/households/{household_id}",
    response_model=HouseholdOut,
    summary="One household (redacted for the caller's role)",
    responses={404: NOT_FOUND, 410: MERGED},
)
async def get_household(
    household_id: uuid.UUID, principal: ReadHouseholds, state: StateDep, session: SessionDep, response: Response
) -> HouseholdOut:
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    view = (await _views_audited(session, principal, [household], state, include_sensitive=True))[0]
    set_etag(response, household.version)
    return view


@router.patch(
    "/v1/households/{household_id}",
    response_model=HouseholdOut,
    summary="Change a household (If-Match); partners may correct contact and living situation only",
    responses={
        404: NOT_FOUND,
        409: {"description": "Status change not allowed"},
        410: MERGED,
        412: PRECONDITION,
        422: VALIDATION,
    },
)
async def patch_household(
    household_id: uuid.UUID,
    body: HouseholdPatch,
    request: Request,
    principal: EditHouseholds,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> HouseholdOut:
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    check_if_match(request, household.version)
    household = await service.update_household(session, principal, state.security, household, body)
    await session.flush()
    view = (
        await service.household_views(session, principal, [household], security=state.security, include_sensitive=True)
    )[0]
    set_etag(response, household.version)
    return view


# --- signals -------------------------------------------------------------------------------------------------


async def _household_records(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID,
    model: Any,
    action: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """A page of one household's ``model`` rows (newest first), the read audited as ``action``."""
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    rows, next_cursor = await keyset_page(
        session,
        select(model).where(model.household_id == household.id),
        created_col=model.created_at,
        id_col=model.id,
        limit=limit,
        cursor=cursor,
        descending=True,
    )
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


@router.get(
    "/v1/households/{household_id}/signals",
    response_model=Page[SignalOut],
    summary="How the household came to attention (newest first)",
    responses={404: NOT_FOUND},
)
async def list_signals(
    household_id: uuid.UUID,
    principal: StaffOrReader,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[SignalOut]:
    rows, next_cursor = await _household_records(
        session, principal, household_id, Signal, "household.signal.read", limit, cursor
    )
    return Page(items=[SignalOut.model_validate(s) for s in rows], next_cursor=next_cursor)


@router.post(
    "/v1/households/{household_id}/signals",
    response_model=SignalAdded,
    status_code=201,
    summary="Add a signal (recomputes risk; reopens a closed household as a recurrence)",
    responses={404: NOT_FOUND, 422: VALIDATION},
)
async def add_signal(household_id: uuid.UUID, body: SignalIn, principal: Staff, session: SessionDep) -> SignalAdded:
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    signal, outcome = await service.add_signal(
        session,
        principal,
        household,
        source=body.source,
        indicators=list(body.indicators),
        observed_at=body.observed_at,
        external_ref=body.external_ref,
        details=body.details,
    )
    await session.flush()
    return SignalAdded(
        outcome=outcome,
        signal=SignalOut.model_validate(signal),
        household=HouseholdBrief.model_validate(household, from_attributes=True),
    )


# --- consents ------------------------------------------------------------------------------------------------


def _consent_out(consent: Consent, now: datetime, form: Any = None) -> ConsentOut:
    from app.access.policy import consent_in_force

    out = ConsentOut.model_validate(consent)
    out.in_force = consent_in_force(consent, now)
    out.form = form
    return out


@router.get(
    "/v1/households/{household_id}/consents",
    response_model=Page[ConsentOut],
    summary="Consent records of a household (given, refused, withdrawn)",
    responses={404: NOT_FOUND},
)
async def list_consents(
    household_id: uuid.UUID,
    principal: Staff,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ConsentOut]:
    from app.core.db import utcnow

    rows, next_cursor = await _household_records(
        session, principal, household_id, Consent, "household.consent.read", limit, cursor
    )
    from app.consentforms.service import forms_of

    now = utcnow()
    forms = await forms_of(session, [c.id for c in rows])
    return Page(items=[_consent_out(c, now, forms.get(c.id)) for c in rows], next_cursor=next_cursor)


@router.post(
    "/v1/households/{household_id}/consents",
    response_model=ConsentOut,
    status_code=201,
    summary="Record a consent (given or refused) for an organization or all partners",
    responses={404: NOT_FOUND, 422: VALIDATION},
)
async def record_consent(
    household_id: uuid.UUID, body: ConsentIn, principal: Staff, session: SessionDep, response: Response
) -> ConsentOut:
    from app.core.db import utcnow

    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    consent = await service.record_consent(session, principal, household, body)
    set_etag(response, consent.version)
    return _consent_out(consent, utcnow())


@router.post(
    "/v1/households/{household_id}/consents/{consent_id}/withdraw",
    response_model=ConsentOut,
    summary="Withdraw a consent: partners lose access at once, phones are told to purge",
    responses={404: NOT_FOUND, 409: {"description": "Already withdrawn, or a refusal"}, 412: PRECONDITION},
)
async def withdraw_consent(
    household_id: uuid.UUID,
    consent_id: uuid.UUID,
    body: ConsentWithdraw,
    request: Request,
    principal: Staff,
    session: SessionDep,
    response: Response,
) -> ConsentOut:
    from app.core.db import utcnow

    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    consent = await session.get(Consent, consent_id)
    if consent is None or consent.household_id != household.id:
        raise not_found()
    check_if_match(request, consent.version)
    consent = await service.withdraw_consent(session, principal, household, consent, body.reason)
    await session.flush()
    set_etag(response, consent.version)
    from app.consentforms.service import forms_of

    return _consent_out(consent, utcnow(), (await forms_of(session, [consent.id])).get(consent.id))


# --- reveal --------------------------------------------------------------------------------------------------


@router.post(
    "/v1/households/{household_id}/reveal",
    response_model=RevealOut,
    summary="Reveal members' registration numbers (coordinators; the reason is audited)",
    responses={404: NOT_FOUND, 422: VALIDATION},
)
async def reveal(
    household_id: uuid.UUID,
    body: RevealIn,
    principal: Coordinator,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> RevealOut:
    household = await get_household_or_404(session, principal, household_id, record_denied=True)
    response.headers.update(_NO_STORE)
    return await service.reveal(session, principal, state.security, household, body)


# --- triage --------------------------------------------------------------------------------------------------


@router.get(
    "/v1/triage",
    response_model=Page[HouseholdOut],
    summary="The triage queue: open households of the jurisdiction by priority",
)
async def triage_queue(
    principal: Staff,
    state: StateDep,
    session: SessionDep,
    status: HouseholdStatus | None = None,
    risk_level: RiskLevel | None = None,
    dong_code: DongQuery = None,
    recurrence: Annotated[bool | None, Query(description="Only households flagged as recurred")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[HouseholdOut]:
    stmt = select(Household).where(
        await household_filter(session, principal), Household.status != HouseholdStatus.closed
    )
    if status is not None:
        stmt = stmt.where(Household.status == status)
    if risk_level is not None:
        stmt = stmt.where(Household.risk_level == risk_level)
    if dong_code is not None:
        stmt = stmt.where(Household.dong_code.like(f"{dong_code}%"))
    if recurrence is not None:
        stmt = stmt.where(Household.recurrence_at.is_not(None) if recurrence else Household.recurrence_at.is_(None))
    if cursor:
        raw = decode_cursor(cursor)
        try:
            c_priority, c_at, c_id = cursor_int(raw[0]), datetime.fromisoformat(raw[1]), uuid.UUID(raw[2])
        except (ValueError, IndexError, TypeError) as exc:
            raise invalid_cursor() from exc
        stmt = stmt.where(
            or_(
                Household.priority < c_priority,
                and_(
                    Household.priority == c_priority,
                    or_(
                        Household.created_at > c_at,
                        and_(Household.created_at == c_at, Household.id > c_id),
                    ),
                ),
            )
        )
    stmt = stmt.order_by(Household.priority.desc(), Household.created_at.asc(), Household.id.asc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.priority, last.created_at, last.id])
    return Page(items=await _views_audited(session, principal, rows, state, via="triage"), next_cursor=next_cursor)
