"""The households and what is known of them: members, the signals they were found by, consent to share
with partners, the honorary officials' crisis reports, and each household's status from what happened."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from app.core.security import Security
from app.demo import names
from app.demo.district.rows import pick
from app.demo.district.state import DistrictState
from app.demo.seed import DISTRICT
from app.households.models import Consent, Household, Signal
from app.reports.models import CrisisReport

SOURCE_WEIGHTS = (
    ("bigdata", 45),
    ("honorary_official", 15),
    ("resident_report", 10),
    ("agency_referral", 10),
    ("lonely_death_screening", 10),
    ("benefit_rejected", 10),
)
SOURCE_INDICATORS = {
    "bigdata": (
        "power_cut",
        "water_cut",
        "gas_cut",
        "health_insurance_arrears",
        "telecom_arrears",
        "national_pension_arrears",
        "rent_overdue",
        "management_fee_overdue",
    ),
    "lonely_death_screening": ("isolation", "heating_lack", "food_insecurity"),
    "agency_referral": ("medical_crisis", "abuse_suspected", "homeless", "debt", "hoarding"),
    "resident_report": ("isolation", "hoarding", "food_insecurity", "heating_lack"),
    "honorary_official": ("isolation", "food_insecurity", "heating_lack", "rent_overdue"),
    "benefit_rejected": ("benefit_rejected", "benefit_terminated", "unemployment"),
}
HOUSEHOLD_TYPES = (
    ("single_elderly", 40),
    ("elderly_couple", 12),
    ("single_middle", 18),
    ("single_parent", 10),
    ("grandparent", 5),
    ("disability_family", 8),
    ("young_adult", 7),
)


class HouseholdRows(DistrictState):
    def _members(self, kind: str) -> tuple[list[dict[str, Any]], list[str]]:
        rng, year = self.rng, self.g.today.year
        members: list[dict[str, Any]] = []
        tags: set[str] = set()

        def add(relation: str, age: int, female: bool, member_tags: list[str]) -> None:
            birth = year - age
            members.append(
                {
                    "key": f"m{len(members) + 1}",
                    "name": names.person_name(rng, birth, female, year),
                    "birth_year": birth,
                    "relation": relation,
                    "tags": member_tags,
                }
            )

        if kind == "single_elderly":
            extra = ["chronic_illness"] if rng.random() < 0.5 else []
            add("head", rng.randrange(66, 93), rng.random() < 0.7, ["elderly", *extra])
            tags |= {"elderly", "single_person", *extra}
        elif kind == "elderly_couple":
            add("head", rng.randrange(68, 90), False, ["elderly"])
            add("spouse", rng.randrange(65, 88), True, ["elderly", "chronic_illness"])
            tags |= {"elderly", "chronic_illness"}
        elif kind == "single_middle":
            extra = rng.sample(["unemployed", "chronic_illness"], rng.randrange(1, 3))
            add("head", rng.randrange(40, 64), rng.random() < 0.35, extra)
            tags |= {"single_person", *extra}
        elif kind == "single_parent":
            add("head", rng.randrange(28, 50), rng.random() < 0.8, [])
            for _ in range(rng.randrange(1, 4)):
                add("child", rng.randrange(2, 17), rng.random() < 0.5, ["child"])
            tags |= {"single_parent", "child"}
        elif kind == "grandparent":
            add("head", rng.randrange(65, 82), rng.random() < 0.6, ["elderly"])
            for _ in range(rng.randrange(1, 3)):
                add("grandchild", rng.randrange(5, 17), rng.random() < 0.5, ["child"])
            tags |= {"grandparent_family", "elderly", "child"}
        elif kind == "disability_family":
            add("head", rng.randrange(45, 75), rng.random() < 0.5, [])
            add("child", rng.randrange(18, 45), rng.random() < 0.4, ["disability"])
            tags |= {"disability"}
        else:
            add("head", rng.randrange(19, 34), rng.random() < 0.5, ["unemployed"])
            if rng.random() < 0.4:
                add("parent", rng.randrange(55, 80), rng.random() < 0.5, ["disability", "chronic_illness"])
                tags |= {"young_adult_carer", "disability"}
            tags |= {"unemployed"} if len(members) == 1 else set()
            if len(members) == 1:
                tags.add("single_person")
        return members, sorted(tags)

    def households_and_signals(self) -> None:
        g, rng, spec = self.g, self.rng, self.spec
        try:
            from app.households import scoring
        except ImportError:  # pragma: no cover - the households package ships with the app
            scoring = None  # type: ignore[assignment]
        for i in range(spec.households):
            d = i % spec.dongs
            kind = pick(rng, HOUSEHOLD_TYPES)
            members, tags = self._members(kind)
            main, detail, housing = names.address(rng, d)
            engaged = rng.random() >= 0.15
            first_seen = g.today - timedelta(days=rng.randrange(21, 400) if engaged else rng.randrange(0, 20))
            hid = g.uid()
            signals = []
            for k in range(rng.choices((1, 2, 3), (55, 30, 15))[0]):
                source = pick(rng, SOURCE_WEIGHTS)
                span = max(0, (g.today - first_seen).days)
                day = first_seen if k == 0 else first_seen + timedelta(days=rng.randrange(span + 1))
                observed = g.before_anchor(g.local(day, rng.randrange(0, 24), rng.randrange(60)))
                indicators = sorted(rng.sample(SOURCE_INDICATORS[source], rng.randrange(1, 3)))
                if source == "bigdata":
                    details: dict[str, Any] = {"months_overdue": rng.randrange(2, 9)}
                    ref = f"NBD-{observed.year}-{rng.randrange(10**6):06d}"
                elif source == "benefit_rejected":
                    details, ref = {"program": "basic_livelihood"}, None
                else:
                    details, ref = {}, None
                signals.append(
                    g.t.add(
                        Signal,
                        {
                            **g.base(observed),
                            "household_id": hid,
                            "source": source,
                            "indicators": indicators,
                            "observed_at": observed,
                            "external_ref": ref,
                            "details": details,
                            "recorded_by_id": None,
                        },
                    )
                )
            head = members[0]["name"]
            risk, priority = "moderate", 30
            if scoring is not None:
                facts = [scoring.SignalFact(s["source"], tuple(s["indicators"]), s["observed_at"]) for s in signals]
                score = scoring.compute(facts, scoring.vulnerability_tags(tags, members, g.anchor), now=g.anchor)
                risk, priority = score.level.value, score.priority
            row = g.t.add(
                Household,
                {
                    **g.base(signals[0]["observed_at"], hid),
                    "district_code": DISTRICT,
                    "dong_code": g.dongs[d],
                    "address": main,
                    "address_detail": detail,
                    "head_name": head,
                    "contact_phone": names.fake_mobile(rng) if rng.random() < 0.85 else None,
                    "members": members,
                    "tags": tags,
                    "living_situation": rng.choice(names.LIVING[housing]),
                    "risk_level": risk,
                    "priority": priority,
                    "status": "identified",
                    "status_changed_at": signals[0]["observed_at"],
                    "recurrence_at": None,
                    "recurrence_count": 0,
                    "coordinator_id": self.dong_coordinator[d],
                    "match_key": _match_key(self.security, main, detail, head),
                    "deleted_at": None,
                },
            )
            row["_dong_index"] = d
            row["_engaged"] = engaged
            row["_first_seen"] = first_seen
            row["_elderly_single"] = "elderly" in tags and "single_person" in tags
            self.households.append(row)

    def consents(self) -> None:
        g, rng = self.g, self.rng
        demo_org = self.demo["partner"].organization_id
        for household in self.households:
            orgs = sorted(household.get("_partner_orgs", set()), key=str)
            if not orgs:
                continue
            if household.get("_demo_no_consent"):
                orgs = [o for o in orgs if o != demo_org]
                if not orgs:
                    continue
            roll = rng.random()
            if not household.get("_demo_consent") and roll >= 0.85:
                if roll < 0.92:  # refused
                    orgs, status = orgs[:1], "refused"
                else:
                    continue
            else:
                status = "given"
            d = household["_dong_index"]
            valid_from = g.anchor - timedelta(days=rng.randrange(1, 300))
            all_partners = status == "given" and rng.random() < 0.4 and not household.get("_demo_no_consent")
            targets: list[uuid.UUID | None] = [None] if all_partners else list(orgs)
            for org in targets:
                g.t.add(
                    Consent,
                    {
                        **g.base(valid_from),
                        "household_id": household["id"],
                        "status": status,
                        "given_by": rng.choice(("세대주 본인", "세대주 본인", "배우자", "자녀")),
                        "recorded_by_id": self.dong_of_user_planner(d),
                        "recipient_kind": "all_partners" if org is None else "organization",
                        "recipient_organization_id": org,
                        "purposes": [
                            "identification",
                            "assessment",
                            "joint_consultation",
                            "follow_up",
                            "service_linkage",
                            "case_management",
                        ],
                        "valid_from": valid_from,
                        "valid_until": g.anchor + timedelta(days=365),
                        "withdrawn_at": None,
                    },
                )
                if status == "given":
                    self.consented[household["id"]].update(self.partner_orgs if org is None else [org])

    def reports(self) -> None:
        g, rng = self.g, self.rng
        demo_reporter = self.demo["reporter"]
        plan = [("new", 3), ("triaged", 2), ("dismissed", 1)]
        jobs: list[tuple[uuid.UUID, str]] = [(demo_reporter.id, s) for s, n in plan for _ in range(n)]
        for reporter in self.reporters[1:]:
            for _ in range(rng.randrange(2, 5)):
                jobs.append((reporter, pick(rng, (("new", 25), ("triaged", 60), ("dismissed", 15)))))
        for reporter, status in jobs:
            d = rng.randrange(self.spec.dongs)
            at = g.anchor - timedelta(days=0 if status == "new" else rng.randrange(3, 90), hours=rng.randrange(1, 20))
            household = None
            if status == "triaged":
                candidates = [h for h in self.households if h["_dong_index"] == d]
                household = rng.choice(candidates)
            main, detail, _kind = names.address(rng, d)
            birth = g.today.year - rng.randrange(60, 90)
            g.t.add(
                CrisisReport,
                {
                    **g.base(at),
                    "reporter_id": reporter,
                    "reporter_organization_id": self.user_org[reporter],
                    "observation": rng.choice(names.REPORT_OBSERVATIONS),
                    "address": household["address"] if household else f"{main} {detail or ''}".strip(),
                    "district_code": DISTRICT,
                    "dong_code": g.dongs[d],
                    "subject_name": household["head_name"]
                    if household
                    else names.person_name(rng, birth, rng.random() < 0.6, g.today.year),
                    "subject_phone": None,
                    "indicators": sorted(rng.sample(SOURCE_INDICATORS["honorary_official"], 2)),
                    "observed_at": at - timedelta(days=rng.randrange(0, 3)),
                    "status": status,
                    "household_id": household["id"] if household else None,
                    "triaged_by_id": self.dong_coordinator[d] if status != "new" else None,
                    "triaged_at": at + timedelta(hours=rng.randrange(2, 48)) if status != "new" else None,
                    "outcome_message": {
                        "new": None,
                        "triaged": "담당 공무원이 확인하여 방문 예정입니다. 제보해 주셔서 감사합니다.",
                        "dismissed": "확인 결과 추가 지원이 필요하지 않은 것으로 판단되었습니다.",
                    }[status],
                    "dismiss_reason": "이미 관리 중인 가구" if status == "dismissed" else None,
                    "source": "honorary_official",
                },
            )

    def statuses(self) -> None:
        """Each household's status from what happened to it."""
        g, rng = self.g, self.rng
        supported = {s["household_id"] for s in self.supports if s["status"] in ("approved", "provided")}
        for household in self.households:
            visits = self.household_visits.get(household["id"], [])
            finished = [v for v in visits if v["status"] in ("completed", "no_contact", "refused")]
            completed = [v for v in visits if v["status"] == "completed"]
            is_open = any(v["status"] in ("scheduled", "in_progress") for v in visits)
            if household["id"] in self.plans:
                status = "monitoring"
            elif household["id"] in supported:
                status = "supported"
            elif any(v["purpose"] in ("assessment", "joint_consultation") for v in completed):
                status = "assessed"
            elif finished:
                status = "contacted"
            else:
                status = "identified"
            if status in ("contacted", "assessed") and not is_open and rng.random() < 0.3:
                status = "closed"
            household["status"] = status
            if finished:
                last = max(v["checked_out_at"] for v in finished)
                household["status_changed_at"] = g.before_anchor(last)
                household["updated_at"] = household["status_changed_at"]


def _match_key(security: Security, address: str, detail: str | None, head: str) -> str | None:
    try:
        from app.households.matching import match_key
    except ImportError:  # pragma: no cover
        return None
    return match_key(security, address, detail, head)
