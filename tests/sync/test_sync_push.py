"""Sync pushes (docs/sync.md#push): idempotency, per-field merge with kept conflicts, limits, skew."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.households.models import Household
from app.notes.models import Note
from app.sync.models import ChangeLog, DeviceSyncState, SyncConflict
from tests.support.factories import Actor, Factory, make_household, make_visit


async def _planner_with_household(factory: Factory) -> tuple[Actor, Household]:
    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    h = await make_household(factory)
    await make_visit(factory, h, [planner.user])
    return planner, h


def _patch(hid: uuid.UUID, base: int | None, **data: object) -> dict[str, object]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "household",
        "op": "patch",
        "id": str(hid),
        "base_version": base,
        "data": data,
        "at": datetime.now(UTC).isoformat(),
    }


async def _push(
    client: httpx.AsyncClient, actor: Actor, mutations: list[dict[str, object]], **extra: object
) -> httpx.Response:
    body = {"device_id": actor.device_id, "device_time": datetime.now(UTC).isoformat(), "mutations": mutations, **extra}
    return await client.post("/v1/sync/push", json=body, headers=actor.headers)


async def test_patch_applies_and_retry_is_duplicate(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, h = await _planner_with_household(factory)
    m = _patch(h.id, 1, contact_phone="010-5555-1234")
    first = await _push(client, planner, [m])
    assert first.status_code == 200, first.text
    assert first.json()["results"] == [{"mutation_id": m["mutation_id"], "status": "applied", "version": 2}]
    retry = await _push(client, planner, [m])
    assert retry.json()["results"] == [{"mutation_id": m["mutation_id"], "status": "duplicate", "version": 2}]
    async with maker() as s:
        row = await s.get(Household, h.id)
        assert row is not None
        assert (row.contact_phone, row.version) == ("010-5555-1234", 2)


async def test_same_field_changed_on_both_sides_keeps_server_value(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, h = await _planner_with_household(factory)
    async with open_session(maker, write=True) as s:  # the server changes contact_phone: version 2
        row = await s.get(Household, h.id)
        assert row is not None
        row.contact_phone = "010-0000-0001"
    # the phone, offline from version 1, changed contact_phone and living_situation
    m = _patch(h.id, 1, contact_phone="010-0000-0002", living_situation="난방이 안 됨")
    result = (await _push(client, planner, [m])).json()["results"][0]
    assert result["status"] == "conflict"
    assert result["server"] == {"contact_phone": "010-0000-0001"}
    assert result["device"] == {"contact_phone": "010-0000-0002"}
    async with maker() as s:
        row = await s.get(Household, h.id)
        assert row is not None
        assert row.contact_phone == "010-0000-0001"  # server kept
        assert row.living_situation == "난방이 안 됨"  # the other field merged
        kept = (await s.execute(select(SyncConflict).where(SyncConflict.entity_id == h.id))).scalar_one()
        assert kept.device_value == {"value": "010-0000-0002"}


async def test_different_fields_merge_without_conflict(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, h = await _planner_with_household(factory)
    async with open_session(maker, write=True) as s:
        row = await s.get(Household, h.id)
        assert row is not None
        row.living_situation = "서버에서 바꾼 내용"
    m = _patch(h.id, 1, contact_phone="010-7777-0000")
    result = (await _push(client, planner, [m])).json()["results"][0]
    assert result["status"] == "applied"


async def test_rejections_are_per_mutation_and_dependents_follow(client: httpx.AsyncClient, factory: Factory) -> None:
    planner, h = await _planner_with_household(factory)
    stranger = await make_household(factory, dong_code="1111051500")
    good = _patch(h.id, 1, contact_phone="010-1111-2222")
    unknown_field = _patch(h.id, 1, head_name="바꿀 수 없음")
    dependent = _patch(h.id, 1, living_situation="앞의 거절에 의존")
    not_mine = _patch(stranger.id, 1, contact_phone="010-3333-4444")
    unsupported = {**_patch(h.id, 1), "entity": "spaceship", "op": "launch"}
    r = await _push(client, planner, [good, unknown_field, dependent, not_mine, unsupported])
    statuses = [x["status"] for x in r.json()["results"]]
    assert statuses == ["applied", "rejected", "rejected", "rejected", "rejected"]
    assert r.json()["results"][3]["error"]["status"] == 404


async def test_limits_answer_413(client: httpx.AsyncClient, factory: Factory, settings: object) -> None:
    planner, h = await _planner_with_household(factory)
    many = [_patch(h.id, 1, contact_phone="010") for _ in range(settings.sync_max_mutations + 1)]  # type: ignore[attr-defined]
    r = await _push(client, planner, many)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    big = [_patch(h.id, 1, living_situation="가" * 400_000) for _ in range(5)]
    assert (await _push(client, planner, big)).status_code == 413


async def test_device_id_must_match_the_token(client: httpx.AsyncClient, factory: Factory) -> None:
    planner, h = await _planner_with_household(factory)
    r = await client.post(
        "/v1/sync/push",
        headers=planner.headers,
        json={"device_id": "someone-else", "mutations": [_patch(h.id, 1, contact_phone="1")]},
    )
    assert r.status_code == 409


async def test_clock_skew_is_estimated(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    planner, h = await _planner_with_household(factory)
    ahead = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    r = await _push(client, planner, [_patch(h.id, 1, contact_phone="010-2")], device_time=ahead)
    assert r.status_code == 200
    async with maker() as s:
        st = (await s.execute(select(DeviceSyncState))).scalars().all()
        skews = [x.clock_skew_ms for x in st if x.clock_skew_ms is not None]
    assert any(590_000 < s_ < 610_000 for s_ in skews)


async def test_malformed_push_is_422(client: httpx.AsyncClient, factory: Factory) -> None:
    planner, _ = await _planner_with_household(factory)
    r = await client.post("/v1/sync/push", headers=planner.headers, json={"device_id": "x", "mutations": [{}]})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"


def _note(visit_id: uuid.UUID, body: str) -> dict[str, object]:
    return {
        "mutation_id": str(uuid.uuid4()),
        "entity": "note",
        "op": "upsert",
        "id": str(uuid.uuid4()),
        "base_version": None,
        "data": {"visit_id": str(visit_id), "body": body, "kind": "observation", "internal": False},
        "at": datetime.now(UTC).isoformat(),
    }


@pytest.mark.parametrize("with_rejection", [False, True])
async def test_one_push_applies_once_whether_or_not_one_is_rejected(
    client: httpx.AsyncClient,
    factory: Factory,
    maker: async_sessionmaker[AsyncSession],
    app: object,
    with_rejection: bool,
) -> None:
    """A push runs in one savepoint and replays one savepoint per mutation when something is rejected:
    either way each applied mutation is written once, a rejected one not at all, and a second patch of the
    same field in the same push sees the first one's stamp."""
    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    h = await make_household(factory)
    visit = await make_visit(factory, h, [planner.user])
    elsewhere = await make_visit(factory, await make_household(factory, dong_code="1111051500"), [])
    first, second = _note(visit.id, "첫 기록"), _note(visit.id, "둘째 기록")
    bad = _note(elsewhere.id, "보이지 않는 방문")
    mutations = [
        first,
        _patch(h.id, 1, contact_phone="010-1000-0001"),
        _patch(h.id, 1, contact_phone="010-1000-0002"),  # same base: the first patch changed it since
        *([bad] if with_rejection else []),
        second,
    ]
    registry = app.state.ongi.metrics.registry  # type: ignore[attr-defined]
    replays = registry.get_sample_value("ongi_sync_push_replays_total") or 0.0
    r = await _push(client, planner, mutations)
    assert r.status_code == 200, r.text
    assert (registry.get_sample_value("ongi_sync_push_replays_total") or 0.0) == replays + with_rejection
    statuses = [x["status"] for x in r.json()["results"]]
    expected = ["applied", "applied", "conflict", *(["rejected"] if with_rejection else []), "applied"]
    assert statuses == expected
    async with maker() as s:
        row = await s.get(Household, h.id)
        assert row is not None
        assert (row.contact_phone, row.version) == ("010-1000-0001", 2)
        notes = (await s.execute(select(Note).where(Note.visit_id.in_([visit.id, elsewhere.id])))).scalars().all()
        assert sorted(n.body for n in notes) == ["둘째 기록", "첫 기록"]
        created = (
            await s.execute(
                select(AuditEvent).where(AuditEvent.action == "note.create", AuditEvent.actor_id == planner.id)
            )
        ).scalars()
        assert len(list(created)) == 2
        logged = (
            await s.execute(select(ChangeLog).where(ChangeLog.entity == "note", ChangeLog.visit_id == elsewhere.id))
        ).all()
        assert logged == []
    retry = await _push(client, planner, mutations)
    assert [x["status"] for x in retry.json()["results"]] == ["duplicate"] * len(mutations)
