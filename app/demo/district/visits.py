"""Visits and what they leave: the demo logins' working day, the campaigns' facility inspections, the
other home visits with their teams, the checklists answered at completed visits, and the notes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from app.demo import names
from app.demo.district.rows import pick
from app.demo.district.state import DistrictState
from app.visits.models import Visit, VisitAssignee


class VisitRows(DistrictState):
    def _pins(self, purpose: str, household: dict[str, Any] | None) -> list[dict[str, Any]]:
        if self.spec.bench_templates:
            keys = {
                "identification": ["ongi_home_visit"],
                "assessment": ["ongi_home_visit"],
                "joint_consultation": ["ongi_home_visit"],
                "follow_up": ["ongi_follow_up"],
                "safety_inspection": ["ongi_cold_wave"],
            }[purpose]
        else:
            keys = {
                "identification": ["crisis_household_assessment"],
                "assessment": ["crisis_household_assessment"],
                "joint_consultation": ["lonely_death_screening"],
                "follow_up": ["lonely_death_screening"],
                "safety_inspection": ["winter_facility_safety"],
            }[purpose]
            if purpose in ("identification", "assessment") and household and household["_elderly_single"]:
                keys = [*keys, "lonely_death_screening"]
        return [{"key": k, "version": self.templates[k]["version"]} for k in keys if k in self.templates]

    def _visit(
        self,
        household: dict[str, Any] | None,
        team: list[uuid.UUID],
        purpose: str,
        day: date,
        start_hour: int,
        *,
        status: str,
        minute: int = 0,
        hours: int = 2,
        facility: dict[str, Any] | None = None,
        campaign: uuid.UUID | None = None,
        photos: bool | None = None,
    ) -> dict[str, Any]:
        g, rng = self.g, self.rng
        start = g.local(day, start_hour, minute)
        end = start + timedelta(hours=hours)
        created = g.before_anchor(start - timedelta(days=rng.randrange(1, 10), minutes=rng.randrange(600)))
        expects = photos if photos is not None else (rng.random() < 0.2)
        row: dict[str, Any] = {
            **g.base(created),
            "household_id": household["id"] if household else None,
            "facility_id": facility["id"] if facility else None,
            "dong_code": household["dong_code"] if household else facility["dong_code"],  # type: ignore[index]
            "purpose": purpose,
            "status": status,
            "campaign_id": campaign,
            "window_start": start,
            "window_end": end,
            "checklists": self._pins(purpose, household),
            "expected_photos": [{"key": "living_condition", "label": "주거 환경"}] if expects else [],
            "outcome": None,
            "checked_in_at": None,
            "checked_in_device_at": None,
            "checked_out_at": None,
            "checked_out_device_at": None,
            "created_by_id": team[0],
            "cancel_reason": None,
            "deleted_at": None,
        }
        if status in ("completed", "no_contact", "refused", "in_progress"):
            checked_in = start + timedelta(minutes=rng.randrange(0, 40))
            row["checked_in_at"] = g.before_anchor(checked_in) if status == "in_progress" else checked_in
            row["checked_in_device_at"] = row["checked_in_at"] + timedelta(seconds=rng.randrange(-90, 90))
        if status in ("completed", "no_contact", "refused"):
            out = row["checked_in_at"] + timedelta(minutes=rng.randrange(10, 80))
            row["checked_out_at"] = out
            row["checked_out_device_at"] = out + timedelta(seconds=rng.randrange(-90, 90))
            row["outcome"] = {
                "completed": rng.choice(names.OUTCOMES),
                "no_contact": "부재, 연락처 남김",
                "refused": "방문 거부, 추후 재시도",
            }[status]
            row["updated_at"] = g.before_anchor(out)
        g.t.add(Visit, row)
        self.visit_team[row["id"]] = team
        for i, user_id in enumerate(team):
            g.t.add(
                VisitAssignee,
                {
                    **g.base(created),
                    "visit_id": row["id"],
                    "user_id": user_id,
                    "organization_id": self.user_org[user_id],
                    "lead": i == 0,
                    "ended_at": None,
                },
            )
        if household is not None:
            self.household_visits[household["id"]].append(row)
            for user_id in team:
                if self.user_org[user_id] in self.partner_orgs:
                    household.setdefault("_partner_orgs", set()).add(self.user_org[user_id])
        if status == "completed":
            self.completed_visits.append(row)
        elif status in ("scheduled", "in_progress"):
            self.open_visits.append(row)
        return row

    def demo_day(self) -> int:
        """The demo planner's working day today, two visits of it joint with the demo partner, and the
        partner's other joint visits this week (one household without consent, to show redaction)."""
        g = self.g
        planner, partner = self.demo["planner"].id, self.demo["partner"].id
        pool = [h for h in self.households if h["_engaged"] and h["_dong_index"] in (0, 1)]
        day_plan = (
            ("identification", 9, 30, [planner]),
            ("joint_consultation", 10, 40, [planner, partner]),
            ("assessment", 13, 0, [planner]),
            ("joint_consultation", 14, 10, [planner, partner]),
            ("follow_up", 15, 30, [planner]),
            ("assessment", 16, 30, [planner]),
        )
        used = 0
        campaign = self.campaign_on(g.today)
        for i, (purpose, hour, minute, team) in enumerate(day_plan):
            household = pool[i]
            self._visit(
                household,
                team,
                purpose,
                g.today,
                hour,
                minute=minute,
                hours=1,
                status="scheduled",
                campaign=campaign if purpose in ("identification", "assessment") else None,
                photos=i == 1,
            )
            if partner in team:
                household["_demo_consent"] = True
            used += 1
        for k in range(3):
            household = pool[len(day_plan) + k]
            self._visit(
                household,
                [planner, partner],
                "joint_consultation",
                g.today + timedelta(days=k + 1),
                10 + 2 * k,
                hours=1,
                status="scheduled",
            )
            household["_demo_consent"] = k != 2
            household["_demo_no_consent"] = k == 2
            used += 1
        for k in range(3):  # a few of the planner's finished visits last week
            household = pool[len(day_plan) + 3 + k]
            self._visit(household, [planner], "assessment", g.today - timedelta(days=k + 2), 10, status="completed")
            used += 1
        return used

    def visits(self) -> None:
        g, rng, spec = self.g, self.rng, self.spec
        used = self.demo_day()
        for cid, s, e in self.campaigns:
            for facility, d in self.facilities:
                planner = self.dong_of_user_planner(d)
                if e < g.today:
                    day = s + timedelta(days=rng.randrange((e - s).days + 1))
                    self._visit(
                        None,
                        [planner],
                        "safety_inspection",
                        day,
                        10,
                        facility=facility,
                        campaign=cid,
                        status="completed",
                    )
                else:
                    day = max(s, g.today) + timedelta(days=rng.randrange(1, 14))
                    self._visit(
                        None,
                        [planner],
                        "safety_inspection",
                        day,
                        14,
                        facility=facility,
                        campaign=cid,
                        status="scheduled",
                    )
                used += 1
        engaged = [h for h in self.households if h["_engaged"]]
        rng.shuffle(engaged)
        remaining = max(0, spec.visits - used)
        for k in range(remaining):
            household = engaged[k % len(engaged)]
            d = household["_dong_index"]
            earlier = self.household_visits[household["id"]]
            first_seen = household["_first_seen"]
            is_open = rng.random() < 0.75 or (g.today - first_seen).days < 2
            if is_open:
                offset = rng.randrange(-3, 28)
                day = g.today + timedelta(days=offset)
                status = "scheduled"
            else:
                low = max((g.today - first_seen).days - 1, 1)
                day = g.today - timedelta(days=rng.randrange(1, min(low, 365) + 1))
                status = pick(rng, (("completed", 85), ("no_contact", 10), ("refused", 5)))
            # the demo logins' day today is the one demo_day() planned
            today_ok = day != g.today
            partners = self.partners if today_ok else self.partners[1:] or self.partners
            if rng.random() < 0.15:
                team = [rng.choice(partners)]
                purpose = "follow_up"
            else:
                team = [self.dong_of_user_planner(d, avoid_demo=not today_ok)]
                if rng.random() < 0.33:
                    team.append(rng.choice(partners))
                if not earlier:
                    purpose = "identification"
                elif len(team) > 1 and rng.random() < 0.5:
                    purpose = "joint_consultation"
                else:
                    purpose = rng.choice(("assessment", "follow_up", "assessment"))
            campaign = None
            if purpose in ("identification", "assessment", "joint_consultation") and rng.random() < 0.8:
                campaign = self.campaign_on(day)
            start_hour = rng.choice((9, 10, 11, 13, 14, 15, 16))
            self._visit(household, team, purpose, day, start_hour, status=status, campaign=campaign)

    def _value(self, item: dict[str, Any], day: date) -> Any:
        rng = self.rng
        kind = item["type"]
        if kind == "boolean":
            return rng.random() < 0.4
        if kind == "single_choice":
            return rng.choice(item["options"])["value"]
        if kind == "multi_choice":
            options = [o["value"] for o in item["options"]]
            return rng.sample(options, rng.randrange(1, min(3, len(options)) + 1))
        if kind == "number":
            low = item.get("min", 0) if item.get("min") is not None else 0
            high = item.get("max", 100) if item.get("max") is not None else max(low, 0) + 100
            return rng.randrange(int(low), int(high) + 1)
        if kind == "date":
            return (day - timedelta(days=rng.randrange(0, 200))).isoformat()
        if kind == "text":
            return rng.choice(names.OBSERVATIONS)
        return None  # photos are answered by uploads

    def responses(self) -> None:
        try:
            from app.checklists.models import ChecklistResponse
            from app.checklists.rules import evaluate
        except ImportError:
            return
        g = self.g
        for visit in self.completed_visits:
            author = self.visit_team[visit["id"]][0]
            at = visit["checked_out_at"]
            day = at.astimezone(g.tz).date()
            for pin in visit["checklists"]:
                template = self.templates[pin["key"]]
                values = {item["key"]: self._value(item, day) for item in template["items"]}
                values = {k: v for k, v in values.items() if v is not None}
                result = evaluate(template["items"], template["bands"], values)
                kept = {k: v for k, v in values.items() if result.visible.get(k)}
                stamp = at.isoformat()
                g.t.add(
                    ChecklistResponse,
                    {
                        **g.base(at),
                        "visit_id": visit["id"],
                        "household_id": visit["household_id"],
                        "template_id": template["id"],
                        "template_key": pin["key"],
                        "template_version": pin["version"],
                        "answers": {
                            k: {"value": v, "answered_by": str(author), "answered_at": stamp} for k, v in kept.items()
                        },
                        "item_versions": dict.fromkeys(kept, 1),
                        "score": result.score,
                        "band": result.band_key,
                        "risk_level": result.risk_level,
                        "completed": not result.missing_required,
                        "completed_at": at if not result.missing_required else None,
                        "completed_by_id": author if not result.missing_required else None,
                        "created_by_id": author,
                        "deleted_at": None,
                    },
                )

    def notes(self) -> None:
        try:
            from app.notes.models import Note
        except ImportError:
            self.missing.append("notes (app.notes.models.Note)")
            return
        g, rng = self.g, self.rng
        household_visits = [v for v in self.completed_visits + self.open_visits if v["household_id"] is not None]
        finished = [v for v in household_visits if v["checked_out_at"] is not None]
        for k in range(self.spec.notes):
            roll = rng.random()
            if roll < 0.72 and household_visits:
                visit = rng.choice(finished) if finished and rng.random() < 0.85 else rng.choice(household_visits)
                author = rng.choice(self.visit_team[visit["id"]])
                base_at = visit["checked_out_at"] or visit["created_at"]
                at = g.before_anchor(base_at + timedelta(minutes=rng.randrange(1, 600)))
                target = {"visit_id": visit["id"], "household_id": visit["household_id"], "case_id": None}
                kind = "consultation" if rng.random() < 0.4 else "observation"
            elif roll < 0.9 or not self.cases:
                household = self.households[k % len(self.households)]
                author = (
                    household["coordinator_id"]
                    if rng.random() < 0.3
                    else self.dong_of_user_planner(household["_dong_index"])
                )
                at = g.before_anchor(household["created_at"] + timedelta(days=rng.randrange(0, 30)))
                target = {"visit_id": None, "household_id": household["id"], "case_id": None}
                kind = "observation"
            else:
                case = rng.choice(self.cases)
                author = rng.choice(self.case_team[case["id"]])
                at = g.before_anchor(case["opened_at"] + timedelta(days=rng.randrange(0, 20)))
                target = {"visit_id": None, "household_id": None, "case_id": case["id"]}
                kind = "case_conference" if rng.random() < 0.5 else "consultation"
            body = {
                "observation": names.OBSERVATIONS,
                "consultation": names.CONSULTATIONS,
                "case_conference": names.CONFERENCE,
            }[kind]
            g.t.add(
                Note,
                {
                    **g.base(at),
                    **target,
                    "author_id": author,
                    "author_organization_id": self.user_org[author],
                    "body": rng.choice(body),
                    "kind": kind,
                    "internal": rng.random() < 0.1,
                    "deleted_at": None,
                    "deleted_by_id": None,
                },
            )
