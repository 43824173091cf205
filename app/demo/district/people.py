"""The district's people: a public welfare centre per dong with its coordinator and planners, the private
partner organizations and their social workers, and the honorary reporters."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.demo import names
from app.demo.district.state import DistrictState
from app.demo.seed import DISTRICT

PRIVATE_ORGS = ("온기노인종합복지관", "온기장애인복지관", "온기푸드뱅크", "한빛지역자활센터")


class PeopleRows(DistrictState):
    def _org(self, name: str, kind: OrgKind, jurisdiction: list[str]) -> uuid.UUID:
        row = self.g.t.add(
            Organization,
            {
                **self.g.base(self.g.anchor - timedelta(days=400)),
                "name": name,
                "kind": kind.value,
                "jurisdiction": jurisdiction,
                "active": True,
            },
        )
        return row["id"]  # type: ignore[no-any-return]

    def _user(self, org_id: uuid.UUID, username: str, role: Role, title: str) -> uuid.UUID:
        rng = self.rng
        row = self.g.t.add(
            User,
            {
                **self.g.base(self.g.anchor - timedelta(days=rng.randrange(30, 400))),
                "organization_id": org_id,
                "username": username,
                "display_name": f"{names.staff_name(rng)} ({title})",
                "role": role.value,
                "password_hash": self.password_hash,
                "phone": names.fake_office_phone(rng),
                "active": True,
                "jurisdiction": None,
                "scopes": [],
            },
        )
        self.user_org[row["id"]] = org_id
        self.org_staff[org_id].append(row["id"])
        return row["id"]  # type: ignore[no-any-return]

    def people(self) -> None:
        spec, g = self.spec, self.g
        planner, partner = self.demo["planner"], self.demo["partner"]
        for d in range(spec.dongs):
            org = self._org(f"온기구 {names.DONG_NAMES[d]} 행정복지센터", OrgKind.public, [g.dongs[d]])
            self.dong_coordinator[d] = self._user(org, f"coordinator-{d + 1:02d}", Role.coordinator, "맞춤형복지팀장")
            self.dong_planners[d].append(self._user(org, f"planner-{d + 1:03d}", Role.planner, "맞춤형복지팀 주무관"))
        for i in range(spec.dongs, spec.planners - 1):
            d = i % spec.dongs
            org_id = self.user_org[self.dong_planners[d][0]]
            self.dong_planners[d].append(self._user(org_id, f"planner-{i + 1:03d}", Role.planner, "복지플래너"))
        for d in (0, 1):
            self.dong_planners[d].insert(0, planner.id)
        self.org_staff[partner.organization_id].append(partner.id)
        self.partners.append(partner.id)
        self.partner_orgs = [partner.organization_id]
        for name in PRIVATE_ORGS:
            self.partner_orgs.append(self._org(name, OrgKind.private, [DISTRICT]))
        for i in range(spec.partners - 1):
            org_id = self.partner_orgs[(i + 1) % len(self.partner_orgs)]
            self.partners.append(self._user(org_id, f"partner-{i + 1:03d}", Role.partner, "사회복지사"))
        honorary = self.demo["reporter"].organization_id
        self.reporters = [self.demo["reporter"].id] + [
            self._user(honorary, f"reporter-{i + 1:02d}", Role.reporter, "명예사회복지공무원")
            for i in range(spec.reporters - 1)
        ]
        self.coordinator = self.demo["coordinator"].id
        self.public_org = self.demo["coordinator"].organization_id
