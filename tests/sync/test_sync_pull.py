"""Sync pulls (docs/sync.md#pull): scope, cursors, lost responses, revocation, paging, leases, audit."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Consent, Household
from app.visits.models import Visit, VisitAssignee
from tests.support.factories import Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone


async def _team(factory: Factory):  # type: ignore[no-untyped-def]
    district = await factory.org(OrgKind.public, ["11990"])
    center = await factory.org(OrgKind.private, ["11990"])
    planner = await factory.actor(Role.planner, district)
    partner = await factory.actor(Role.partner, center)
    return district, center, planner, partner


async def test_first_sync_then_nothing_new(client: httpx.AsyncClient, factory: Factory) -> None:
    _, _, planner, _ = await _team(factory)
    h1, h2 = await make_household(factory), await make_household(factory)
    v1 = await make_visit(factory, h1, [planner.user])
    v2 = await make_visit(factory, h2, [planner.user])
    other = await make_visit(factory, await make_household(factory), [])  # not assigned: not on the phone

    phone = Phone(client, planner)
    changes = await phone.sync()
    assert phone.ids("visit") == {str(v1.id), str(v2.id)}
    assert phone.ids("household") == {str(h1.id), str(h2.id)}
    assert str(other.id) not in phone.ids("visit")
    visit = phone.store[("visit", str(v1.id))]["data"]
    assert visit["household_id"] == str(h1.id)
    assert visit["assignees"] == [str(planner.id)]
    assert {
        "id",
        "version",
        "purpose",
        "status",
        "window_start",
        "window_end",
        "checklists",
        "expected_photos",
        "outcome",
        "checked_in_at",
        "checked_out_at",
        "overdue",
        "campaign_id",
    } <= set(visit)
    household = phone.store[("household", str(h1.id))]["data"]
    assert household["head_name"] == h1.head_name
    assert "rrn" not in str(household)
    assert all(c["op"] == "upsert" and c["hold_until"] for c in changes)
    assert phone.last["hold_until"]

    again = await phone.pull_once()
    assert again["changes"] == []
    assert again["checksum"] == phone.checksum()


async def test_server_change_arrives_once(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    _, _, planner, _ = await _team(factory)
    h = await make_household(factory)
    v = await make_visit(factory, h, [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    async with open_session(maker, write=True) as s:
        row = await s.get(Household, h.id)
        assert row is not None
        row.contact_phone = "010-9999-0000"
    changes = await phone.sync()
    assert [(c["entity"], c["id"], c["version"]) for c in changes] == [("household", str(h.id), 2)]
    assert phone.store[("household", str(h.id))]["data"]["contact_phone"] == "010-9999-0000"
    assert await phone.sync() == []
    assert phone.store[("visit", str(v.id))]["version"] == 1


async def test_lost_response_is_sent_again(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    _, _, planner, _ = await _team(factory)
    h = await make_household(factory)
    await make_visit(factory, h, [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    cursor_before = phone.cursor
    async with open_session(maker, write=True) as s:
        row = await s.get(Household, h.id)
        assert row is not None
        row.living_situation = "보일러 고장"
    lost = await client.get("/v1/sync/pull", params={"cursor": cursor_before}, headers=planner.headers)
    assert [c["id"] for c in lost.json()["changes"]] == [str(h.id)]
    # the phone never saw that answer and asks again with its old cursor
    retry = await client.get("/v1/sync/pull", params={"cursor": cursor_before}, headers=planner.headers)
    assert [c["id"] for c in retry.json()["changes"]] == [str(h.id)]
    phone.apply(retry.json())
    assert phone.checksum() == retry.json()["checksum"]


async def test_ended_assignment_is_revoked_and_acked(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    district, _, planner, _ = await _team(factory)
    admin = await factory.actor(Role.admin, district)
    h = await make_household(factory)
    v = await make_visit(factory, h, [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    async with open_session(maker, write=True) as s:
        assignee = (await s.execute(select(VisitAssignee).where(VisitAssignee.visit_id == v.id))).scalar_one()
        assignee.ended_at = utcnow()
    changes = await phone.sync()
    assert sorted((c["entity"], c["op"]) for c in changes) == [("household", "revoke"), ("visit", "revoke")]
    assert phone.store == {}

    held = await client.get(f"/v1/devices/{planner.extra['device']}/holdings", headers=admin.headers)
    assert held.status_code == 200, held.text
    assert {i["entity_id"] for i in held.json()["items"]} == {str(v.id), str(h.id)}
    assert await phone.ack() == 2
    held = await client.get(f"/v1/devices/{planner.extra['device']}/holdings", headers=admin.headers)
    assert held.json()["items"] == []
    assert await phone.sync() == []


async def test_renewal_leases_everything_held_and_not_what_was_revoked(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    """A pull whose renewal is due leases every record the phone holds (``hold_until`` at the top); the device
    keeps that lease once, and its holdings answer it, but a record told to go keeps the lease it had."""
    from app.sync.models import DeviceSyncState

    district, _, planner, _ = await _team(factory)
    admin = await factory.actor(Role.admin, district)
    kept, gone = await make_household(factory), await make_household(factory)
    v_kept = await make_visit(factory, kept, [planner.user])
    v_gone = await make_visit(factory, gone, [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    first = phone.last["hold_until"]
    device = uuid.UUID(str(planner.extra["device"]))

    async with open_session(maker, write=True) as s:
        assignee = (await s.execute(select(VisitAssignee).where(VisitAssignee.visit_id == v_gone.id))).scalar_one()
        assignee.ended_at = utcnow()
    await phone.sync()
    assert set(phone.store) == {("visit", str(v_kept.id)), ("household", str(kept.id))}

    async with open_session(maker, write=True) as s:  # the lease is due for renewal (half of it has passed)
        st = (await s.execute(select(DeviceSyncState).where(DeviceSyncState.device_id == device))).scalar_one()
        st.renew_after = utcnow() - timedelta(seconds=1)
        st.hold_until = utcnow() + timedelta(hours=1)  # as if given long ago
    renewed = await phone.pull_once()
    assert renewed["changes"] == []
    assert renewed["hold_until"] > first

    held = await client.get(f"/v1/devices/{device}/holdings", headers=admin.headers)
    assert held.status_code == 200, held.text
    leases = {i["entity_id"]: (i["hold_until"], i["revoked_at"]) for i in held.json()["items"]}
    assert set(leases) == {str(v_kept.id), str(kept.id), str(v_gone.id), str(gone.id)}

    def same(a: str, b: str) -> bool:  # the holdings view and the pull write the same instant differently
        from datetime import datetime

        return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(b.replace("Z", "+00:00"))

    assert same(leases[str(v_kept.id)][0], renewed["hold_until"])
    assert same(leases[str(kept.id)][0], renewed["hold_until"])
    for eid in (str(v_gone.id), str(gone.id)):  # revoked: not renewed (the lease stamped when the revoke was sent)
        until, revoked_at = leases[eid]
        assert revoked_at is not None
        assert until < renewed["hold_until"]
        assert not same(until, renewed["hold_until"])


async def test_soft_deleted_visit_is_a_tombstone(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    _, _, planner, _ = await _team(factory)
    h = await make_household(factory)
    v = await make_visit(factory, h, [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    async with open_session(maker, write=True) as s:
        row = await s.get(Visit, v.id)
        assert row is not None
        row.deleted_at = utcnow()
    changes = await phone.sync()
    ops = {(c["entity"], c["op"]) for c in changes}
    assert ("visit", "delete") in ops
    assert ("visit", str(v.id)) not in phone.store


async def test_partner_sees_household_only_with_consent(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    _, center, planner, partner = await _team(factory)
    h = await make_household(factory)
    v = await make_visit(factory, h, [planner.user, partner.user], purpose="joint_consultation")
    phone = Phone(client, partner)
    await phone.sync()
    assert phone.ids("household") == set()
    assert "household_id" not in phone.store[("visit", str(v.id))]["data"]

    consent = await make_consent(factory, h, planner.user, organization=center)
    await phone.sync()
    assert phone.ids("household") == {str(h.id)}
    assert phone.store[("visit", str(v.id))]["data"]["household_id"] == str(h.id)

    async with open_session(maker, write=True) as s:
        row = await s.get(Consent, consent.id)
        assert row is not None
        row.withdrawn_at = utcnow()
    changes = await phone.sync()
    assert ("household", "revoke") in {(c["entity"], c["op"]) for c in changes}
    assert phone.ids("household") == set()
    assert "household_id" not in phone.store[("visit", str(v.id))]["data"]


async def test_paged_first_sync_has_every_record_once(client: httpx.AsyncClient, factory: Factory) -> None:
    _, _, planner, _ = await _team(factory)
    for _ in range(5):
        await make_visit(factory, await make_household(factory), [planner.user])
    phone = Phone(client, planner)
    changes = await phone.sync(limit=3)
    keys = [(c["entity"], c["id"]) for c in changes]
    assert len(keys) == len(set(keys)) == 10
    assert len(phone.store) == 10


async def test_visits_outside_the_window_leave_the_phone(client: httpx.AsyncClient, factory: Factory) -> None:
    _, _, planner, _ = await _team(factory)
    now = utcnow()
    old = await make_visit(
        factory,
        await make_household(factory),
        [planner.user],
        window_start=now - timedelta(days=30),
        window_end=now - timedelta(days=29),
    )
    phone = Phone(client, planner)
    await phone.sync()
    assert str(old.id) not in phone.ids("visit")


async def test_bad_cursors_answer_410(client: httpx.AsyncClient, factory: Factory) -> None:
    _, _, planner, partner = await _team(factory)
    await make_visit(factory, await make_household(factory), [planner.user])
    for cursor in ("garbage", "MS5hYmMuMS4xLjIwMjYtMTEtMjIueHh4"):
        r = await client.get("/v1/sync/pull", params={"cursor": cursor}, headers=planner.headers)
        assert r.status_code == 410
        assert r.json()["type"].endswith("/problems/cursor-expired")
    mine = Phone(client, planner)
    await mine.sync()
    stolen = await client.get("/v1/sync/pull", params={"cursor": mine.cursor}, headers=partner.headers)
    assert stolen.status_code == 410


async def test_sync_needs_a_device_and_a_field_role(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public)
    planner = await factory.login(await factory.user(Role.planner, org), org, device_id=None)
    r = await client.get("/v1/sync/pull", headers=planner.headers)
    assert r.status_code == 409
    admin = await factory.actor(Role.admin, org)
    assert (await client.get("/v1/sync/pull", headers=admin.headers)).status_code == 403
    reporter = await factory.actor(Role.reporter)
    assert (await client.get("/v1/sync/pull", headers=reporter.headers)).status_code == 403


async def test_every_household_sent_is_audited(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    _, _, planner, _ = await _team(factory)
    h = await make_household(factory)
    await make_visit(factory, h, [planner.user])
    await Phone(client, planner).sync()
    async with maker() as s:
        events = (
            (
                await s.execute(
                    select(AuditEvent).where(
                        AuditEvent.household_id == h.id,
                        AuditEvent.action == "sync.pull",
                        AuditEvent.entity == "household",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(events) == 1
    assert events[0].actor_id == planner.id
    assert str(events[0].device_id) == planner.extra["device"]


async def test_revoked_device_is_told_to_wipe(client: httpx.AsyncClient, factory: Factory) -> None:
    district, _, planner, _ = await _team(factory)
    admin = await factory.actor(Role.admin, district)
    await make_visit(factory, await make_household(factory), [planner.user])
    phone = Phone(client, planner)
    await phone.sync()
    await client.post(f"/v1/devices/{planner.extra['device']}/revoke", headers=admin.headers, json={"reason": "분실"})
    r = await client.get("/v1/sync/pull", params={"cursor": phone.cursor}, headers=planner.headers)
    assert r.status_code == 401
    assert r.json()["wipe"] is True


async def test_resources_and_supports_reach_the_phone(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    from app.resources.models import Resource, ResourceKind
    from app.supports.models import Support

    district, _, planner, _ = await _team(factory)
    h = await make_household(factory)
    await make_visit(factory, h, [planner.user])
    now = utcnow()
    async with open_session(maker, write=True) as s:
        resource = Resource(
            name="에너지바우처",
            kind=ResourceKind.public_benefit,
            category="energy",
            provider_organization_id=district.id,
            district_code="11990",
        )
        far = Resource(
            name="먼 곳 푸드뱅크",
            kind=ResourceKind.private_resource,
            category="food",
            provider_organization_id=district.id,
            district_code="11110",
        )
        s.add_all([resource, far])
        await s.flush()
        support = Support(
            household_id=h.id,
            resource_id=resource.id,
            district_code="11990",
            dong_code=h.dong_code,
            provider_organization_id=district.id,
            proposed_by_id=planner.id,
            status_changed_at=now,
        )
        s.add(support)
    phone = Phone(client, planner)
    await phone.sync()
    assert str(resource.id) in phone.ids("resource")
    assert str(far.id) not in phone.ids("resource")
    assert phone.ids("support") == {str(support.id)}
    assert phone.store[("support", str(support.id))]["data"]["status"] == "proposed"
