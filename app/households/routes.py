"""``/v1/households`` (and signals, consents, reveal, merges) and ``/v1/triage`` (``docs/architecture.md``).

Thin routes: the gate (:mod:`app.access.gates`), the household the caller may see
(:func:`app.access.policy.get_household_or_404`), the service, and the one view (:mod:`app.households.views`).
Every response that carries a household's personal data is audited: one event per household returned.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import gates, policy
from app.access import households as access
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import Forbidden, Problem, not_found
from app.core.http import check_if_match, set_etag
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.principal import Principal
from app.households import consent, duplicates, merge, search, sensitive, service
from app.households.lookup import readable_household
from app.households.models import Consent, HouseholdStatus, RiskLevel, Signal
from app.households.repository import HouseholdRepository
from app.households.schemas import (
    ConsentCreate,
    ConsentPublic,
    ConsentWithdraw,
    HouseholdBrief,
    HouseholdCreate,
    HouseholdPublic,
    HouseholdSearch,
    HouseholdUpdate,
    MergePublic,
    MergeRequest,
    RevealRequest,
    RevealResult,
    SignalAdded,
    SignalCreate,
    SignalPublic,
    UnmergeRequest,
    VulnerabilityTag,
)
from app.households.views import audited_views, household_views

router = APIRouter(tags=["households"])
router.include_router(duplicates.router)  # GET …/{id}/duplicates

NOT_FOUND: dict[str, Any] = {"description": "No such household, or not one the caller may see"}
PRECONDITION: dict[str, Any] = {"description": "If-Match names another version"}
MERGED: dict[str, Any] = {"description": "Merged into another household: problem `household-merged` with `merged_into`"}
VALIDATION: dict[str, Any] = {"description": "Invalid input: `errors` lists each field"}

DongQuery = Annotated[str | None, Query(pattern=r"^\d{2,10}$", description="District or dong code (prefix)")]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# --- merges --------------------------------------------------------------------------------------------------


_MERGED = {"description": "The household was already merged into another (`merged_into` names the survivor)"}


@router.post(
    "/v1/households/{household_id}/merge",
    response_model=MergePublic,
    summary="Merge this household into another (`into`); reversible for 30 days",
    responses={
        404: {"description": "No such household (either), or not one the caller may merge"},
        409: {"description": "A household whose personal data was destroyed"},
        410: _MERGED,
        422: {"description": "Invalid input (`into` is this household): `errors` lists each field"},
    },
)
async def merge_household(
    household_id: uuid.UUID, body: MergeRequest, principal: gates.Steward, state: StateDep, session: SessionDep
) -> MergePublic:
    record = await merge.merge(session, principal, household_id, body, security=state.security, state=state)
    return merge.merge_public(record)


@router.post(
    "/v1/households/{household_id}/unmerge",
    response_model=MergePublic,
    summary="Undo the merge of this (merged-away) household within 30 days: both households again",
    responses={
        404: {"description": "Not a merged household the caller may unmerge"},
        409: {"description": "The 30 days are over, or the survivor was merged away since (`merged_into`)"},
    },
)
async def unmerge_household(
    household_id: uuid.UUID, body: UnmergeRequest, principal: gates.Steward, state: StateDep, session: SessionDep
) -> MergePublic:
    return merge.merge_public(await merge.unmerge(session, principal, household_id, body, state=state))


# --- households ----------------------------------------------------------------------------------------------


@router.get(
    "/v1/households",
    response_model=Page[HouseholdPublic],
    summary="Households the caller reaches, with filters (search by text: POST /v1/households/search)",
    responses={
        400: {"description": "A search text in the URL (q): use POST /v1/households/search"},
        403: {"description": "Role may not read households"},
    },
)
async def list_households(
    principal: gates.HouseholdReaders,
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
) -> Page[HouseholdPublic]:
    if q is not None:  # names and addresses never travel in a URL (proxies and access logs keep URLs)
        raise Problem(400, "search-in-body", "households.search-in-body")
    filters = HouseholdSearch.model_construct(
        status=status, risk_level=risk_level, dong_code=dong_code, tag=tag, recurrence=recurrence
    )
    return await _list(session, principal, state, filters, None, limit=limit, cursor=cursor)


@router.post(
    "/v1/households/search",
    response_model=Page[HouseholdPublic],
    summary="Search households by name, address or phone (public staff), with the list's filters and paging",
    responses={
        403: {"description": "Role may not read households, or may not search by name/address"},
        422: VALIDATION,
    },
)
async def search_households(
    body: HouseholdSearch, principal: gates.HouseholdReaders, state: StateDep, session: SessionDep
) -> Page[HouseholdPublic]:
    if not access.may_search_by_text(principal):
        raise Forbidden("households.search-forbidden")
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
) -> Page[HouseholdPublic]:
    """The list and the search: one query, one access filter, one audit."""
    repository = HouseholdRepository(session)
    stmt = repository.listing(
        await policy.household_filter(session, principal),
        status=filters.status,
        risk_level=filters.risk_level,
        dong_code=filters.dong_code,
        tag=filters.tag,
        # names, phones and addresses by their normalized keys (app.households.search)
        search=search.search_clause(q) if q is not None else None,
        recurrence=filters.recurrence,
    )
    rows, next_cursor = await repository.by_created(stmt, limit=limit, cursor=cursor)
    items = await audited_views(session, principal, rows, security=state.security)
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/v1/households",
    response_model=duplicates.HouseholdCreated,
    status_code=201,
    summary="Register a household in the caller's jurisdiction (answers the households it may duplicate)",
    responses={422: VALIDATION},
)
async def create_household(
    body: HouseholdCreate, principal: gates.PublicStaff, state: StateDep, session: SessionDep, response: Response
) -> duplicates.HouseholdCreated:
    household = await service.create_household(session, principal, state.security, body)
    await session.flush()
    view = (await household_views(session, principal, [household], security=state.security, include_sensitive=True))[0]
    candidates = await duplicates.duplicates_of(session, principal, household)
    found = await duplicates.duplicate_views(session, principal, state, candidates, via="duplicates")
    set_etag(response, household.version)
    response.headers["Location"] = f"/v1/households/{household.id}"
    return duplicates.HouseholdCreated(**view.model_dump(), duplicates=found)


@router.get(
    "/v1/households/{household_id}",
    response_model=HouseholdPublic,
    summary="One household (redacted for the caller's role)",
    responses={404: NOT_FOUND, 410: MERGED},
)
async def get_household(
    household_id: uuid.UUID,
    principal: gates.HouseholdReaders,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> HouseholdPublic:
    household = await readable_household(session, principal, household_id)
    view = (await audited_views(session, principal, [household], security=state.security, include_sensitive=True))[0]
    set_etag(response, household.version)
    return view


@router.patch(
    "/v1/households/{household_id}",
    response_model=HouseholdPublic,
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
    body: HouseholdUpdate,
    request: Request,
    principal: gates.FieldStaff,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> HouseholdPublic:
    household = await readable_household(session, principal, household_id)
    check_if_match(request, household.version)
    household = await service.update_household(session, principal, state.security, household, body)
    await session.flush()
    view = (await household_views(session, principal, [household], security=state.security, include_sensitive=True))[0]
    set_etag(response, household.version)
    return view


# --- signals -------------------------------------------------------------------------------------------------


@router.get(
    "/v1/households/{household_id}/signals",
    response_model=Page[SignalPublic],
    summary="How the household came to attention (newest first)",
    responses={404: NOT_FOUND},
)
async def list_signals(
    household_id: uuid.UUID,
    principal: gates.PublicHouseholdReaders,
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[SignalPublic]:
    household = await readable_household(session, principal, household_id)
    rows, next_cursor = await service.records_page(
        session, principal, household, Signal, "household.signal.read", limit=limit, cursor=cursor
    )
    return Page(items=[SignalPublic.model_validate(s) for s in rows], next_cursor=next_cursor)


@router.post(
    "/v1/households/{household_id}/signals",
    response_model=SignalAdded,
    status_code=201,
    summary="Add a signal (recomputes risk; reopens a closed household as a recurrence)",
    responses={404: NOT_FOUND, 422: VALIDATION},
)
async def add_signal(
    household_id: uuid.UUID, body: SignalCreate, principal: gates.PublicStaff, session: SessionDep
) -> SignalAdded:
    household = await readable_household(session, principal, household_id)
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
        signal=SignalPublic.model_validate(signal),
        household=HouseholdBrief.model_validate(household, from_attributes=True),
    )


# --- consents ------------------------------------------------------------------------------------------------


@router.get(
    "/v1/households/{household_id}/consents",
    response_model=Page[ConsentPublic],
    summary="Consent records of a household (given, refused, withdrawn)",
    responses={404: NOT_FOUND},
)
async def list_consents(
    household_id: uuid.UUID,
    principal: gates.PublicStaff,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ConsentPublic]:
    household = await readable_household(session, principal, household_id)
    rows, next_cursor = await service.records_page(
        session, principal, household, Consent, "household.consent.read", limit=limit, cursor=cursor
    )
    now = utcnow()
    forms = await consent.forms_of(session, [c.id for c in rows])
    return Page(items=[consent.consent_public(c, now, forms.get(c.id)) for c in rows], next_cursor=next_cursor)


@router.post(
    "/v1/households/{household_id}/consents",
    response_model=ConsentPublic,
    status_code=201,
    summary="Record a consent (given or refused) for an organization or all partners",
    responses={404: NOT_FOUND, 422: VALIDATION},
)
async def record_consent(
    household_id: uuid.UUID, body: ConsentCreate, principal: gates.PublicStaff, session: SessionDep, response: Response
) -> ConsentPublic:
    household = await readable_household(session, principal, household_id)
    record = await consent.record_consent(session, principal, household, body)
    set_etag(response, record.version)
    return consent.consent_public(record, utcnow())


@router.post(
    "/v1/households/{household_id}/consents/{consent_id}/withdraw",
    response_model=ConsentPublic,
    summary="Withdraw a consent: partners lose access at once, phones are told to purge",
    responses={404: NOT_FOUND, 409: {"description": "Already withdrawn, or a refusal"}, 412: PRECONDITION},
)
async def withdraw_consent(
    household_id: uuid.UUID,
    consent_id: uuid.UUID,
    body: ConsentWithdraw,
    request: Request,
    principal: gates.PublicStaff,
    session: SessionDep,
    response: Response,
) -> ConsentPublic:
    household = await readable_household(session, principal, household_id)
    record = await session.get(Consent, consent_id)
    if record is None or record.household_id != household.id:
        raise not_found()
    check_if_match(request, record.version)
    record = await consent.withdraw_consent(session, principal, household, record, body.reason)
    await session.flush()
    set_etag(response, record.version)
    return consent.consent_public(record, utcnow(), (await consent.forms_of(session, [record.id])).get(record.id))


# --- reveal --------------------------------------------------------------------------------------------------


@router.post(
    "/v1/households/{household_id}/reveal",
    response_model=RevealResult,
    summary="Reveal members' registration numbers (coordinators; the reason is audited)",
    responses={404: NOT_FOUND, 422: VALIDATION},
)
async def reveal(
    household_id: uuid.UUID,
    body: RevealRequest,
    principal: gates.Coordinator,
    state: StateDep,
    session: SessionDep,
    response: Response,
) -> RevealResult:
    household = await readable_household(session, principal, household_id)
    response.headers.update(_NO_STORE)
    return await sensitive.reveal(session, principal, state.security, household, body)


# --- triage --------------------------------------------------------------------------------------------------


@router.get(
    "/v1/triage",
    response_model=Page[HouseholdPublic],
    summary="The triage queue: open households of the jurisdiction by priority",
)
async def triage_queue(
    principal: gates.PublicStaff,
    state: StateDep,
    session: SessionDep,
    status: HouseholdStatus | None = None,
    risk_level: RiskLevel | None = None,
    dong_code: DongQuery = None,
    recurrence: Annotated[bool | None, Query(description="Only households flagged as recurred")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[HouseholdPublic]:
    repository = HouseholdRepository(session)
    stmt = repository.listing(
        await policy.household_filter(session, principal),
        open_only=True,
        status=status,
        risk_level=risk_level,
        dong_code=dong_code,
        recurrence=recurrence,
    )
    rows, next_cursor = await repository.by_priority(stmt, limit=limit, cursor=cursor)
    items = await audited_views(session, principal, rows, security=state.security, via="triage")
    return Page(items=items, next_cursor=next_cursor)
