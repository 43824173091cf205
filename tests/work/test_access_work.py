"""The one eligible worker rule (app.access.work), as reassignment, the workload and an alert's duty planners ask it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from app.access import work
from app.core.principal import OrgKind, Role


def _user(role: Role, *, active: bool = True, codes: list[str] | None = None) -> Any:
    return SimpleNamespace(role=role, active=active, jurisdiction=codes)


def _org(kind: OrgKind = OrgKind.public, *, active: bool = True, codes: tuple[str, ...] = ("11110",)) -> Any:
    return SimpleNamespace(kind=kind, active=active, jurisdiction=list(codes))


def test_an_eligible_worker_covers_the_dong_by_their_own_codes_else_their_organizations() -> None:
    org = _org(codes=("11110",))
    assert work.may_take_work(_user(Role.planner), org, "1111051500")
    assert not work.may_take_work(_user(Role.planner), org, "1114051500")
    assert work.may_take_work(_user(Role.partner, codes=["11140"]), org, "1114051500")
    assert not work.may_take_work(_user(Role.partner, codes=["11140"]), org, "1111051500")


def test_inactive_people_organizations_and_other_roles_take_no_work() -> None:
    org = _org()
    assert not work.may_take_work(_user(Role.planner, active=False), org, "1111051500")
    assert not work.may_take_work(_user(Role.planner), _org(active=False), "1111051500")
    assert not work.may_take_work(_user(Role.reporter), org, "1111051500")
    assert not work.may_take_work(_user(Role.admin), org, "1111051500")


def test_a_duty_planner_is_an_eligible_planner_of_a_public_organization() -> None:
    assert work.may_be_duty_planner(_user(Role.planner), _org(), "1111051500")
    assert not work.may_be_duty_planner(_user(Role.coordinator), _org(), "1111051500")
    assert not work.may_be_duty_planner(_user(Role.planner), _org(OrgKind.private), "1111051500")
    assert not work.may_be_duty_planner(_user(Role.planner), _org(active=False), "1111051500")


def test_working_in_an_area_is_an_overlap_of_codes() -> None:
    org = _org(codes=("11110",))
    assert work.may_work_in(_user(Role.coordinator), org, ["1111051500"])
    assert work.may_work_in(_user(Role.coordinator), org, ["11"])
    assert not work.may_work_in(_user(Role.coordinator), org, ["11140"])
