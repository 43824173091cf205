"""The households' query layer on its own (app.households.repository) and the decisions of app.access.households:
what the routes rely on, without HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from app.access import households as access
from app.core.principal import OrgKind, Principal, Role
from app.households.models import Household, HouseholdStatus, Signal, SignalSource
from app.households.repository import HouseholdRepository
from tests.support.factories import Factory, _add, make_household

DONG = "1199077701"


def _principal(role: Role, jurisdiction: tuple[str, ...] = ("11990",)) -> Principal:
    return Principal(
        user_id=uuid.uuid4(),
        username="u",
        role=role,
        organization_id=uuid.uuid4(),
        org_kind=OrgKind.private if role == Role.partner else OrgKind.public,
        jurisdiction=jurisdiction,
    )


async def test_triage_pages_by_priority_then_age_across_cursors(factory: Factory) -> None:
    """The one pager whose columns run both ways: priority highest first, then oldest first; every household
    once, whatever the page size."""
    made = []
    for priority in (5, 9, 5, 1, 9, 5):
        made.append(await make_household(factory, dong_code=DONG, priority=priority))
    closed = await make_household(factory, dong_code=DONG, priority=99, status=HouseholdStatus.closed)
    async with factory.maker() as session:
        repository = HouseholdRepository(session)
        stmt = repository.listing(Household.dong_code == DONG, open_only=True)
        seen: list[Household] = []
        cursor = None
        while True:
            rows, cursor = await repository.by_priority(stmt, limit=2, cursor=cursor)
            seen += rows
            if cursor is None:
                break
    assert closed.id not in {h.id for h in seen}
    expected = sorted(made, key=lambda h: (-h.priority, h.created_at, str(h.id)))
    assert [h.id for h in seen] == [h.id for h in expected]


async def test_records_of_a_household_newest_first(factory: Factory) -> None:
    household = await make_household(factory, dong_code=DONG)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    signals = [
        Signal(
            household_id=household.id,
            source=SignalSource.agency_referral,
            indicators=["power_cut"],
            observed_at=base + timedelta(days=i),
            external_ref=f"ref-{i}",
            details={},
            created_at=base + timedelta(days=i),
        )
        for i in range(3)
    ]
    await _add(factory, *signals)
    async with factory.maker() as session:
        repository = HouseholdRepository(session)
        first, cursor = await repository.records_of(Signal, household.id, limit=2, cursor=None)
        rest, end = await repository.records_of(Signal, household.id, limit=2, cursor=cursor)
        again = await repository.same_signal(
            household.id, SignalSource.agency_referral, "ref-1", base + timedelta(days=1)
        )
    assert [s.external_ref for s in first + rest] == ["ref-2", "ref-1", "ref-0"]
    assert end is None
    assert again is not None
    assert again.external_ref == "ref-1"


async def test_find_match_within_the_scope_only(factory: Factory) -> None:
    household = await make_household(factory, dong_code=DONG, match_key=f"key-{uuid.uuid4().hex}")
    async with factory.maker() as session:
        repository = HouseholdRepository(session)
        inside = await repository.find_match(household.match_key, access.match_scope(_principal(Role.coordinator)))
        outside = await repository.find_match(
            household.match_key, access.match_scope(_principal(Role.coordinator, ("11110",)))
        )
    assert inside is not None
    assert inside.id == household.id
    assert outside is None


def test_access_decisions_of_households() -> None:
    coordinator, planner, partner = (_principal(r) for r in (Role.coordinator, Role.planner, Role.partner))
    integration = _principal(Role.integration)
    assert access.may_edit_all_fields(planner)
    assert not access.may_edit_all_fields(partner)
    assert access.may_search_by_text(coordinator)
    assert not access.may_search_by_text(partner)
    assert access.coordinates_new_households(coordinator)
    assert not access.coordinates_new_households(planner)
    assert access.signal_author(planner) == planner.user_id
    assert access.signal_author(integration) is None
    assert access.may_place(coordinator, DONG)
    assert not access.may_place(coordinator, "1111051000")
    assert access.merges_by_area(_principal(Role.admin))
    assert not access.merges_by_area(coordinator)

    now = datetime.now(UTC)
    mine = SimpleNamespace(
        status="given",
        withdrawn_at=None,
        valid_from=now - timedelta(days=1),
        valid_until=None,
        recipient_kind="organization",
        recipient_organization_id=partner.organization_id,
        purposes=["follow_up"],
    )
    theirs = SimpleNamespace(**{**vars(mine), "recipient_organization_id": uuid.uuid4()})
    assert access.consents_shown(coordinator, [mine, theirs], now) == [mine, theirs]  # type: ignore[list-item]
    assert access.consents_shown(partner, [mine, theirs], now) == [mine]  # type: ignore[list-item]
