"""The winter campaigns (this winter, and last winter's when today is before this one starts) and the
facilities the campaigns' safety inspections visit (docs/winter.md)."""

from __future__ import annotations

from datetime import date, timedelta

from app.campaigns.models import Campaign
from app.campaigns.service import winter_period
from app.demo import names
from app.demo.district.people import PRIVATE_ORGS
from app.demo.district.state import DistrictState
from app.demo.seed import DISTRICT
from app.visits.models import Facility

FACILITY_KINDS = (("senior_center", "경로당"), ("shelter", "한파쉼터"), ("community_child_center", "지역아동센터"))


class WinterRows(DistrictState):
    def campaigns_and_facilities(self) -> None:
        g, rng = self.g, self.rng
        start, end = winter_period(g.today)
        periods = [(start, end)]
        if g.today < start:
            periods.insert(0, winter_period(date(start.year - 1, 12, 20)))
        for s, e in periods:
            row = g.t.add(
                Campaign,
                {
                    **g.base(g.local(s, 9) - timedelta(days=20)),
                    "name": f"{s.year}~{e.year} 겨울철 복지위기가구 집중 발굴",
                    "starts_on": s,
                    "ends_on": e,
                    "district_codes": [DISTRICT],
                    "criteria": {},
                    "organization_id": self.public_org,
                    "active": True,
                    "description": "한파·난방비 부담 위기가구 집중 발굴 및 민관 합동 방문",
                    "created_by_id": self.coordinator,
                },
            )
            self.campaigns.append((row["id"], s, e))
        self.facilities = []
        for d in range(self.spec.dongs):
            kind, kind_ko = FACILITY_KINDS[d % len(FACILITY_KINDS)]
            row = g.t.add(
                Facility,
                {
                    **g.base(g.anchor - timedelta(days=500)),
                    "name": f"{names.DONG_NAMES[d]} {kind_ko}",
                    "kind": kind,
                    "district_code": DISTRICT,
                    "dong_code": g.dongs[d],
                    "address": names.address(rng, d)[0],
                    "contact_phone": names.fake_office_phone(rng),
                    "operator": "온기구" if kind != "community_child_center" else PRIVATE_ORGS[0],
                    "capacity": rng.randrange(15, 60),
                    "active": True,
                },
            )
            self.facilities.append((row, d))
