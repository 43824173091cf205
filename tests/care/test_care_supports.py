"""Supports: the status flow and who may move it, capacity, history, events, access, sync log."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit.models import AuditEvent
from app.auth.models import Organization, User
from app.core.db import create_sessionmaker, utcnow
from app.core.errors import Problem
from app.core.principal import OrgKind, Principal, Role
from app.core.uow import open_session
from app.events.models import OutboxEvent
from app.households.models import Household
from app.monitoring.models import MonitoringPlan
from app.resources.models import Resource, ResourceKind
from app.supports.models import Support, SupportHistory, SupportStatus
from app.supports.schemas import SupportTransition
from app.sync.models import ChangeLog
from tests.support.care import coordinator_and_planner, fetch, make_resource, move, partner, propose
from tests.support.factories import Factory, make_consent, make_household, make_visit


async def test_public_benefit_flow_with_history_events_and_monitoring(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator, capacity=5)
    household = await make_household(factory)

    r = await propose(client, planner, household.id, resource["id"], reason="실직 후 3개월 소득 없음")
    assert r.status_code == 201, r.text
    support = r.json()
    assert support["status"] == "proposed"
    assert support["amount"] == resource["default_amount"]
    assert support["household_visible"] is True
    assert support["allowed_transitions"] == ["requested", "declined"]
    sid = support["id"]

    r = await move(client, planner, sid, "requested", amount=1_500_000)
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == 1_500_000
    assert r.json()["allowed_transitions"] == []  # a planner never approves a public benefit

    r = await move(client, planner, sid, "approved")
    assert r.status_code == 403
    r = await move(client, coordinator, sid, "approved")
    assert r.status_code == 200, r.text
    assert r.json()["approved_by_id"] == str(coordinator.id)
    res = await client.get(f"/v1/resources/{resource['id']}", headers=planner.headers)
    assert res.json()["remaining"] == 4
    [row] = await fetch(factory, Household, Household.id == household.id)
    assert row.status == "supported"

    r = await move(client, planner, sid, "provided", monitoring_interval_days=14)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "provided"
    assert r.json()["allowed_transitions"] == []

    history = (await client.get(f"/v1/supports/{sid}/history", headers=planner.headers)).json()["items"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"),
        ("proposed", "requested"),
        ("requested", "approved"),
        ("approved", "provided"),
    ]
    assert [h["actor_id"] for h in history] == [str(planner.id), str(planner.id), str(coordinator.id), str(planner.id)]

    events = await fetch(factory, OutboxEvent, OutboxEvent.household_id == household.id)
    changes = [(e.payload["from"], e.payload["to"]) for e in sorted(events, key=lambda e: e.seq)]
    assert changes == [
        (None, "proposed"),
        ("proposed", "requested"),
        ("requested", "approved"),
        ("approved", "provided"),
    ]
    assert all(e.type == "support.status_changed" and e.district_code == "11990" for e in events)
    assert set(events[0].payload) == {"support_id", "household_id", "resource_id", "case_id", "from", "to", "version"}

    plans = await fetch(factory, MonitoringPlan, MonitoringPlan.household_id == household.id)
    assert len(plans) == 1
    [row] = await fetch(factory, Household, Household.id == household.id)
    assert row.status == "monitoring"
    assert plans[0].owner_id == planner.id
    assert plans[0].interval_days == 14
    assert plans[0].source == "support"
    assert (plans[0].next_due_on - plans[0].starts_on).days == 14

    logged = await fetch(factory, ChangeLog, ChangeLog.entity == "support", ChangeLog.entity_id == uuid.UUID(sid))
    assert len(logged) == 4
    assert {c.household_id for c in logged} == {household.id}


async def test_a_closed_household_is_not_moved(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator)
    household = await make_household(factory, status="closed")
    sid = (await propose(client, planner, household.id, resource["id"])).json()["id"]
    await move(client, planner, sid, "requested")
    assert (await move(client, coordinator, sid, "approved")).status_code == 200
    [row] = await fetch(factory, Household, Household.id == household.id)
    assert row.status == "closed"


async def test_illegal_moves_answer_409_with_allowed(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator)
    household = await make_household(factory)
    sid = (await propose(client, planner, household.id, resource["id"])).json()["id"]
    r = await move(client, coordinator, sid, "approved")
    assert r.status_code == 409
    body = r.json()
    assert body["type"].endswith("/problems/support-illegal-transition")
    assert body["title"] == "허용되지 않는 지원 상태 변경입니다"  # its own kind, not the visits' title
    assert body["allowed"] == ["requested", "declined"]
    assert (await move(client, coordinator, sid, "proposed")).status_code == 409
    r = await move(client, planner, sid, "declined", reason="본인 거부")
    assert r.status_code == 200
    assert r.json()["decline_reason"] == "본인 거부"
    r = await move(client, coordinator, sid, "requested")
    assert r.status_code == 409
    assert r.json()["allowed"] == []
    r = await client.post(f"/v1/supports/{sid}/transitions", json={"to": "paid"}, headers=planner.headers)
    assert r.status_code == 422


async def test_private_resource_is_decided_by_its_provider(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    food_bank = await factory.org(OrgKind.private, ["11990"], name=f"온기푸드뱅크-{uuid.uuid4().hex[:6]}")
    provider_staff = await partner(factory, food_bank)
    stranger = await partner(factory)
    resource = await make_resource(
        client, coordinator, food_bank.id, name="푸드뱅크 꾸러미", kind="private_resource", category="food_bank"
    )
    household = await make_household(factory)
    sid = (await propose(client, planner, household.id, resource["id"], reason="식료품 부족")).json()["id"]

    # a support names its household: the provider's staff sees it only once it reaches the household
    # (assigned and consented, docs/access.md#consent-and-redaction), the stranger never (issue 13, item 4)
    assert (await client.get(f"/v1/supports/{sid}", headers=provider_staff.headers)).status_code == 404
    assert (await move(client, planner, sid, "requested")).status_code == 200
    assert (await move(client, provider_staff, sid, "approved")).status_code == 404
    await make_visit(factory, household, [planner.user, provider_staff.user], purpose="follow_up")
    await make_consent(factory, household, coordinator.user, organization=food_bank)
    r = await client.get(f"/v1/supports/{sid}", headers=provider_staff.headers)
    assert r.status_code == 200
    assert r.json()["household_visible"] is True
    assert (await client.get(f"/v1/supports/{sid}", headers=stranger.headers)).status_code == 404

    assert (await move(client, coordinator, sid, "approved")).status_code == 403
    r = await move(client, provider_staff, sid, "approved")
    assert r.status_code == 200, r.text
    assert (await move(client, planner, sid, "provided")).status_code == 403
    assert (await move(client, provider_staff, sid, "provided", schedule_monitoring=False)).status_code == 200
    assert await fetch(factory, MonitoringPlan, MonitoringPlan.household_id == household.id) == []


async def test_capacity_is_taken_on_approval_and_given_back_on_decline(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator, name="연탄 300장", capacity=1)
    first, second = await make_household(factory), await make_household(factory)
    a = (await propose(client, planner, first.id, resource["id"])).json()["id"]
    b = (await propose(client, planner, second.id, resource["id"])).json()["id"]
    for sid in (a, b):
        assert (await move(client, planner, sid, "requested")).status_code == 200
    assert (await move(client, coordinator, a, "approved")).status_code == 200
    r = await move(client, coordinator, b, "approved")
    assert r.status_code == 409
    assert r.json()["type"].endswith("/resource-exhausted")
    assert (await client.get(f"/v1/supports/{b}", headers=planner.headers)).json()["status"] == "requested"
    assert (await client.get(f"/v1/resources/{resource['id']}", headers=planner.headers)).json()["remaining"] == 0

    assert (await move(client, coordinator, a, "declined", reason="중복 지원")).status_code == 200
    res = (await client.get(f"/v1/resources/{resource['id']}", headers=planner.headers)).json()
    assert res["remaining"] == 1
    assert res["version"] == 3  # created, taken, given back: each a logged change
    assert (await move(client, coordinator, b, "approved")).status_code == 200
    logged = await fetch(
        factory, ChangeLog, ChangeLog.entity == "resource", ChangeLog.entity_id == uuid.UUID(resource["id"])
    )
    assert sorted(c.version for c in logged) == [1, 2, 3, 4]


async def test_partner_proposes_only_for_consented_assigned_households(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    resource = await make_resource(client, coordinator)
    consented = await make_household(factory)
    unconsented = await make_household(factory)
    unassigned = await make_household(factory)
    for household in (consented, unconsented):
        await make_visit(factory, household, [planner.user, worker.user], purpose="joint_consultation")
    await make_consent(factory, consented, planner.user, organization=worker.org)
    await make_consent(factory, unassigned, planner.user, organization=worker.org)

    r = await propose(client, worker, consented.id, resource["id"], reason="난방비 부담")
    assert r.status_code == 201, r.text
    assert r.json()["household_visible"] is True
    assert r.json()["reason"] == "난방비 부담"
    for household in (unconsented, unassigned):
        assert (await propose(client, worker, household.id, resource["id"])).status_code == 404
    listed = await client.get("/v1/supports", headers=worker.headers)
    assert [i["id"] for i in listed.json()["items"]] == [r.json()["id"]]
    assert (await move(client, worker, r.json()["id"], "requested")).status_code == 200
    assert (await move(client, worker, r.json()["id"], "approved")).status_code == 403


async def test_validation_duplicates_and_edits(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator)
    household = await make_household(factory)
    other_district = await make_household(factory, dong_code="1199051000")
    today = utcnow().date()

    r = await propose(
        client,
        planner,
        household.id,
        resource["id"],
        period_start=today.isoformat(),
        period_end=(today - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.period_end"
    assert (await propose(client, planner, household.id, str(uuid.uuid4()))).status_code == 422
    assert (await propose(client, planner, uuid.uuid4(), resource["id"])).status_code == 404

    sid = (await propose(client, planner, household.id, resource["id"])).json()["id"]
    dup = await propose(client, planner, household.id, resource["id"])
    assert dup.status_code == 409
    assert dup.json()["support_id"] == sid
    assert (await propose(client, planner, other_district.id, resource["id"])).status_code == 201

    r = await client.patch(
        f"/v1/supports/{sid}", json={"amount": 900_000}, headers={**planner.headers, "If-Match": '"v9"'}
    )
    assert r.status_code == 412
    r = await client.patch(
        f"/v1/supports/{sid}", json={"amount": 900_000}, headers={**planner.headers, "If-Match": '"v1"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == 900_000
    assert r.headers["etag"].startswith('"v2-')
    await move(client, planner, sid, "requested")
    await move(client, coordinator, sid, "approved")
    r = await client.patch(f"/v1/supports/{sid}", json={"amount": 1}, headers=planner.headers)
    assert r.status_code == 409


async def test_scope_by_jurisdiction_and_role(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator)
    household = await make_household(factory)
    sid = (await propose(client, planner, household.id, resource["id"])).json()["id"]
    elsewhere, elsewhere_planner = await coordinator_and_planner(factory, ["11680"])
    for actor in (elsewhere, elsewhere_planner):
        assert (await client.get(f"/v1/supports/{sid}", headers=actor.headers)).status_code == 404
        assert (await client.get("/v1/supports", headers=actor.headers)).json()["items"] == []
        assert (await move(client, actor, sid, "requested")).status_code == 404
    reporter = await factory.actor(Role.reporter)
    assert (await client.get("/v1/supports", headers=reporter.headers)).status_code == 403
    assert (await propose(client, reporter, household.id, resource["id"])).status_code == 403
    admin = await factory.actor(Role.admin, coordinator.org)
    assert (await client.get("/v1/supports", headers=admin.headers)).status_code == 403
    listed = await client.get(
        "/v1/supports", params={"household_id": str(household.id), "status": ["proposed"]}, headers=coordinator.headers
    )
    assert [i["id"] for i in listed.json()["items"]] == [sid]
    listed = await client.get("/v1/supports", params={"status": ["approved"]}, headers=coordinator.headers)
    assert sid not in [i["id"] for i in listed.json()["items"]]


# --- concurrency: two approvals of the last unit, in two real transactions ---------------------------------------


async def test_concurrent_approvals_of_the_last_unit_never_oversubscribe(engine: AsyncEngine) -> None:
    """Committed data in its own district (11991), removed at the end; no per-test transaction here."""
    maker = create_sessionmaker(engine)
    tag = uuid.uuid4().hex[:8]
    async with open_session(maker, write=True) as s:
        org = Organization(name=f"concurrency-{tag}", kind=OrgKind.public, jurisdiction=["11991"])
        s.add(org)
        await s.flush()
        user = User(organization_id=org.id, username=f"coord-{tag}", display_name="c", role=Role.coordinator)
        s.add(user)
        await s.flush()
        resource = Resource(
            name="last unit",
            kind=ResourceKind.public_benefit,
            category="emergency_welfare",
            provider_organization_id=org.id,
            district_code="11991",
            capacity=1,
            remaining=1,
        )
        households = [
            Household(district_code="11991", dong_code="1199151000", address=f"a{i}", head_name=f"h{i}")
            for i in range(2)
        ]
        s.add_all([resource, *households])
        await s.flush()
        supports = [
            Support(
                household_id=h.id,
                resource_id=resource.id,
                district_code="11991",
                dong_code="1199151000",
                status=SupportStatus.requested,
                provider_organization_id=org.id,
                proposed_by_id=user.id,
                status_changed_at=utcnow(),
            )
            for h in households
        ]
        s.add_all(supports)
    principal = Principal(
        user_id=user.id,
        username=user.username,
        role=Role.coordinator,
        organization_id=org.id,
        org_kind=OrgKind.public,
        jurisdiction=("11991",),
    )
    from app.supports import service as service

    gate = asyncio.Event()

    async def approve(support_id: uuid.UUID) -> str:
        try:
            async with open_session(maker, write=True) as s:
                await gate.wait()
                support, view = await service.get_support_or_404(s, principal, support_id)
                await service.transition_support(s, principal, support, view, SupportTransition(to="approved"))
            return "approved"
        except Problem as exc:
            return exc.slug

    try:
        tasks = [asyncio.create_task(approve(sp.id)) for sp in supports]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        assert sorted(results) == ["approved", "resource-exhausted"]
        async with maker() as s:
            left = (await s.execute(select(Resource.remaining).where(Resource.id == resource.id))).scalar_one()
            statuses = sorted(
                (await s.execute(select(Support.status).where(Support.resource_id == resource.id))).scalars()
            )
        assert left == 0
        assert statuses == [SupportStatus.approved, SupportStatus.requested]
    finally:
        async with open_session(maker, write=True) as s:
            ids = [sp.id for sp in supports]
            household_ids = [h.id for h in households]
            await s.execute(delete(OutboxEvent).where(OutboxEvent.household_id.in_(household_ids)))
            await s.execute(delete(ChangeLog).where(ChangeLog.entity_id.in_([*ids, resource.id, *household_ids])))
            await s.execute(delete(AuditEvent).where(AuditEvent.actor_id == user.id))
            await s.execute(delete(SupportHistory).where(SupportHistory.support_id.in_(ids)))
            await s.execute(delete(Support).where(Support.id.in_(ids)))
            await s.execute(delete(Resource).where(Resource.id == resource.id))
            await s.execute(delete(Household).where(Household.id.in_(household_ids)))
            await s.execute(delete(User).where(User.id == user.id))
            await s.execute(delete(Organization).where(Organization.id == org.id))


@pytest.mark.parametrize("to", ["requested", "approved", "provided"])
async def test_monitoring_fields_only_when_provided(client: httpx.AsyncClient, factory: Factory, to: str) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator)
    household = await make_household(factory)
    sid = (await propose(client, planner, household.id, resource["id"])).json()["id"]
    if to != "requested":
        await move(client, planner, sid, "requested")
    if to == "provided":
        await move(client, coordinator, sid, "approved")
    actor = coordinator if to == "approved" else planner
    r = await move(client, actor, sid, to, monitoring_interval_days=7)
    assert r.status_code == (200 if to == "provided" else 422), r.text


async def test_history_pages_by_its_own_time_not_by_when_the_row_was_written(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A history ordered by ``at`` is paged by ``at``: the cursor is written from the column the page sorts by
    (it was written from ``created_at``, so a history whose times differ from the rows' could repeat or skip)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from app.supports.models import SupportHistory

    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator, capacity=5)
    household = await make_household(factory)
    sid = (await propose(client, planner, household.id, resource["id"], reason="소득 없음")).json()["id"]
    assert (await move(client, planner, sid, "requested")).status_code == 200
    assert (await move(client, coordinator, sid, "approved")).status_code == 200
    assert (await move(client, planner, sid, "provided", monitoring_interval_days=14)).status_code == 200
    rows = await fetch(factory, SupportHistory, SupportHistory.support_id == uuid.UUID(sid))
    assert len(rows) == 4
    # times the other way round from the order the rows were written (as a history filled in afterwards is)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    async with factory.maker() as s:
        for n, row in enumerate(sorted(rows, key=lambda r: (r.created_at, r.id))):
            await s.execute(
                update(SupportHistory).where(SupportHistory.id == row.id).values(at=base - timedelta(hours=n))
            )
        await s.commit()

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/v1/supports/{sid}/history", headers=planner.headers, params=params)).json()
        seen += [h["id"] for h in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(r.id) for r in rows), "a page repeated or skipped a history entry"
