"""Every route × every role (docs/access.md#one-policy, docs/testing.md#what-must-hold-under-stress): no record
reachable that §3 forbids.

The table below holds, for each (method, path template) the app serves, which roles may call it. The
routes are read from ``app.routes``: a route missing from the table fails the suite, so a new route must
be added here with its access. Three things are proved, across two organizations and two jurisdictions
(districts 11990 and 11110):

* without a token every non-public route answers 401;
* a role that can never call a route answers 403 (or 404 where the table says the route hides even that),
  also when the path names a real record of the caller's own district;
* for scoped routes, every allowed role gets 404 for a record of the other district (or, for a partner, a
  household not assigned and consented to them), and reaches the record of its own district.

Beside the six roles the matrix holds the bounds of docs/access.md#bounds-of-administrators-and-integrations:
``admin_dong``, the admin of a dong centre
(a public organization of one dong of the home district; ``admin`` is the district office's), who may call
what an admin may but reaches only what lies within its dong (never the district office, its users or their
devices); and ``integration_private``, a private organization's client that holds every scope in the
database, wide ones included, and may still call only what needs none of ``households:read``,
``visits:read``, ``households:import`` (:data:`WIDE`). Their access is derived from the table's rows for
``admin`` and ``integration``.

Each request runs inside a savepoint that is rolled back, so checks never disturb one another.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from starlette.routing import Mount

from app.auth.models import Device
from app.cases.models import Case, CaseMember
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.reports.models import CrisisReport
from app.visits.models import Facility
from tests.support.factories import PASSWORD, Actor, Factory, make_consent, make_household, make_visit
from tests.support.world import DONG_A, DONG_B, District, district

A, C, P, W, R, IC = "admin", "coordinator", "planner", "partner", "reporter", "integration"
AD, IP = "admin_dong", "integration_private"
ROLES = (A, C, P, W, R, IC, AD, IP)
EVERYONE = frozenset(ROLES)
ADMINS = frozenset({A, AD})


@dataclass(frozen=True)
class Access:
    #: Roles that may call the route; None: public (no token needed).
    ok: frozenset[str] | None
    #: Refusals other than 403, by role (a route that hides even its existence from a role).
    refused: dict[str, int] = field(default_factory=dict)
    #: JSON body (or form with ``form=True``), used for every request to the route.
    body: Any = None
    form: bool = False
    #: Out-of-scope records answer 404 to every allowed role; in-scope ones are reached.
    scoped: bool = False
    #: Roles for which the scope check is skipped (their in-scope record would need more setup).
    scope_skip: frozenset[str] = frozenset()
    #: Allowed roles that a rule of the record itself may still refuse with 403 (not the case manager, not
    #: on the visit's team): for them the positive check only asks that the answer is no 401 and no 5xx.
    record_rule: frozenset[str] = frozenset()
    headers: dict[str, str] = field(default_factory=dict)


def acc(*roles: str, **kw: Any) -> Access:
    return Access(ok=frozenset(roles), **kw)


PUBLIC = Access(ok=None)
TUS = {"Tus-Resumable": "1.0.0"}
TUS_PATCH = {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
TUS_CREATE = {**TUS, "Upload-Length": "10", "Upload-Metadata": "<tus-metadata>"}
#: Record-first routes answer a role that can never call them as for a record it cannot see.
HIDDEN = {A: 404, R: 404, IC: 404}
TEMPLATE = {
    "key": "matrix_check",
    "title": {"ko": "점검", "en": "Check"},
    "items": [{"key": "q1", "type": "boolean", "label": {"ko": "질문", "en": "Question"}}],
}

SIGNAL = {"source": "bigdata", "indicators": ["power_cut"], "observed_at": "2026-11-01T00:00:00Z"}
CONSENT = {"status": "given", "given_by": "세대주 본인", "recipient_kind": "all_partners", "purposes": ["assessment"]}

TABLE: dict[tuple[str, str], Access] = {
    # --- operations and docs --------------------------------------------------------------------------------
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/app"): PUBLIC,
    ("GET", "/desk"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # --- auth -----------------------------------------------------------------------------------------------
    ("POST", "/v1/auth/token"): Access(ok=None, body={"grant_type": "password"}, form=True),
    ("POST", "/v1/auth/refresh"): Access(ok=None, body={"refresh_token": "not-a-real-token"}, form=True),
    ("POST", "/v1/auth/logout"): acc(*ROLES, body={}, form=True),
    ("GET", "/v1/me"): acc(*ROLES),
    # --- people ---------------------------------------------------------------------------------------------
    ("GET", "/v1/organizations"): acc(A),
    ("POST", "/v1/organizations"): acc(A),
    ("GET", "/v1/organizations/{org_id}"): acc(A, scoped=True),
    ("PATCH", "/v1/organizations/{org_id}"): acc(A, body={}, scoped=True),
    ("GET", "/v1/users"): acc(A),
    ("POST", "/v1/users"): acc(A),
    ("GET", "/v1/users/{user_id}"): acc(A, scoped=True),
    ("PATCH", "/v1/users/{user_id}"): acc(A, body={}, scoped=True),
    # --- winter operations (app.winter): alerts of an organization, tasks by policy.task_filter -------------
    ("POST", "/v1/alerts"): acc(
        C,
        body={
            "kind": "cold_wave",
            "dong_codes": [DONG_A],
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2026-12-03T00:00:00Z",
            "due_hours": 24,
        },
    ),
    ("GET", "/v1/alerts"): acc(C, P),
    ("GET", "/v1/alerts/{alert_id}"): acc(C, P, scoped=True),
    ("GET", "/v1/alerts/{alert_id}/summary"): acc(C, P, scoped=True),
    ("GET", "/v1/tasks"): acc(C, P, W),
    ("GET", "/v1/tasks/{task_id}"): acc(C, P, W, scoped=True, scope_skip=frozenset({W})),
    ("POST", "/v1/tasks/{task_id}/complete"): acc(
        C, P, W, body={"outcome": "reached_by_phone"}, scoped=True, scope_skip=frozenset({W})
    ),
    ("GET", "/v1/deadlines"): acc(C, P),
    # --- work (workload and reassignment) -------------------------------------------------------------------
    ("GET", "/v1/workload"): acc(C),
    ("POST", "/v1/users/{user_id}/reassign"): acc(C, body={"to": ["<planner>"]}, scoped=True),
    ("GET", "/v1/devices"): acc(*ROLES),
    ("GET", "/v1/devices/{device_id}"): acc(*ROLES, scoped=True, scope_skip=frozenset({IC})),
    ("POST", "/v1/devices/{device_id}/revoke"): acc(A, body={"reason": "분실"}, scoped=True),
    # --- households -----------------------------------------------------------------------------------------
    ("GET", "/v1/households"): acc(C, P, W, IC),
    ("POST", "/v1/households"): acc(C, P),
    ("POST", "/v1/households/search"): acc(C, P, W, IC, body={"q": "김"}, record_rule=frozenset({W, IC})),
    ("GET", "/v1/households/{household_id}"): acc(C, P, W, IC, scoped=True),
    ("PATCH", "/v1/households/{household_id}"): acc(C, P, W, body={"living_situation": "확인"}, scoped=True),
    ("GET", "/v1/households/{household_id}/signals"): acc(C, P, IC, scoped=True),
    ("POST", "/v1/households/{household_id}/signals"): acc(C, P, body=SIGNAL, scoped=True),
    ("GET", "/v1/households/{household_id}/consents"): acc(C, P, scoped=True),
    ("POST", "/v1/households/{household_id}/consents"): acc(C, P, body=CONSENT, scoped=True),
    ("POST", "/v1/households/{household_id}/consents/{consent_id}/withdraw"): acc(
        C, P, body={"reason": "본인 요청"}, scoped=True
    ),
    # a JSON body is no form (415 once reached); the world's consent has no form, so reaching it is proved in
    # tests/households/test_consent_form.py (which also checks the other district's 404)
    ("PUT", "/v1/households/{household_id}/consents/{consent_id}/form"): acc(C, P, body={}, scoped=True),
    ("GET", "/v1/households/{household_id}/consents/{consent_id}/form"): acc(
        C, P, scoped=True, scope_skip=frozenset({C, P}), headers={"Ongi-Reason": "matrix%20check"}
    ),
    ("POST", "/v1/households/{household_id}/reveal"): acc(C, body={"reason": "급여 확인"}, scoped=True),
    ("GET", "/v1/areas"): acc(A, C, P, W),
    ("PUT", "/v1/areas"): acc(A, body={"names": {"11990": "온기구"}}, record_rule=frozenset({A})),
    ("GET", "/v1/households/{household_id}/contact-attempts"): acc(C, P, W, scoped=True),
    ("POST", "/v1/households/{household_id}/contact-attempts"): acc(
        C, P, W, body={"method": "phone", "outcome": "no_answer"}, scoped=True
    ),
    ("GET", "/v1/households/{household_id}/duplicates"): acc(C, P, scoped=True),
    ("GET", "/v1/households/{household_id}/ledger"): acc(C, P, W, scoped=True),
    # merging into itself answers 422 once reached; unmerging a household never merged answers 404
    ("POST", "/v1/households/{household_id}/merge"): acc(C, A, body={"into": "<household_id>"}, scoped=True),
    ("POST", "/v1/households/{household_id}/unmerge"): acc(C, A, body={}),
    ("GET", "/v1/triage"): acc(C, P),
    # --- reports --------------------------------------------------------------------------------------------
    ("POST", "/v1/reports"): acc(R),
    ("GET", "/v1/reports"): acc(R, C, P),
    ("GET", "/v1/reports/{report_id}"): acc(R, C, P, scoped=True),
    ("POST", "/v1/reports/{report_id}/triage"): acc(
        C, body={"decision": "dismiss", "reason": "중복 제보"}, scoped=True
    ),
    # --- visits and facilities ------------------------------------------------------------------------------
    ("GET", "/v1/visits"): acc(C, P, W, IC),
    ("POST", "/v1/visits"): acc(C, P),
    ("GET", "/v1/visits/{visit_id}"): acc(C, P, W, IC, scoped=True),
    ("PATCH", "/v1/visits/{visit_id}"): acc(C, P, body={}, scoped=True),
    ("PUT", "/v1/visits/{visit_id}/assignees"): acc(C, P, body={"assignees": ["<planner>"]}, scoped=True),
    ("POST", "/v1/visits/{visit_id}/transitions"): acc(C, P, W, body={"to": "in_progress"}, scoped=True),
    ("GET", "/v1/visits/{visit_id}/transitions"): acc(C, P, W, scoped=True),
    ("GET", "/v1/facilities"): acc(A, C, P, W),
    ("POST", "/v1/facilities"): acc(A, C),
    ("GET", "/v1/facilities/{facility_id}"): acc(A, C, P, W, scoped=True),
    ("PATCH", "/v1/facilities/{facility_id}"): acc(A, C, body={}, scoped=True),
    ("DELETE", "/v1/facilities/{facility_id}"): acc(A, C, scoped=True),
    # --- audit ----------------------------------------------------------------------------------------------
    ("GET", "/v1/audit-events"): acc(A),
    ("GET", "/v1/audit-reports/monthly"): acc(A),
    ("GET", "/v1/destructions"): acc(A),
    ("POST", "/v1/audit-reports/monthly/{month}/sign-off"): acc(A, body={"comment": "matrix check"}),
    # --- care (cases are scoped by the policy's case_filter) ------------------------------------------------
    ("GET", "/v1/resources"): acc(A, C, P, W),
    ("POST", "/v1/resources"): acc(A, C),
    ("GET", "/v1/resources/{resource_id}"): acc(A, C, P, W),
    ("PATCH", "/v1/resources/{resource_id}"): acc(A, C, body={}),
    ("DELETE", "/v1/resources/{resource_id}"): acc(A, C),
    ("GET", "/v1/supports"): acc(C, P, W, IC),
    ("POST", "/v1/supports"): acc(C, P, W),
    ("GET", "/v1/supports/{support_id}"): acc(C, P, W, IC),
    ("PATCH", "/v1/supports/{support_id}"): acc(C, P, W, body={}),
    ("POST", "/v1/supports/{support_id}/transitions"): acc(C, P, W),
    ("GET", "/v1/supports/{support_id}/history"): acc(C, P, W, IC),
    ("GET", "/v1/cases"): acc(C, P, W),
    ("POST", "/v1/cases"): acc(C, P),
    ("GET", "/v1/cases/{case_id}"): acc(C, P, W, scoped=True),
    ("PATCH", "/v1/cases/{case_id}"): acc(C, P, W, body={}, scoped=True, record_rule=frozenset({P, W})),
    ("POST", "/v1/cases/{case_id}/transitions"): acc(C, P, W),
    ("GET", "/v1/cases/{case_id}/history"): acc(C, P, W, scoped=True),
    ("POST", "/v1/cases/{case_id}/members"): acc(C, P, W),
    ("DELETE", "/v1/cases/{case_id}/members/{user_id}"): acc(C, P, W, record_rule=frozenset({P, W})),
    ("GET", "/v1/monitoring"): acc(C, P, W),
    ("POST", "/v1/monitoring"): acc(C, P),
    ("GET", "/v1/monitoring/due"): acc(C),
    ("POST", "/v1/monitoring/run"): acc(C),
    ("GET", "/v1/monitoring/{plan_id}"): acc(C, P, W),
    ("PATCH", "/v1/monitoring/{plan_id}"): acc(C, P, body={}),
    ("GET", "/v1/campaigns"): acc(C, P, W),
    ("POST", "/v1/campaigns"): acc(C),
    ("GET", "/v1/campaigns/{campaign_id}"): acc(C, P, W),
    ("PATCH", "/v1/campaigns/{campaign_id}"): acc(C, body={}),
    ("GET", "/v1/campaigns/{campaign_id}/summary"): acc(C),
    # --- checklists -----------------------------------------------------------------------------------------
    ("GET", "/v1/checklist-templates"): acc(A, C, P, W),
    ("POST", "/v1/checklist-templates"): acc(A, C, body=TEMPLATE),
    ("GET", "/v1/checklist-templates/{key}/versions/{version}"): acc(A, C, P, W),
    ("PUT", "/v1/checklist-templates/{key}/versions/{version}"): acc(
        A, C, body={k: v for k, v in TEMPLATE.items() if k != "key"}
    ),
    ("PATCH", "/v1/checklist-templates/{key}/versions/{version}"): acc(A, C, body={}),
    ("DELETE", "/v1/checklist-templates/{key}/versions/{version}"): acc(A, C),
    ("POST", "/v1/checklist-templates/{key}/versions/{version}/publish"): acc(A, C),
    ("GET", "/v1/visits/{visit_id}/checklists"): acc(C, P, W),
    ("POST", "/v1/visits/{visit_id}/checklists"): acc(
        C,
        P,
        W,
        body={"template_key": "lonely_death_screening", "template_version": 1, "answers": {}},
        record_rule=frozenset({C}),
    ),
    ("GET", "/v1/visits/{visit_id}/checklists/{response_id}"): acc(C, P, W),
    ("PATCH", "/v1/visits/{visit_id}/checklists/{response_id}"): acc(C, P, W, body={}, record_rule=frozenset({C})),
    # --- notes and photos -----------------------------------------------------------------------------------
    ("GET", "/v1/notes"): acc(C, P, W),
    ("POST", "/v1/notes"): acc(C, P, W, body={"visit_id": "<visit_id>", "body": "관찰 메모"}),
    ("GET", "/v1/notes/{note_id}"): acc(C, P, W),
    ("PATCH", "/v1/notes/{note_id}"): acc(C, P, W, body={}, headers={"If-Match": "*"}),
    ("DELETE", "/v1/notes/{note_id}"): acc(C, P, W),
    ("GET", "/v1/visits/{visit_id}/photos"): acc(C, P, W, refused=HIDDEN),
    ("GET", "/v1/photos/{photo_id}"): acc(C, P, W, refused=HIDDEN),
    ("PATCH", "/v1/photos/{photo_id}"): acc(C, P, W, body={}, refused=HIDDEN),
    ("DELETE", "/v1/photos/{photo_id}"): acc(C, P, W, refused=HIDDEN),
    ("GET", "/v1/photos/{photo_id}/content"): acc(C, P, W, refused=HIDDEN),
    ("GET", "/v1/photos/{photo_id}/thumbnail"): acc(C, P, W, refused=HIDDEN),
    ("OPTIONS", "/v1/uploads/"): Access(ok=None, headers=TUS),
    ("OPTIONS", "/v1/uploads"): Access(ok=None, headers=TUS),
    ("OPTIONS", "/v1/uploads/{upload_id}"): Access(ok=None, headers=TUS),
    ("POST", "/v1/uploads/"): acc(C, P, W, headers=TUS_CREATE, refused=HIDDEN),
    ("POST", "/v1/uploads"): acc(C, P, W, headers=TUS_CREATE, refused=HIDDEN),
    ("HEAD", "/v1/uploads/{upload_id}"): acc(C, P, W, headers=TUS, refused=HIDDEN),
    ("PATCH", "/v1/uploads/{upload_id}"): acc(C, P, W, headers=TUS_PATCH, refused=HIDDEN),
    ("DELETE", "/v1/uploads/{upload_id}"): acc(C, P, W, headers=TUS, refused=HIDDEN),
    ("POST", "/v1/uploads/{upload_id}"): acc(
        C, P, W, headers={**TUS_PATCH, "X-HTTP-Method-Override": "PATCH"}, refused=HIDDEN
    ),
    # --- sync -----------------------------------------------------------------------------------------------
    ("GET", "/v1/sync/pull"): acc(C, P, W),
    ("POST", "/v1/sync/push"): acc(C, P, W, body={"device_id": "phone-1", "mutations": []}),
    ("POST", "/v1/sync/ack"): acc(C, P, W),
    ("GET", "/v1/devices/{device_id}/holdings"): acc(A),
    # --- other systems --------------------------------------------------------------------------------------
    ("PUT", "/v1/integrations/households/{source}/{external_id}"): acc(IC),
    ("GET", "/v1/integrations/households/{source}/{external_id}"): acc(IC),
    ("POST", "/v1/integrations/households:bulk"): acc(IC),
    ("POST", "/v1/integrations/imports"): acc(C, IC),
    ("GET", "/v1/integrations/imports/{import_id}"): acc(C, IC),
    ("GET", "/v1/integrations/imports/{import_id}/results"): acc(C, IC),
    ("POST", "/v1/webhooks"): acc(A, IC, body={"url": "https://example.org/hook", "event_types": ["visit.completed"]}),
    ("GET", "/v1/webhooks"): acc(A, IC),
    ("GET", "/v1/webhooks/{webhook_id}"): acc(A, IC),
    ("PATCH", "/v1/webhooks/{webhook_id}"): acc(A, IC, body={}),
    ("DELETE", "/v1/webhooks/{webhook_id}"): acc(A, IC),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): acc(A, IC),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}"): acc(A, IC),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): acc(A, IC),
    ("GET", "/v1/events"): acc(IC),
    ("GET", "/v1/exports/{kind}"): acc(C, IC, headers={"Ongi-Reason": "matrix check"}),
}


#: Routes that need a scope only a public organization's client may hold
# (docs/access.md#bounds-of-administrators-and-integrations).
WIDE = {
    ("GET", "/v1/households"),
    ("POST", "/v1/households/search"),
    ("GET", "/v1/households/{household_id}"),
    ("GET", "/v1/households/{household_id}/signals"),
    ("GET", "/v1/visits"),
    ("GET", "/v1/visits/{visit_id}"),
    ("PUT", "/v1/integrations/households/{source}/{external_id}"),
    ("GET", "/v1/integrations/households/{source}/{external_id}"),
    ("POST", "/v1/integrations/households:bulk"),
    ("POST", "/v1/integrations/imports"),
    ("GET", "/v1/integrations/imports/{import_id}"),
    ("GET", "/v1/integrations/imports/{import_id}/results"),
    ("GET", "/v1/exports/{kind}"),
}


def _derive(key: tuple[str, str], rule: Access) -> Access:
    """``rule`` with the dong admin's access (the admin's) and the private client's (the public client's, but
    never where a wide scope is needed)."""
    if rule.ok is None:
        return rule
    ok, refused, skip, record = set(rule.ok), dict(rule.refused), set(rule.scope_skip), set(rule.record_rule)
    for derived, base, allowed in ((AD, A, True), (IP, IC, key not in WIDE)):
        if base in rule.ok and allowed:
            ok.add(derived)
        if base in rule.refused:
            refused[derived] = rule.refused[base]
        if base in rule.scope_skip:
            skip.add(derived)
        if base in rule.record_rule:
            record.add(derived)
    return Access(
        ok=frozenset(ok),
        refused=refused,
        body=rule.body,
        form=rule.form,
        scoped=rule.scoped,
        scope_skip=frozenset(skip),
        record_rule=frozenset(record),
        headers=rule.headers,
    )


TABLE = {key: _derive(key, rule) for key, rule in TABLE.items()}


# --- the routes the app serves ------------------------------------------------------------------------------


def served_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path template) for every route of ``app.routes`` (included routers flattened)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))
            elif isinstance(route, Mount):
                yield from walk(list(route.routes or []), prefix + route.path)
            else:
                methods = set(getattr(route, "methods", None) or ())
                if methods - {"HEAD"}:
                    methods.discard("HEAD")
                for method in sorted(methods):
                    yield method, prefix + route.path

    yield from walk(list(app.routes), "")


def test_every_route_is_in_the_table(app: Any) -> None:
    served = set(served_routes(app))
    missing = sorted(served - set(TABLE))
    assert not missing, f"routes without an access rule in tests/access/test_access_matrix.py: {missing}"
    stale = sorted(set(TABLE) - served)
    assert not stale, f"rules for routes the app no longer serves: {stale}"
    # the table says something about each role
    for key, rule in TABLE.items():
        if rule.ok is not None:
            assert rule.ok <= EVERYONE, key
            assert set(rule.refused) <= EVERYONE - rule.ok, key


# --- the world ----------------------------------------------------------------------------------------------


@dataclass
class World:
    home: District
    away: District
    values: dict[str, dict[str, str]]  # param → {"in": …, "out": …}
    devices: dict[str, str]  # role → the device id of that role's own login (district A)
    far_devices: dict[str, str]
    actors: dict[str, Actor]  # role → the home district's actor of that role
    #: role → param → the value of its own reach (the dong admin's centre, planner and device)
    own: dict[str, dict[str, str]] = field(default_factory=dict)

    def actor(self, role: str) -> Actor:
        return self.actors[role]


async def _device_of(maker: async_sessionmaker[AsyncSession], actor: Actor) -> str:
    from sqlalchemy import select

    async with maker() as s:
        device = (await s.execute(select(Device).where(Device.user_id == actor.id))).scalars().first()
    return str(device.id) if device is not None else str(uuid.uuid4())


def _winter_records(d: District, household_id: uuid.UUID, dong: str, now: Any) -> tuple[Any, Any]:
    """A cold-wave alert of the district's coordinator and its check task for the district's planner."""
    from app.winter.models import Alert, Task, TaskKind, TaskSource

    alert = Alert(
        kind="cold_wave",
        dong_codes=[dong],
        starts_at=now,
        ends_at=now + timedelta(days=1),
        criteria={},
        due_hours=24,
        organization_id=d.public.id,
        created_by_id=d.coordinator.id,
    )
    task = Task(
        kind=TaskKind.alert_check,
        source=TaskSource.alert,
        household_id=household_id,
        alert_id=alert.id,
        assignee_id=d.planner.id,
        district_code=dong[:5],
        dong_code=dong,
        due_at=now + timedelta(hours=24),
    )
    return alert, task


async def build_world(factory: Factory, maker: async_sessionmaker[AsyncSession]) -> World:
    home = await district(factory, "11990", integration_scopes=None)
    away = await district(factory, "11110")
    objects: dict[str, dict[str, str]] = {}
    for side, d, dong in (("in", home, DONG_A), ("out", away, DONG_B)):
        household = await make_household(factory, dong)
        visit = await make_visit(factory, household, [d.planner.user, d.partner.user], purpose="assessment")
        consent = await make_consent(factory, household, d.coordinator.user, organization=d.private)
        now = utcnow()
        async with maker() as s:
            facility = Facility(
                name="경로당", kind="senior_center", district_code=dong[:5], dong_code=dong, address="온기로 1"
            )
            report = CrisisReport(
                reporter_id=d.reporter.id,
                reporter_organization_id=d.reporters.id,
                observation="인기척이 없음",
                address="온기로 2",
                district_code=dong[:5],
                dong_code=dong,
                subject_name="최고독",
            )
            case = Case(
                household_id=household.id,
                dong_code=dong,
                manager_id=d.coordinator.id,
                stage_started_at=now,
                opened_at=now - timedelta(days=1),
            )
            s.add_all([facility, report, case])
            await s.flush()
            alert, task = _winter_records(d, household.id, dong, now)
            s.add(alert)
            await s.flush()
            s.add(task)
            s.add_all(
                [
                    CaseMember(case_id=case.id, user_id=u.user.id, organization_id=u.org.id)
                    for u in (d.planner, d.partner)
                ]
            )
            await commit(s)
        values = {
            "household_id": household.id,
            "visit_id": visit.id,
            "consent_id": consent.id,
            "facility_id": facility.id,
            "report_id": report.id,
            "case_id": case.id,
            "org_id": d.private.id,
            "user_id": d.planner.id,
            "alert_id": alert.id,
            "task_id": task.id,
        }
        for name, value in values.items():
            objects.setdefault(name, {})[side] = str(value)
    # the bounds of §3.5: a dong centre of the home district with its admin and planner, a private centre of
    # that dong, and a private organization's client holding every scope (the wide ones stored anyway)
    dong_office = await factory.org(OrgKind.public, [DONG_A])
    dong_center = await factory.org(OrgKind.private, [DONG_A])
    dong_admin = await factory.actor(Role.admin, dong_office)
    dong_planner = await factory.actor(Role.planner, dong_office)
    everything = [
        "households:read",
        "visits:read",
        "households:import",
        "events:read",
        "supports:read",
        "exports:read",
    ]
    private_client = await factory.user(Role.integration, home.private, scopes=everything)
    r = await factory.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": private_client.username, "client_secret": PASSWORD},
    )
    assert r.status_code == 200, r.text
    # its login leaves the wide scopes out; a token naming them anyway (issued before the rule) is signed here
    claims = dict(factory.state.security.decode_access_token(r.json()["access_token"]))
    wide_token, _ = factory.state.security.create_access_token(
        subject=private_client.id,
        claims={"sid": claims["sid"], "role": claims["role"], "org": claims["org"], "scope": " ".join(everything)},
        ttl_seconds=600,
    )
    actors = {role: getattr(home, role) for role in (A, C, P, W, R, IC)}
    actors[AD] = dong_admin
    actors[IP] = Actor(user=private_client, org=home.private, token=wide_token)
    away_actors = {role: getattr(away, role) for role in (A, C, P, W, R, IC)}
    away_actors[AD], away_actors[IP] = away.admin, away.integration
    devices = {role: await _device_of(maker, actors[role]) for role in ROLES}
    far = {role: await _device_of(maker, away_actors[role]) for role in ROLES}
    objects["device_id"] = {"in": devices[P], "out": far[P]}
    own = {
        AD: {
            "org_id": str(dong_center.id),
            "user_id": str(dong_planner.id),
            "device_id": await _device_of(maker, dong_planner),
        }
    }
    # what lies beyond the dong admin although in its district: the district office, its staff and devices
    objects["org_id"]["near"] = str(home.public.id)
    objects["user_id"]["near"] = str(home.coordinator.id)
    objects["device_id"]["near"] = await _device_of(maker, home.coordinator)
    # records of the home district that some roles still may not reach ("near"): a household whose visit
    # has the partner on its team but no consent; a visit without the partner; another reporter's report
    near_household = await make_household(factory, DONG_A)
    await make_visit(factory, near_household, [home.planner.user, home.partner.user], purpose="assessment")
    near_visit = await make_visit(factory, near_household, [home.planner.user], purpose="follow_up")
    colleague = await factory.user(Role.reporter, home.reporters)
    async with maker() as s:
        near_report = CrisisReport(
            reporter_id=colleague.id,
            reporter_organization_id=home.reporters.id,
            observation="창문이 깨져 있음",
            address="온기로 9",
            district_code="11990",
            dong_code=DONG_A,
        )
        s.add(near_report)
        await commit(s)
    objects["household_id"]["near"] = str(near_household.id)
    objects["visit_id"]["near"] = str(near_visit.id)
    objects["report_id"]["near"] = str(near_report.id)
    return World(home=home, away=away, values=objects, devices=devices, far_devices=far, actors=actors, own=own)


FILLERS = {
    "key": "lonely_death_screening",
    "version": "1",
    "kind": "visits",
    "source": "bigdata",
    "external_id": "ext-1",
    "upload_id": uuid.uuid4().hex,
    "month": "2026-01",
}


def fill(path: str, world: World, role: str, side: str) -> str:
    out = path
    while "{" in out:
        start = out.index("{")
        name = out[start + 1 : out.index("}", start)]
        if name == "device_id" and side == "in" and role not in ADMINS:
            value = world.devices[role]  # a device is its owner's (admins: of the users they manage)
        elif name == "device_id" and side == "out" and role not in ADMINS:
            value = world.far_devices[role]
        elif side == "in" and name in world.own.get(role, {}):
            value = world.own[role][name]
        elif name in world.values:
            value = world.values[name].get(side, world.values[name]["in"])
        else:
            value = FILLERS.get(name, str(uuid.uuid4()))
        out = out.replace("{" + name + "}", value, 1)
    return out


def body_for(rule: Access, world: World) -> Any:
    """The rule's body with placeholders (``<visit_id>``, ``<planner>``) replaced by the home district's records."""

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
            name = value[1:-1]
            return str(world.home.planner.id) if name == "planner" else world.values[name]["in"]
        return value

    return resolve(rule.body)


def tus_metadata(world: World) -> str:
    values = {
        "photo_id": str(uuid.uuid4()),
        "visit_id": world.values["visit_id"]["in"],
        "sha256": "0" * 64,
        "filename": "a.jpg",
        "filetype": "image/jpeg",
    }
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@asynccontextmanager
async def rolled_back(maker: async_sessionmaker[AsyncSession]) -> Any:
    conn: AsyncConnection = maker.kw["bind"]
    savepoint = await conn.begin_nested()
    try:
        yield
    finally:
        await savepoint.rollback()


async def call(
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    method: str,
    path: str,
    rule: Access,
    world: World,
    actor: Actor | None,
) -> httpx.Response:
    headers = {k: (tus_metadata(world) if v == "<tus-metadata>" else v) for k, v in rule.headers.items()}
    if actor is not None:
        headers["Authorization"] = f"Bearer {actor.token}"
    body = body_for(rule, world)
    if body is None and method in ("POST", "PUT", "PATCH") and not rule.headers:
        body = {}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["data" if rule.form else "json"] = body
    async with rolled_back(maker):
        try:
            return await client.request(method, path, **kwargs)
        except AssertionError:  # a streamed answer that broke off (httpx's ASGI transport asserts)
            return httpx.Response(599, text="stream broke off")


DISCOVER = os.environ.get("ONGI_MATRIX_DISCOVER") == "1"
#: Path parameters with a record of the home district that these roles may still not reach.
NEAR = {
    "household_id": {W},
    "visit_id": {W},
    "report_id": {R},
    "org_id": {AD},
    "user_id": {AD},
    "device_id": {AD},
}


async def test_without_a_token_and_by_role(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    world = await build_world(factory, maker)
    failures: list[str] = []
    checks = 0
    for method, template in sorted(set(served_routes(app))):
        rule = TABLE[(method, template)]
        path = fill(template, world, C, "in")
        if DISCOVER:
            print("->", method, template, flush=True)
        anonymous = await call(client, maker, method, path, rule, world, None)
        checks += 1
        if rule.ok is None:
            if anonymous.status_code in (401, 403) and template not in ("/v1/auth/token", "/v1/auth/refresh"):
                failures.append(f"{method} {template} anonymous: {anonymous.status_code}")
            if anonymous.status_code >= 500:
                failures.append(f"{method} {template} anonymous: {anonymous.status_code}")
            continue
        if anonymous.status_code != 401:
            failures.append(f"{method} {template} anonymous: {anonymous.status_code} (want 401)")
        for role in ROLES:
            actor = world.actor(role)
            r = await call(client, maker, method, fill(template, world, role, "in"), rule, world, actor)
            checks += 1
            if role in rule.ok:
                refusals = (401,) if role in rule.record_rule else (401, 403)
                if r.status_code in refusals or r.status_code >= 500:
                    failures.append(f"{method} {template} {role}: {r.status_code} (allowed) {r.text[:120]}")
            else:
                want = rule.refused.get(role, 403)
                if r.status_code != want:
                    failures.append(f"{method} {template} {role}: {r.status_code} (want {want}) {r.text[:120]}")
    print(f"role matrix: {len(TABLE)} routes, {checks} requests")
    assert not failures, "\n".join(failures)


async def test_records_outside_scope_answer_404(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    world = await build_world(factory, maker)
    failures: list[str] = []
    checks = 0
    for (method, template), rule in sorted(TABLE.items()):
        if not rule.scoped or rule.ok is None:
            continue
        for role in sorted(rule.ok - rule.scope_skip):
            actor = world.actor(role)
            outside = await call(client, maker, method, fill(template, world, role, "out"), rule, world, actor)
            inside = await call(client, maker, method, fill(template, world, role, "in"), rule, world, actor)
            checks += 2
            if outside.status_code != 404:
                failures.append(
                    f"{method} {template} {role} other district: {outside.status_code} {outside.text[:120]}"
                )
            if any("{" + name + "}" in template and role in roles for name, roles in NEAR.items()):
                near = await call(client, maker, method, fill(template, world, role, "near"), rule, world, actor)
                checks += 1
                if near.status_code != 404:
                    failures.append(
                        f"{method} {template} {role} unreachable record: {near.status_code} {near.text[:120]}"
                    )
            refusals = (401, 404) if role in rule.record_rule else (401, 403, 404)
            if inside.status_code in refusals or inside.status_code >= 500:
                failures.append(f"{method} {template} {role} own district: {inside.status_code} {inside.text[:160]}")
    print(f"scope matrix: {checks} requests")
    assert not failures, "\n".join(failures)
