"""The reference client (ongi_client) against the real app: offline days on several devices."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Household
from app.visits.models import VisitAssignee
from ongi_client import DeviceWiped, SyncClient
from tests.support.factories import PASSWORD, Factory, make_household, make_visit


class CutOff(httpx.AsyncBaseTransport):
    """Delivers requests to the app but loses the answer of the next push: a connection cut mid-way."""

    def __init__(self, app: object) -> None:
        self.inner = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        self.cut_next_push = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.cut_next_push and request.url.path == "/v1/sync/push":
            self.cut_next_push = False
            await response.aread()
            raise httpx.ReadError("connection reset", request=request)
        return response


@pytest.fixture
async def transport(app: object, maker: object) -> CutOff:
    return CutOff(app)


async def _phone(transport: CutOff, tmp_path: Path, username: str, device: str) -> SyncClient:
    http = httpx.AsyncClient(transport=transport, base_url="http://t")
    phone = SyncClient(tmp_path / f"{device}.db", http, device_id=device, device_name=device)
    await phone.login(username, PASSWORD)
    return phone


async def test_two_devices_offline_edit_the_same_household(
    transport: CutOff, factory: Factory, tmp_path: Path, maker: async_sessionmaker[AsyncSession]
) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    a_user = await factory.user(Role.planner, org)
    b_user = await factory.user(Role.planner, org)
    h = await make_household(factory)
    await make_visit(factory, h, [a_user, b_user], purpose="joint_consultation")
    a = await _phone(transport, tmp_path, a_user.username, "phone-a")
    b = await _phone(transport, tmp_path, b_user.username, "phone-b")
    await a.sync()
    await b.sync()
    hid = str(h.id)
    assert a.get("household", hid)["head_name"] == h.head_name  # type: ignore[index]

    # offline: both change the phone number; A also notes the living situation
    a.patch_household(hid, contact_phone="010-1000-0001", living_situation="겨울철 난방비 부담")
    b.patch_household(hid, contact_phone="010-2000-0002")
    assert a.get("household", hid)["contact_phone"] == "010-1000-0001"  # type: ignore[index]

    ra = await a.sync()
    rb = await b.sync()
    assert [r["status"] for r in ra.results] == ["applied"]
    assert [r["status"] for r in rb.results] == ["conflict"]
    assert rb.results[0]["server"] == {"contact_phone": "010-1000-0001"}
    await a.sync()
    # everyone converges on the server's state; nothing was lost (B's value is kept as a conflict)
    async with maker() as s:
        row = await s.get(Household, h.id)
        assert row is not None
    for phone in (a, b):
        data = phone.get("household", hid)
        assert data is not None
        assert (data["contact_phone"], data["living_situation"]) == (row.contact_phone, row.living_situation)
        assert phone.version("household", hid) == row.version


async def test_cut_off_push_is_retried_without_doubling(
    transport: CutOff, factory: Factory, tmp_path: Path, maker: async_sessionmaker[AsyncSession]
) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    user = await factory.user(Role.planner, org)
    h = await make_household(factory)
    await make_visit(factory, h, [user])
    phone = await _phone(transport, tmp_path, user.username, "phone-cut")
    await phone.sync()
    phone.patch_household(str(h.id), living_situation="첫째 날 기록")
    phone.patch_household(str(h.id), contact_phone="010-3000-0003")
    transport.cut_next_push = True
    with pytest.raises(httpx.ReadError):
        await phone.sync()
    assert len(phone.pending()) == 2  # nothing confirmed, nothing lost
    report = await phone.sync()
    assert [r["status"] for r in report.results] == ["duplicate", "duplicate"]
    async with maker() as s:
        row = await s.get(Household, h.id)
        assert row is not None
        assert row.version == 3  # two changes, applied once each
    assert phone.pending() == []
    assert phone.get("household", str(h.id))["contact_phone"] == "010-3000-0003"  # type: ignore[index]


async def test_lost_assignment_purges_and_revoked_device_wipes(
    transport: CutOff,
    factory: Factory,
    tmp_path: Path,
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    admin = await factory.actor(Role.admin, org)
    user = await factory.user(Role.planner, org)
    h1, h2 = await make_household(factory), await make_household(factory)
    v1 = await make_visit(factory, h1, [user])
    await make_visit(factory, h2, [user])
    phone = await _phone(transport, tmp_path, user.username, "phone-lost")
    await phone.sync()
    assert len(phone.all("visit")) == 2

    async with open_session(maker, write=True) as s:
        assignee = (await s.execute(select(VisitAssignee).where(VisitAssignee.visit_id == v1.id))).scalar_one()
        assignee.ended_at = utcnow()
    report = await phone.sync()
    assert report.revoked == 2  # the visit and its household
    assert phone.get("visit", str(v1.id)) is None
    assert phone.get("household", str(h1.id)) is None
    assert len(phone.all("visit")) == 1

    devices = (await client.get("/v1/devices", headers=admin.headers, params={"user_id": str(user.id)})).json()
    r = await client.post(
        f"/v1/devices/{devices['items'][0]['id']}/revoke", headers=admin.headers, json={"reason": "분실 신고"}
    )
    assert r.status_code == 200
    with pytest.raises(DeviceWiped):
        await phone.sync()
    assert phone.all("visit") == []
    assert phone.all("household") == []
    # logging in again on the revoked phone (400 invalid_grant with wipe, RFC 6749) also wipes
    with pytest.raises(DeviceWiped):
        await phone.login(user.username, PASSWORD)


async def test_drift_triggers_a_full_sync(transport: CutOff, factory: Factory, tmp_path: Path) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    user = await factory.user(Role.planner, org)
    await make_visit(factory, await make_household(factory), [user])
    phone = await _phone(transport, tmp_path, user.username, "phone-drift")
    await phone.sync()
    phone.db.execute("DELETE FROM record WHERE entity = 'household'")  # local corruption
    phone.db.commit()
    report = await phone.sync()
    assert report.full_sync
    assert len(phone.all("household")) == 1


async def test_joint_visit_over_offline_days_converges(
    transport: CutOff, factory: Factory, tmp_path: Path, maker: async_sessionmaker[AsyncSession]
) -> None:
    """A planner and a partner share a visit; both work offline, edit the same screening and the visit, and
    every device and the server end up agreeing, with nothing lost."""
    from app.checklists.models import ChecklistResponse
    from app.checklists.templates import ensure_builtin_templates
    from app.core.uow import commit
    from app.notes.models import Note
    from app.visits.models import Visit
    from tests.support.factories import make_consent

    district = await factory.org(OrgKind.public, ["11990"])
    center = await factory.org(OrgKind.private, ["11990"])
    planner_user = await factory.user(Role.planner, district)
    partner_user = await factory.user(Role.partner, center)
    async with maker() as s:
        await ensure_builtin_templates(s)
        await commit(s)
    h = await make_household(factory)
    await make_consent(factory, h, planner_user, organization=center)
    visit = await make_visit(
        factory,
        h,
        [planner_user, partner_user],
        purpose="joint_consultation",
        checklists=[{"key": "lonely_death_screening", "version": 1}],
    )
    vid = str(visit.id)
    planner = await _phone(transport, tmp_path, planner_user.username, "planner-phone")
    partner = await _phone(transport, tmp_path, partner_user.username, "partner-phone")
    await planner.sync()
    await partner.sync()
    assert partner.get("visit", vid)["household_id"] == str(h.id)  # type: ignore[index]
    assert (
        partner.get(
            "checklist_template",
            next(iter({r["id"] for r in partner.all("checklist_template") if r["key"] == "lonely_death_screening"})),
        )
        is not None
    )

    # day 2, offline: the planner starts the visit and the screening; the partner writes a note
    response_id = "9c5f6a3e-8d3b-4b47-9a5e-2f1d1c0b7a10"
    planner.transition_visit(vid, "in_progress")
    planner.answer_checklist(
        response_id,
        visit_id=vid,
        template_key="lonely_death_screening",
        template_version=1,
        answers={"lives_alone": True, "no_family_contact": True},
    )
    planner.add_note(visit_id=vid, body="현관에 우편물이 쌓여 있음", kind="observation")
    partner_note = partner.add_note(visit_id=vid, body="복지관 반찬 지원 가능", kind="consultation")
    for phone in (planner, partner):
        report = await phone.sync()
        assert {r["status"] for r in report.results} == {"applied"}, report.results
    await planner.sync()
    assert partner.get("checklist_response", response_id)["answers"]["lives_alone"]["value"] is True  # type: ignore[index]

    # day 3, offline: both change the same answer; the partner also answers another item and tries to
    # mark the visit no_contact after the planner completed it
    planner.answer_checklist(
        response_id,
        visit_id=vid,
        template_key="lonely_death_screening",
        template_version=1,
        answers={"no_family_contact": False},
    )
    partner.answer_checklist(
        response_id,
        visit_id=vid,
        template_key="lonely_death_screening",
        template_version=1,
        answers={"no_family_contact": True, "no_social_activity": True},
    )
    planner.transition_visit(vid, "completed", outcome="반찬 지원 연계")
    partner.transition_visit(vid, "no_contact")
    partner.edit_note(partner_note, "복지관 반찬 지원 주 2회 가능")
    first = await planner.sync()
    second = await partner.sync()
    assert {r["status"] for r in first.results} == {"applied"}
    statuses = [r["status"] for r in second.results]
    assert statuses == ["conflict", "rejected", "applied"], second.results
    conflict = second.results[0]
    assert "no_family_contact" in str(conflict["server"])
    await planner.sync()
    await partner.sync()

    async with maker() as s:
        server_visit = await s.get(Visit, visit.id)
        response = (
            await s.execute(select(ChecklistResponse).where(ChecklistResponse.visit_id == visit.id))
        ).scalar_one()
        notes = (await s.execute(select(Note).where(Note.visit_id == visit.id))).scalars().all()
    assert server_visit is not None
    assert server_visit.status.value == "completed"
    assert response.answers["no_family_contact"]["value"] is False  # the first writer's value kept
    assert response.answers["no_social_activity"]["value"] is True  # the other item merged
    assert len(notes) == 2
    for phone in (planner, partner):
        assert phone.pending() == []
        assert phone.get("visit", vid)["status"] == "completed"  # type: ignore[index]
        assert phone.version("visit", vid) == server_visit.version
        assert phone.version("checklist_response", str(response.id)) == response.version
        assert {n["id"] for n in phone.all("note")} == {str(n.id) for n in notes}
