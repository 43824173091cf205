"""A pull after changes that concern only other devices (docs/sync.md#pull, docs/performance.md#budget): nothing to
diff, nothing
written, the cursor moves past them; any change that could concern the device still leads to a diff."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.households.models import Household
from app.sync import sift
from app.sync.models import DeviceHolding, DeviceSyncState
from app.visits.models import VisitAssignee
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone


def pulls(app: object, path: str) -> float:
    registry = app.state.ongi.metrics.registry  # type: ignore[attr-defined]
    return registry.get_sample_value("ongi_sync_pulls_total", {"path": path}) or 0.0


async def _edit(maker: async_sessionmaker[AsyncSession], household_id: uuid.UUID, text: str) -> None:
    async with maker() as s:
        h = await s.get(Household, household_id)
        assert h is not None
        h.living_situation = text
        await commit(s)


async def _note(client: httpx.AsyncClient, actor: Actor, visit_id: uuid.UUID, body: str) -> None:
    r = await client.post(
        "/v1/notes",
        json={"visit_id": str(visit_id), "body": body, "kind": "observation", "internal": False},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text


async def test_others_changes_are_sifted_then_the_next_pull_is_fast(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    district = await factory.org(OrgKind.public, ["11990"])
    me, other = await factory.actor(Role.planner, district), await factory.actor(Role.planner, district)
    mine, theirs = await make_household(factory), await make_household(factory)
    await make_visit(factory, mine, [me.user])
    their_visit = await make_visit(factory, theirs, [other.user])
    phone = Phone(client, me)
    await phone.sync()
    async with maker() as s:
        state_before = (
            await s.execute(select(DeviceSyncState).where(DeviceSyncState.device_id == uuid.UUID(me.extra["device"])))
        ).scalar_one()
        holdings_before = (await s.execute(select(func.count()).select_from(DeviceHolding))).scalar_one()

    await _edit(maker, theirs.id, "다른 팀의 수정")
    await _note(client, other, their_visit.id, "다른 팀의 기록")
    sifted, diffs = pulls(app, "sifted"), pulls(app, "diff")
    cursor = phone.cursor
    body = await phone.pull_once()
    assert body["changes"] == []
    assert body["cursor"] != cursor
    assert (pulls(app, "sifted"), pulls(app, "diff")) == (sifted + 1, diffs)
    async with maker() as s:
        state = (
            await s.execute(select(DeviceSyncState).where(DeviceSyncState.device_id == uuid.UUID(me.extra["device"])))
        ).scalar_one()
        assert (state.batch, state.version) == (state_before.batch, state_before.version)  # nothing written
        assert (await s.execute(select(func.count()).select_from(DeviceHolding))).scalar_one() == holdings_before
    fast = pulls(app, "fast")
    assert (await phone.pull_once())["changes"] == []
    assert pulls(app, "fast") == fast + 1

    # then a change to my household arrives, re-read within what the phone holds
    partial = pulls(app, "partial")
    await _edit(maker, mine.id, "내 가구의 수정")
    changes = await phone.sync()
    assert [(c["entity"], c["id"]) for c in changes] == [("household", str(mine.id))]
    assert (pulls(app, "partial"), pulls(app, "diff")) == (partial + 1, diffs)


async def test_what_concerns_the_device_is_never_sifted(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    district = await factory.org(OrgKind.public, ["11990"])
    center = await factory.org(OrgKind.private, ["11990"])
    me, other = await factory.actor(Role.planner, district), await factory.actor(Role.planner, district)
    partner = await factory.actor(Role.partner, center)
    h = await make_household(factory)
    joint = await make_visit(factory, h, [me.user, partner.user], purpose="joint_consultation")
    phone, partner_phone = Phone(client, me), Phone(client, partner)
    await phone.sync()
    await partner_phone.sync()
    assert partner_phone.ids("household") == set()
    sifted = pulls(app, "sifted")

    # consent for the partner's household
    await make_consent(factory, h, me.user, organization=center)
    await partner_phone.sync()
    assert partner_phone.ids("household") == {str(h.id)}

    # a team mate's note on the joint visit
    await _note(client, me, joint.id, "함께 방문한 기록")
    notes = [c for c in await partner_phone.sync() if c["entity"] == "note"]
    assert len(notes) == 1

    # a new visit assigned to me, on a household I do not hold yet
    fresh = await make_household(factory)
    new_visit = await make_visit(factory, fresh, [other.user])
    async with maker() as s:
        s.add(VisitAssignee(visit_id=new_visit.id, user_id=me.user.id, organization_id=district.id))
        await commit(s)
    await phone.sync()
    assert str(new_visit.id) in phone.ids("visit")
    assert str(fresh.id) in phone.ids("household")
    assert pulls(app, "sifted") == sifted


async def test_partial_diff_sends_new_changed_and_deleted_records(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    """Content changes within what the phone holds are re-read record by record: a team mate's new note
    arrives, an edited one is sent again, a deleted one is sent as a delete."""
    from app.notes.models import Note

    district = await factory.org(OrgKind.public, ["11990"])
    me, mate = await factory.actor(Role.planner, district), await factory.actor(Role.planner, district)
    h = await make_household(factory)
    visit = await make_visit(factory, h, [me.user, mate.user])
    await _note(client, mate, visit.id, "첫 기록")
    phone = Phone(client, me)
    await phone.sync()
    (first_id,) = [eid for (entity, eid) in phone.store if entity == "note"]

    partial, diffs = pulls(app, "partial"), pulls(app, "diff")
    await _note(client, mate, visit.id, "둘째 기록")
    async with maker() as s:
        first = await s.get(Note, uuid.UUID(first_id))
        assert first is not None
        first.deleted_at = utcnow()
        await commit(s)
    changes = await phone.sync()
    ops = sorted((c["entity"], c["op"]) for c in changes)
    assert ops == [("note", "delete"), ("note", "upsert")]
    assert [c["data"]["body"] for c in changes if c["op"] == "upsert"] == ["둘째 기록"]
    assert (pulls(app, "partial"), pulls(app, "diff")) == (partial + 1, diffs)
    assert len(phone.ids("note")) == 1


async def test_a_device_far_behind_takes_the_change_log_in_slices_not_a_diff(
    client: httpx.AsyncClient,
    factory: Factory,
    maker: async_sessionmaker[AsyncSession],
    app: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More changes since the cursor than one pull sifts: the pull takes the first slice of the log (sending what
    concerns the device, or moving past what does not) and says there is more; the next pull goes on from the
    slice's end. Nothing is skipped and no pull diffs the whole scope."""
    monkeypatch.setattr(sift, "SIFT_LIMIT", 4)
    district = await factory.org(OrgKind.public, ["11990"])
    me, mate, other = [await factory.actor(Role.planner, district) for _ in range(3)]
    mine, theirs = await make_household(factory), await make_household(factory)
    my_visit = await make_visit(factory, mine, [me.user, mate.user])
    their_visit = await make_visit(factory, theirs, [other.user])
    phone = Phone(client, me)
    await phone.sync()
    for i in range(9):  # mine and theirs interleaved, and a run of theirs alone (a slice sifted whole)
        await _note(client, mate, my_visit.id, f"함께 방문한 기록 {i}")
        await _note(client, other, their_visit.id, f"다른 팀의 기록 {i}")
        if i == 4:
            for j in range(6):
                await _note(client, other, their_visit.id, f"다른 팀의 기록 {i}-{j}")
    await _edit(maker, mine.id, "내 가구의 수정")
    diffs, partial, sifted = pulls(app, "diff"), pulls(app, "partial"), pulls(app, "sifted")
    changes = await phone.sync()  # checks the checksum at the end
    notes = [c["data"]["body"] for c in changes if c["entity"] == "note"]
    assert notes == [f"함께 방문한 기록 {i}" for i in range(9)]
    assert [c["id"] for c in changes if c["entity"] == "household"] == [str(mine.id)]
    assert pulls(app, "diff") == diffs
    assert pulls(app, "partial") - partial >= 4  # 25 changes in slices of 4, at least 4 of them with mine
    assert pulls(app, "sifted") > sifted  # the run of theirs alone
    assert (await phone.pull_once())["changes"] == []


async def test_a_content_pull_cut_at_its_limit_goes_on_from_its_last_change(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    """A content pull with more records than its limit sends the first ones in commit order and ends at the last
    change of the last one sent; the next pull goes on from there by the change log, each record once."""
    district = await factory.org(OrgKind.public, ["11990"])
    me, mate = await factory.actor(Role.planner, district), await factory.actor(Role.planner, district)
    mine = await make_household(factory)
    visit = await make_visit(factory, mine, [me.user, mate.user])
    phone = Phone(client, me)
    await phone.sync()
    for i in range(4):
        await _note(client, mate, visit.id, f"기록 {i}")
    await _edit(maker, mine.id, "고친 뒤")  # a record changed after the notes, then again
    for i in range(4, 7):
        await _note(client, mate, visit.id, f"기록 {i}")
    await _edit(maker, mine.id, "다시 고친 뒤")
    diffs, partial = pulls(app, "diff"), pulls(app, "partial")
    sent: list[tuple[str, str]] = []
    for _ in range(10):
        body = await phone.pull_once(limit=3)
        sent += [(c["entity"], c["data"].get("body") or c["data"].get("living_situation")) for c in body["changes"]]
        if not body["has_more"]:
            break
    assert phone.checksum() == phone.last["checksum"]
    assert sent == [("note", f"기록 {i}") for i in range(7)] + [("household", "다시 고친 뒤")]
    assert (pulls(app, "diff"), pulls(app, "partial")) == (diffs, partial + 3)
