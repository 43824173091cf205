"""The visits' query layer on its own (app.visits.repository) and the decisions of app.access.visits and
app.access.facilities: what the routes rely on, without HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from app.access import facilities as facility_access
from app.access import visits as access
from app.core.principal import OrgKind, Principal, Role
from app.visits.models import Facility, Visit
from app.visits.repository import FacilityRepository, VisitRepository
from tests.support.factories import Factory, _add, make_household, make_visit

DONG = "1199077702"


def _principal(role: Role, jurisdiction: tuple[str, ...] = ("11990",)) -> Principal:
    return Principal(
        user_id=uuid.uuid4(),
        username="u",
        role=role,
        organization_id=uuid.uuid4(),
        org_kind=OrgKind.private if role == Role.partner else OrgKind.public,
        jurisdiction=jurisdiction,
    )


async def test_visits_page_by_window_start_across_cursors(factory: Factory) -> None:
    planner = await factory.user(Role.planner)
    household = await make_household(factory, dong_code=DONG)
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    made = []
    for hours in (5, 1, 3, 1, 4):
        at = start + timedelta(hours=hours)
        made.append(
            await make_visit(factory, household, [planner], window_start=at, window_end=at + timedelta(hours=1))
        )
    async with factory.maker() as session:
        repository = VisitRepository(session)
        stmt = repository.listing(Visit.dong_code == DONG, now=start, assignee_id=planner.id)
        seen: list[Visit] = []
        cursor = None
        while True:
            rows, cursor = await repository.by_window(stmt, limit=2, cursor=cursor)
            seen += rows
            if cursor is None:
                break
        hidden = await repository.all(
            repository.listing(Visit.dong_code == DONG, now=start, household_id=household.id, household_hidden=True)
        )
        team = await repository.active_assignee_ids(made[0].id)
    expected = sorted(made, key=lambda v: (v.window_start, str(v.id)))
    assert [v.id for v in seen] == [v.id for v in expected]
    assert hidden == []
    assert team == [planner.id]


async def test_facility_names_match_literally(factory: Factory) -> None:
    """A search for ``%`` or ``_`` finds names with that character, not every name."""
    names = ["온기 100% 센터", "온기 1000 센터", "온기_센터"]
    await _add(
        factory,
        *(
            Facility(name=n, kind="senior_center", district_code=DONG[:5], dong_code=DONG, address="온기로 1")
            for n in names
        ),
    )
    async with factory.maker() as session:
        repository = FacilityRepository(session)
        reach = Facility.dong_code == DONG
        percent = await repository.all(repository.listing(reach, name_contains="0%"))
        underscore = await repository.all(repository.listing(reach, name_contains="_"))
    assert [f.name for f in percent] == ["온기 100% 센터"]
    assert [f.name for f in underscore] == ["온기_센터"]


def test_access_decisions_of_visits_and_facilities() -> None:
    coordinator, planner, partner = (_principal(r) for r in (Role.coordinator, Role.planner, Role.partner))
    assert access.may_cancel(planner)
    assert not access.may_cancel(partner)
    assert access.sees_transition_locations(coordinator)
    assert not access.sees_transition_locations(partner)
    assert access.needs_partner_reach(partner)
    assert not access.needs_partner_reach(planner)
    assert access.may_schedule_in(planner, DONG)
    assert not access.may_schedule_in(planner, "1111051000")
    assert facility_access.may_place_facility(coordinator, DONG)
    assert not facility_access.may_place_facility(coordinator, "1111051000")

    org = SimpleNamespace(active=True, jurisdiction=["11990"])
    worker = SimpleNamespace(active=True, role=Role.partner)
    assert access.may_join_team(worker, org, DONG)
    assert not access.may_join_team(worker, org, "1111051000")
    assert not access.may_join_team(SimpleNamespace(active=True, role=Role.reporter), org, DONG)
    assert not access.may_join_team(worker, SimpleNamespace(active=False, jurisdiction=["11990"]), DONG)
