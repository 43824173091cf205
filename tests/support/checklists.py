"""Helpers shared by the checklist and note tests. No tests here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from app.checklists.models import ChecklistTemplate
from app.checklists.templates import ensure_builtin_templates
from app.core.db import utcnow
from app.core.principal import OrgKind, Principal, Role
from app.core.uow import commit
from tests.support.factories import Actor, Factory

SCREENING = "lonely_death_screening"
SCORED = [
    "lives_alone",
    "no_family_contact",
    "no_social_activity",
    "no_neighbor_contact",
    "chronic_illness",
    "alcohol_problem",
    "skips_meals",
    "unsanitary_home",
    "unpaid_utilities",
    "no_stable_income",
    "low_mood",
    "recent_loss",
    "refuses_contact",
]


@dataclass
class Staff:
    coordinator: Actor
    planner: Actor
    planner2: Actor
    partner: Actor


async def staff(factory: Factory) -> Staff:
    public = await factory.org(OrgKind.public, ["11990"])
    private = await factory.org(OrgKind.private, ["11990"])
    return Staff(
        coordinator=await factory.actor(Role.coordinator, public),
        planner=await factory.actor(Role.planner, public),
        planner2=await factory.actor(Role.planner, public),
        partner=await factory.actor(Role.partner, private),
    )


def principal_of(actor: Actor) -> Principal:
    return Principal(
        user_id=actor.user.id,
        username=actor.user.username,
        role=actor.user.role,
        organization_id=actor.org.id,
        org_kind=actor.org.kind,
        jurisdiction=tuple(actor.user.jurisdiction or actor.org.jurisdiction),
    )


async def builtin_templates(factory: Factory) -> dict[str, ChecklistTemplate]:
    async with factory.maker() as s:
        rows = await ensure_builtin_templates(s)
        await commit(s)
    return {r.key: r for r in rows}


def screening_answers(n_true: int, **extra: Any) -> dict[str, Any]:
    """Every required item of the lonely-death screening answered, ``n_true`` scored items true."""
    answers: dict[str, Any] = {key: {"value": i < n_true} for i, key in enumerate(SCORED)}
    answers["emergency_contact_known"] = {"value": True}
    answers["visitor_opinion"] = {"value": "혼자 지내며 외부 교류가 거의 없음"}
    for key, value in extra.items():
        answers[key] = {"value": value}
    return answers


async def create_template(
    client: httpx.AsyncClient, actor: Actor, body: dict[str, Any], publish: bool = True
) -> dict[str, Any]:
    r = await client.post("/v1/checklist-templates", json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    data = r.json()
    if publish:
        r = await client.post(
            f"/v1/checklist-templates/{data['key']}/versions/{data['version']}/publish", headers=actor.headers
        )
        assert r.status_code == 200, r.text
        data = r.json()
    return data


def label(ko: str, en: str | None = None) -> dict[str, str]:
    return {"ko": ko, "en": en or ko}


def simple_template(key: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A small template exercising visibility and scoring."""
    body: dict[str, Any] = {
        "key": key or f"t_{uuid.uuid4().hex[:10]}",
        "title": label("간단 점검", "Simple check"),
        "items": [
            {
                "key": "lives_alone",
                "type": "boolean",
                "label": label("혼자 산다", "Lives alone"),
                "required": True,
                "weight": 2,
            },
            {
                "key": "years_alone",
                "type": "number",
                "label": label("기간", "Years"),
                "required": True,
                "min": 0,
                "visible_if": {"item": "lives_alone", "equals": True},
            },
            {
                "key": "contact",
                "type": "single_choice",
                "label": label("연락", "Contact"),
                "required": True,
                "options": [
                    {"value": "weekly", "label": label("매주", "Weekly")},
                    {"value": "monthly", "label": label("매월", "Monthly")},
                    {"value": "never", "label": label("없음", "Never")},
                ],
                "weight": {"monthly": 1, "never": 3},
            },
            {
                "key": "isolated_reason",
                "type": "text",
                "label": label("사유", "Reason"),
                "required": True,
                "visible_if": {
                    "all": [{"item": "lives_alone", "equals": True}, {"item": "contact", "equals": "never"}]
                },
            },
            {
                "key": "hazards",
                "type": "multi_choice",
                "label": label("위험", "Hazards"),
                "options": [
                    {"value": "fire", "label": label("화재", "Fire")},
                    {"value": "cold", "label": label("한파", "Cold")},
                ],
                "weight": {"fire": 2, "cold": 1},
                "visible_if": {"item": "years_alone", "gte": 1},
            },
            {"key": "seen_on", "type": "date", "label": label("확인일", "Seen on")},
            {"key": "photo", "type": "photo", "label": label("사진", "Photo")},
        ],
        "bands": [
            {"min": 0, "max": 2, "band": "ok", "label": label("양호", "OK")},
            {"min": 3, "max": 5, "band": "watch", "risk_level": "moderate"},
            {"min": 6, "band": "danger", "risk_level": "high", "label": label("위험", "Danger")},
        ],
    }
    body.update(overrides)
    return body


async def make_facility(factory: Factory, dong_code: str = "1199051000") -> Any:
    from app.visits.models import Facility

    facility = Facility(
        name="온기경로당", kind="senior_center", district_code=dong_code[:5], dong_code=dong_code, address="온기로 1"
    )
    async with factory.maker() as s:
        s.add(facility)
        await commit(s)
    return facility


async def make_facility_visit(factory: Factory, facility: Any, assignees: list[Any], **kw: Any) -> Any:
    from app.visits.models import Visit, VisitAssignee

    now = utcnow()
    visit = Visit(
        facility_id=facility.id,
        dong_code=facility.dong_code,
        purpose="safety_inspection",
        window_start=now - timedelta(hours=1),
        window_end=now + timedelta(hours=5),
        **kw,
    )
    async with factory.maker() as s:
        s.add(visit)
        await s.flush()
        s.add_all(
            [VisitAssignee(visit_id=visit.id, user_id=u.id, organization_id=u.organization_id) for u in assignees]
        )
        await commit(s)
    return visit


async def make_case(factory: Factory, household: Any, manager: Any, members: list[Any]) -> Any:
    from app.cases.models import Case, CaseMember

    now = utcnow()
    case = Case(
        household_id=household.id,
        dong_code=household.dong_code,
        manager_id=manager.id,
        stage_started_at=now,
        opened_at=now,
    )
    async with factory.maker() as s:
        s.add(case)
        await s.flush()
        s.add_all([CaseMember(case_id=case.id, user_id=u.id, organization_id=u.organization_id) for u in members])
        await commit(s)
    return case
