"""What the parts of the district share while it is built: the seeded generator, the demo logins, and
who and what the earlier parts made (the later parts draw on them)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from app.auth.models import Organization, User
from app.core.security import Security
from app.demo.district.rows import Gen
from app.demo.district.sizes import SizeSpec


class DistrictState:
    """The district so far. Each part (:mod:`app.demo.district.people` … ``photos``) is a mixin of this
    class; ``app.demo.generator.World`` puts them together and builds them in dependency order."""

    # set by the parts that make them
    reporters: list[uuid.UUID]  # people
    coordinator: uuid.UUID  # people
    public_org: uuid.UUID  # people
    facilities: list[tuple[dict[str, Any], int]]  # winter
    resource_rows: list[dict[str, Any]]  # care

    def __init__(
        self,
        g: Gen,
        spec: SizeSpec,
        demo_users: dict[str, User],
        orgs: dict[uuid.UUID, Organization],
        password_hash: str,
        templates: dict[str, dict[str, Any]],
        security: Security,
    ) -> None:
        self.g = g
        self.security = security
        self.missing: list[str] = []
        self.rng = g.rng
        self.spec = spec
        self.demo = demo_users
        self.orgs = orgs
        self.password_hash = password_hash
        self.templates = templates
        self.photo_count = spec.photos
        self.user_org: dict[uuid.UUID, uuid.UUID] = {u.id: u.organization_id for u in demo_users.values()}
        self.dong_planners: dict[int, list[uuid.UUID]] = defaultdict(list)
        self.dong_coordinator: dict[int, uuid.UUID] = {}
        self.partners: list[uuid.UUID] = []
        self.partner_orgs: list[uuid.UUID] = []
        self.org_staff: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        self.households: list[dict[str, Any]] = []
        self.household_visits: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.visit_team: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.consented: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)  # household → organizations
        self.campaigns: list[tuple[uuid.UUID, date, date]] = []
        self.completed_visits: list[dict[str, Any]] = []
        self.open_visits: list[dict[str, Any]] = []
        self.cases: list[dict[str, Any]] = []
        self.case_team: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.supports: list[dict[str, Any]] = []
        self.plans: dict[uuid.UUID, dict[str, Any]] = {}

    def dong_of_user_planner(self, d: int, *, avoid_demo: bool = False) -> uuid.UUID:
        planners = self.dong_planners[d]
        if avoid_demo:
            planners = [p for p in planners if p != self.demo["planner"].id] or planners
        return self.rng.choice(planners)

    def campaign_on(self, day: date) -> uuid.UUID | None:
        for cid, s, e in self.campaigns:
            if s <= day <= e:
                return cid
        return None
