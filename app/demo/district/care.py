"""Case work (docs/care.md): the resources catalogue, integrated cases with their stages and teams,
supports with their ledger history, and the monitoring plans that follow a closed case or a provided support."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from app.cases.models import CASE_CLOSED_STAGES, Case, CaseMember, CaseStage, CaseStageChange
from app.cases.service import recompute_due
from app.demo import names
from app.demo.district.rows import pick
from app.demo.district.state import DistrictState
from app.demo.seed import DISTRICT
from app.monitoring.models import MonitoringPlan
from app.resources.models import Resource
from app.supports.models import Support, SupportHistory

RESOURCES = (
    # name, kind, category, provider ("public" or private org index), capacity, default amount, eligibility
    (
        "긴급복지지원 생계지원",
        "public_benefit",
        "emergency_welfare",
        "public",
        None,
        1_832_000,
        "위기사유 발생, 기준중위소득 75% 이하",
    ),
    (
        "긴급복지지원 의료지원",
        "public_benefit",
        "emergency_welfare",
        "public",
        None,
        3_000_000,
        "중한 질병·부상, 기준중위소득 75% 이하",
    ),
    (
        "국민기초생활보장 생계급여",
        "public_benefit",
        "basic_livelihood",
        "public",
        None,
        765_444,
        "기준중위소득 32% 이하",
    ),
    ("의료급여", "public_benefit", "medical_aid", "public", None, None, "기초생활보장 수급자 등"),
    (
        "에너지바우처",
        "public_benefit",
        "energy_voucher",
        "public",
        None,
        304_000,
        "생계·의료급여 수급 가구 중 노인·장애인·영유아 등 포함",
    ),
    ("주거급여", "public_benefit", "housing_benefit", "public", None, 341_000, "기준중위소득 48% 이하"),
    ("노인맞춤돌봄서비스", "public_benefit", "care_service", "public", 120, None, "65세 이상 독거·취약 노인"),
    ("국민취업지원제도", "public_benefit", "employment", "public", None, 500_000, "15~69세 구직자, 소득 요건"),
    ("푸드뱅크 식료품 꾸러미", "private_resource", "food_bank", 3, 400, 50_000, "결식 우려 가구"),
    ("겨울철 난방유 지원", "private_resource", "heating_fuel", 1, 150, 300_000, "난방 취약 가구"),
    ("사랑의 연탄 나눔", "private_resource", "heating_fuel", 0, 200, 240_000, "연탄 사용 가구"),
    ("저소득 의료비 지원", "private_resource", "medical_expense", 0, 40, 1_000_000, "의료비 부담 가구, 사례회의 결정"),
    ("생활용품·방한용품 지원", "private_resource", "living_support", 0, 300, 100_000, "생활 위기 가구"),
    ("장애인 가구 생계비 지원", "private_resource", "living_support", 2, 60, 500_000, "장애인 가구"),
    ("자활 직업훈련", "private_resource", "education_training", 4, 50, None, "근로 능력 있는 저소득층"),
    ("주거환경 개선 (도배·장판)", "private_resource", "housing_repair", 0, 30, 1_500_000, "노후·위험 주거"),
)


class CareRows(DistrictState):
    def resources(self) -> None:
        g, rng = self.g, self.rng
        self.resource_rows = []
        staffed = [o for o in self.partner_orgs if self.org_staff.get(o)]
        for name, kind, category, provider, capacity, amount, eligibility in RESOURCES:
            if provider == "public":
                provider_id = self.public_org
            else:
                provider_id = self.partner_orgs[int(provider) % len(self.partner_orgs)]
                if provider_id not in staffed:
                    provider_id = staffed[int(provider) % len(staffed)]
            self.resource_rows.append(
                g.t.add(
                    Resource,
                    {
                        **g.base(g.anchor - timedelta(days=rng.randrange(200, 500))),
                        "name": name,
                        "kind": kind,
                        "category": category,
                        "description": None,
                        "provider_organization_id": provider_id,
                        "district_code": DISTRICT,
                        "eligibility": eligibility,
                        "capacity": capacity,
                        "remaining": capacity,
                        "unit": "household",
                        "default_amount": amount,
                        "contact": names.fake_office_phone(rng),
                        "active": True,
                        "created_by_id": self.coordinator,
                        "deleted_at": None,
                    },
                )
            )

    def cases_(self) -> None:
        g, rng = self.g, self.rng
        with_partner = [h for h in self.households if h.get("_partner_orgs") and self.consented.get(h["id"])]
        chosen = {h["id"] for h in with_partner}
        others = [h for h in self.households if h["_engaged"] and h["id"] not in chosen]
        pool = with_partner[: self.spec.cases] + others
        stages = (
            (CaseStage.intake, 10),
            (CaseStage.assessment, 15),
            (CaseStage.conference, 10),
            (CaseStage.planning, 10),
            (CaseStage.service, 25),
            (CaseStage.monitoring, 10),
            (CaseStage.closed, 15),
            (CaseStage.follow_up, 5),
        )
        order = list(CaseStage)
        for household in pool[: self.spec.cases]:
            d = household["_dong_index"]
            stage = pick(rng, stages)
            opened = g.anchor - timedelta(days=rng.randrange(2, 150), hours=rng.randrange(10))
            manager = self.dong_of_user_planner(d)
            case = Case(
                household_id=household["id"],
                dong_code=household["dong_code"],
                manager_id=manager,
                stage=stage,
                stage_started_at=opened,
                opened_at=opened,
            )
            reached = order.index(stage)
            moments: list[tuple[CaseStage, datetime]] = [(CaseStage.intake, opened)]
            at = opened
            for step in order[1 : reached + 1]:
                at = g.before_anchor(at + timedelta(days=rng.randrange(1, 12), hours=rng.randrange(8)))
                moments.append((step, at))
            done = dict(moments)
            case.assessment_done_at = done.get(CaseStage.conference)
            case.conference_done_at = done.get(CaseStage.planning)
            case.plan_done_at = done.get(CaseStage.service)
            case.stage_started_at = moments[-1][1]
            if stage in CASE_CLOSED_STAGES:
                case.closed_at = done[CaseStage.closed]
                case.close_reason = rng.choice(("욕구 해소", "타 기관 이관", "전출", "본인 거부"))
            recompute_due(case)
            row = {
                **g.base(opened),
                "household_id": household["id"],
                "dong_code": household["dong_code"],
                "manager_id": manager,
                "stage": stage.value,
                "stage_started_at": case.stage_started_at,
                "opened_at": opened,
                "closed_at": case.closed_at,
                "close_reason": case.close_reason,
                "goals": [
                    {"key": "g1", "text": "생계 안정", "status": "open", "due_on": None},
                    {
                        "key": "g2",
                        "text": rng.choice(("난방비 부담 해소", "의료 지원 연계", "사회적 관계 회복")),
                        "status": "open",
                        "due_on": None,
                    },
                ],
                "summary": household["living_situation"],
                "assessment_due_on": case.assessment_due_on,
                "conference_due_on": case.conference_due_on,
                "plan_due_on": case.plan_due_on,
                "assessment_done_at": case.assessment_done_at,
                "conference_done_at": case.conference_done_at,
                "plan_done_at": case.plan_done_at,
                "next_due_on": case.next_due_on,
                "created_by_id": manager,
                "deleted_at": None,
                "updated_at": moments[-1][1],
            }
            g.t.add(Case, row)
            self.cases.append(row)
            team = [manager]
            partner_orgs = sorted(self.consented.get(household["id"], set()), key=str)
            partner_staff = [p for p in self.partners if self.user_org[p] in partner_orgs]
            members = [(manager, "manager")]
            if partner_staff:
                partner = rng.choice(partner_staff)
                members.append((partner, "복지관 사례관리"))
                team.append(partner)
            self.case_team[row["id"]] = team
            for user_id, note in members:
                private = self.user_org[user_id] in self.partner_orgs
                g.t.add(
                    CaseMember,
                    {
                        **g.base(opened),
                        "case_id": row["id"],
                        "user_id": user_id,
                        "organization_id": self.user_org[user_id],
                        "ended_at": case.closed_at if private else None,
                        "role_note": note,
                    },
                )
            previous: str | None = None
            for step, moment in moments:
                g.t.add(
                    CaseStageChange,
                    {
                        **g.base(moment),
                        "case_id": row["id"],
                        "from_stage": previous,
                        "to_stage": step.value,
                        "actor_id": manager,
                        "at": moment,
                        "reason": None,
                    },
                )
                previous = step.value
            if case.closed_at is not None:
                self._plan(household, manager, "case_closure", case.closed_at, case_id=row["id"])

    def supports_(self) -> None:
        g, rng = self.g, self.rng
        engaged = [h for h in self.households if h["_engaged"] and self.household_visits.get(h["id"])]
        used: set[tuple[uuid.UUID, uuid.UUID]] = set()
        taken: dict[uuid.UUID, int] = defaultdict(int)
        statuses = (("proposed", 10), ("requested", 15), ("approved", 15), ("provided", 50), ("declined", 10))
        flow = ("proposed", "requested", "approved", "provided")
        for _ in range(self.spec.supports):
            household = rng.choice(engaged)
            resource = rng.choice(self.resource_rows)
            if (household["id"], resource["id"]) in used:
                continue
            used.add((household["id"], resource["id"]))
            d = household["_dong_index"]
            status = pick(rng, statuses)
            if status == "declined":
                path = [*flow[: rng.randrange(1, 4)], "declined"]
            else:
                path = list(flow[: flow.index(status) + 1])
            visits = self.household_visits[household["id"]]
            start = g.anchor - timedelta(days=rng.randrange(1, 300))
            proposer = self.dong_of_user_planner(d)
            public = resource["kind"] == "public_benefit"
            decider = self.coordinator if public else rng.choice(self.org_staff[resource["provider_organization_id"]])
            moments: list[tuple[str, datetime]] = []
            at = start
            for step in path:
                moments.append((step, g.before_anchor(at)))
                at = at + timedelta(days=rng.randrange(1, 8), hours=rng.randrange(8))
            times = dict(moments)
            capacity_taken = resource["capacity"] is not None and "approved" in times and status != "declined"
            if capacity_taken:
                taken[resource["id"]] += 1
            period_start = times.get("approved", start).astimezone(g.tz).date()
            row = g.t.add(
                Support,
                {
                    **g.base(start),
                    "household_id": household["id"],
                    "resource_id": resource["id"],
                    "case_id": None,
                    "visit_id": rng.choice(visits)["id"] if visits and rng.random() < 0.5 else None,
                    "district_code": DISTRICT,
                    "dong_code": household["dong_code"],
                    "status": status,
                    "amount": resource["default_amount"],
                    "period_start": period_start if "approved" in times else None,
                    "period_end": period_start + timedelta(days=rng.choice((30, 90, 180)))
                    if "approved" in times
                    else None,
                    "provider_organization_id": resource["provider_organization_id"],
                    "reason": rng.choice(names.CONSULTATIONS),
                    "proposed_by_id": proposer,
                    "status_changed_at": moments[-1][1],
                    "requested_at": times.get("requested"),
                    "approved_at": times.get("approved"),
                    "approved_by_id": decider if "approved" in times else None,
                    "provided_at": times.get("provided"),
                    "declined_at": times.get("declined"),
                    "decline_reason": "지원 기준 미충족" if status == "declined" else None,
                    "capacity_taken": capacity_taken,
                    "deleted_at": None,
                    "updated_at": moments[-1][1],
                },
            )
            previous: str | None = None
            for step, moment in moments:
                actor = proposer if step in ("proposed", "requested") else decider
                g.t.add(
                    SupportHistory,
                    {
                        **g.base(moment),
                        "support_id": row["id"],
                        "from_status": previous,
                        "to_status": step,
                        "actor_id": actor,
                        "at": moment,
                        "reason": row["decline_reason"] if step == "declined" else None,
                    },
                )
                previous = step
            self.supports.append(row)
            if status == "provided" and rng.random() < 0.6:
                self._plan(household, proposer, "support", times["provided"], support_id=row["id"])
        for resource in self.resource_rows:
            if resource["capacity"] is not None:
                used_units = taken[resource["id"]]
                resource["capacity"] = max(resource["capacity"], used_units + rng.randrange(3, 20))
                resource["remaining"] = resource["capacity"] - used_units

    def _plan(
        self,
        household: dict[str, Any],
        owner: uuid.UUID,
        source: str,
        started: datetime,
        *,
        support_id: uuid.UUID | None = None,
        case_id: uuid.UUID | None = None,
    ) -> None:
        if household["id"] in self.plans:
            return
        g, rng = self.g, self.rng
        interval = rng.choice((30, 30, 60, 90))
        starts_on = started.astimezone(g.tz).date()
        due = starts_on + timedelta(days=interval)
        while due < g.today - timedelta(days=rng.randrange(0, 6)):
            due += timedelta(days=interval)
        self.plans[household["id"]] = g.t.add(
            MonitoringPlan,
            {
                **g.base(started),
                "household_id": household["id"],
                "district_code": DISTRICT,
                "dong_code": household["dong_code"],
                "owner_id": owner,
                "interval_days": interval,
                "next_due_on": due,
                "starts_on": starts_on,
                "ends_on": None,
                "active": True,
                "source": source,
                "support_id": support_id,
                "case_id": case_id,
                "last_visit_id": None,
                "last_scheduled_at": None,
                "visits_created": 0,
                "note": None,
                "created_by_id": owner,
                "ended_at": None,
            },
        )
