"""Destruction of personal data past retention (issue 13 item 19, docs/access.md#lifecycle-of-personal-data-pipa): what
goes, what stays for
statistics, the destruction record admins list, phones told to purge, and nothing left in the files."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from app.checklists.models import ChecklistAnswerHistory, ChecklistResponse, ChecklistTemplate, HistoryReason
from app.core.db import create_engine, utcnow
from app.core.uow import commit
from app.households.models import Household, HouseholdSensitive
from app.lifecycle.models import DestructionRecord
from app.lifecycle.service import destroy_expired, reclaim
from app.main import create_app
from app.media.models import Photo
from app.media.photos import content_key, thumbnail_key
from app.media.storage import get_storage
from app.migrate import upgrade
from app.notes.models import Note, NoteRevision
from app.visits.models import Visit
from tests.conftest import make_settings
from tests.support.factories import Factory, make_visit
from tests.support.sync import Phone
from tests.support.world import District, audits, district, household_body

MARK = "파기확인홍길동ZQXW"


async def _blob(factory: Factory, key: str, data: bytes) -> None:
    async def chunks() -> Any:
        yield data

    await get_storage(factory.state).put_stream(key, chunks())


async def _photo(
    factory: Factory, visit: Any, household_id: Any, uploader: Any, data: bytes, caption: str = f"{MARK}의 집 현관"
) -> Photo:
    sha = hashlib.sha256(data).hexdigest()
    thumb = hashlib.sha256(b"thumb" + data).hexdigest()
    await _blob(factory, content_key(sha), data)
    await _blob(factory, thumbnail_key(thumb), b"thumb" + data)
    photo = Photo(
        visit_id=visit.id,
        household_id=household_id,
        caption=caption,
        sha256=sha,
        original_sha256=sha,
        size=len(data),
        width=10,
        height=10,
        content_type="image/jpeg",
        storage_key=content_key(sha),
        thumbnail_key=thumbnail_key(thumb),
        thumbnail_sha256=thumb,
        thumbnail_size=len(data) + 5,
        uploaded_by_id=uploader.id,
    )
    async with factory.maker() as s:
        s.add(photo)
        await commit(s)
    return photo


async def _world(factory: Factory, client: httpx.AsyncClient, d: District) -> dict[str, Any]:
    """A household whose name, contact, members, sensitive fields, note and photo carry ``MARK``, visited
    by the planner (whose phone holds it all); and a household kept, with a photo of the same content."""
    body = household_body(
        head_name=MARK,
        contact_phone="010-9876-5432",
        living_situation=f"{MARK} 씨는 혼자 지냄",
        members=[{"key": "m1", "name": MARK, "birth_year": 1941, "relation": "head", "tags": ["elderly"]}],
        sensitive={"income": f"{MARK} 월 30만원", "health_notes": f"{MARK} 고혈압"},
    )
    r = await client.post("/v1/households", json=body, headers=d.coordinator.headers)
    assert r.status_code == 201, r.text
    hid = uuid.UUID(r.json()["id"])
    async with factory.maker() as s:
        household = await s.get(Household, hid)
    visit = await make_visit(factory, household, [d.planner.user], outcome=f"{MARK} 만남")
    note = Note(
        visit_id=visit.id,
        household_id=hid,
        author_id=d.planner.id,
        author_organization_id=d.planner.org.id,
        body=f"{MARK} 씨 상담 기록",
    )
    async with factory.maker() as s:
        s.add(note)
        await s.flush()
        s.add(
            NoteRevision(
                note_id=note.id,
                note_version=1,
                body=f"{MARK} 이전 기록",
                kind=note.kind,
                internal=False,
                action="edit",
                changed_by_id=d.planner.id,
                changed_at=utcnow(),
            )
        )
        await commit(s)
    template = ChecklistTemplate(key=f"destroy_{uuid.uuid4().hex[:8]}", template_version=1, title={"ko": "점검"})
    response = ChecklistResponse(
        visit_id=visit.id,
        household_id=hid,
        template_id=template.id,
        template_key=template.key,
        template_version=1,
        answers={"q1": {"value": f"{MARK} 응답"}},
    )
    async with factory.maker() as s:
        s.add(template)
        await s.flush()
        s.add(response)
        await s.flush()
        s.add(
            ChecklistAnswerHistory(
                response_id=response.id,
                item_key="q1",
                value=f"{MARK} 이전 응답",
                superseded_at=utcnow(),
                reason=HistoryReason.overwritten,
                response_version=1,
            )
        )
        await commit(s)
    data = b"\xff\xd8\xff" + MARK.encode() + b" photo bytes " + uuid.uuid4().bytes
    photo = await _photo(factory, visit, hid, d.planner.user, data)
    shared = b"\xff\xd8\xff shared content " + uuid.uuid4().bytes
    shared_photo = await _photo(factory, visit, hid, d.planner.user, shared)

    kept_body = household_body(head_name="보존가구")
    r = await client.post("/v1/households", json=kept_body, headers=d.coordinator.headers)
    assert r.status_code == 201, r.text
    async with factory.maker() as s:
        kept = await s.get(Household, uuid.UUID(r.json()["id"]))
    kept_visit = await make_visit(factory, kept, [d.planner.user])
    kept_photo = await _photo(factory, kept_visit, kept.id, d.planner.user, shared, caption="보존 사진")
    return {
        "response": response,
        "hid": hid,
        "visit": visit,
        "note": note,
        "photo": photo,
        "shared": shared_photo,
        "kept": kept,
        "kept_photo": kept_photo,
    }


async def _close(maker: async_sessionmaker[AsyncSession], hid: uuid.UUID, days_ago: int) -> None:
    async with maker() as s:
        await s.execute(
            update(Household)
            .where(Household.id == hid)
            .values(status="closed", status_changed_at=utcnow() - timedelta(days=days_ago))
        )
        await commit(s)


async def test_destroys_past_retention_keeps_statistics_revokes_on_phones(
    factory: Factory, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    w = await _world(factory, client, d)
    phone = Phone(client, d.planner)
    await phone.sync()
    held = {
        ("household", str(w["hid"])),
        ("note", str(w["note"].id)),
        ("photo", str(w["photo"].id)),
        ("checklist_response", str(w["response"].id)),
    }
    assert held <= set(phone.store)
    storage = get_storage(factory.state)

    # closed, but not long enough: nothing happens
    await _close(maker, w["hid"], factory.state.settings.retention_closed_days - 1)
    assert await destroy_expired(factory.state) == 0
    await _close(maker, w["hid"], factory.state.settings.retention_closed_days + 1)
    assert await destroy_expired(factory.state) == 1
    assert await destroy_expired(factory.state) == 0  # once
    # SQLite: the log checkpointed; PostgreSQL: the touched tables vacuumed (dead tuples hold old values)
    assert await reclaim(factory.state) is True

    async with maker() as s:
        h = await s.get(Household, w["hid"], populate_existing=True)
        assert h is not None
        assert (h.head_name, h.address, h.contact_phone, h.members, h.living_situation) == ("", "", None, [], None)
        assert h.destroyed_at is not None
        # statistics keep: codes, risk, status, dates
        assert (h.district_code, h.status.value, h.dong_code) == ("11990", "closed", h.dong_code)
        assert h.created_at is not None
        assert h.status_changed_at is not None
        assert not (await s.execute(select(HouseholdSensitive).where(HouseholdSensitive.household_id == h.id))).all()
        assert await s.get(Note, w["note"].id) is None
        assert not (await s.execute(select(NoteRevision).where(NoteRevision.note_id == w["note"].id))).all()
        assert await s.get(Photo, w["photo"].id) is None
        assert await s.get(Photo, w["kept_photo"].id) is not None
        assert await s.get(ChecklistResponse, w["response"].id) is None
        visit = await s.get(Visit, w["visit"].id, populate_existing=True)
        assert visit is not None
        assert visit.outcome is None
        records = list((await s.execute(select(DestructionRecord))).scalars())
    assert len(records) == 1
    rec = records[0]
    [event] = await audits(maker, action="household.destroy", household_id=w["hid"])
    assert (event.actor_id, event.details["rule"], event.details["job"]) == (None, rec.rule, rec.job)
    assert (rec.household_id, rec.rule, rec.job) == (w["hid"], "household_closed", "retention-destroy")
    assert rec.counts["notes"] == 1
    assert rec.counts["photos"] == 2
    assert rec.counts["note_revisions"] == 1
    assert rec.counts["checklist_responses"] == 1
    assert rec.counts["answer_history"] == 1
    assert rec.counts["sensitive_fields"] == 2
    assert rec.counts["members"] == 1
    assert rec.counts["files_kept_shared"] == 2  # the kept household's photo shares a file and its thumbnail
    # files: the destroyed photo's content and thumbnails are gone; the shared content stays
    assert not await storage.exists(w["photo"].storage_key)
    assert not await storage.exists(w["photo"].thumbnail_key)
    assert await storage.exists(w["kept_photo"].storage_key)
    assert await storage.exists(w["kept_photo"].thumbnail_key)

    # no column of any table holds the destroyed values any more (PostgreSQL and SQLite alike)
    async with maker() as s:
        left = []
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                found = await s.execute(
                    select(func.count()).select_from(table).where(cast(column, Text).like(f"%{MARK}%"))
                )
                if found.scalar():
                    left.append(f"{table.name}.{column.name}")
    assert left == []

    # the phone is told to purge the household, its note and photos
    changes = await phone.sync()
    revoked = {(c["entity"], c["id"]) for c in changes if c["op"] == "revoke"}
    assert held <= revoked, changes
    assert not held & set(phone.store)
    assert not any(MARK in str(c.get("data")) for c in changes)

    # the admin of the district lists the record; an admin elsewhere does not; others are refused
    r = await client.get("/v1/destructions", headers=d.admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["household_id"] for i in body["items"]] == [str(w["hid"])]
    assert body["next_cursor"] is None
    assert body["items"][0]["counts"]["photos"] == 2
    other = await district(factory, "11110")
    r = await client.get("/v1/destructions", headers=other.admin.headers)
    assert r.status_code == 200
    assert r.json()["items"] == []
    r = await client.get("/v1/destructions", headers=d.coordinator.headers)
    assert r.status_code == 403


async def test_photos_and_notes_may_go_before_the_household(
    factory: Factory, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    w = await _world(factory, client, d)
    await _close(maker, w["hid"], 40)
    state = factory.state
    original = state.settings
    state.settings = original.model_copy(update={"retention_photo_days": 30, "retention_note_days": 60})
    try:
        assert await destroy_expired(state) == 1
    finally:
        state.settings = original
    async with maker() as s:
        assert await s.get(Photo, w["photo"].id) is None
        assert await s.get(Note, w["note"].id) is not None
        h = await s.get(Household, w["hid"], populate_existing=True)
        assert h is not None
        assert h.head_name == MARK
        assert h.destroyed_at is None
        rules = [r for (r,) in await s.execute(select(DestructionRecord.rule))]
    assert rules == ["photos_after_closure"]


async def test_pagination_of_destruction_records(
    factory: Factory, client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    async with maker() as s:
        for i in range(3):
            s.add(
                DestructionRecord(
                    household_id=uuid.uuid4(),
                    district_code="11990",
                    dong_code="1199051000",
                    rule="household_closed",
                    retention_days=1825,
                    kinds=["household"],
                    counts={"households": 1},
                    job="retention-destroy",
                    destroyed_at=utcnow() - timedelta(minutes=i),
                )
            )
        await commit(s)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await client.get("/v1/destructions", headers=d.admin.headers, params=params)
        assert r.status_code == 200, r.text
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 3 == len(set(seen))
    r = await client.get("/v1/destructions", headers=d.admin.headers, params={"cursor": "bm9wZQ"})
    assert r.status_code == 422


def _files(*roots: Path) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        out += [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else [root] if root.exists() else []
    return out


def _found(paths: list[Path], needle: bytes) -> list[str]:
    return [str(p) for p in paths if needle in p.read_bytes()]


@pytest.mark.usefixtures("engine")
async def test_nothing_destroyed_survives_in_the_sqlite_file_or_the_storage(db_kind: str, tmp_path: Path) -> None:
    if db_kind != "sqlite":
        pytest.skip("the file-level proof is SQLite's; PostgreSQL is proven by rows and VACUUM")
    db = tmp_path / "own.db"
    settings = make_settings(f"sqlite+aiosqlite:///{db}", tmp_path / "data")
    engine = create_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    app = create_app(settings)
    state = app.state.ongi
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            factory = Factory(state, state.sessionmaker, client)
            d = await district(factory)
            w = await _world(factory, client, d)
            await Phone(client, d.planner).sync()
            await _close(state.sessionmaker, w["hid"], settings.retention_closed_days + 1)
            async with state.engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            files = [db, Path(f"{db}-wal"), settings.files_dir]
            needle = MARK.encode()
            before = _found(_files(*files), needle)
            assert str(db) in before, before  # the test can fail
            assert any("photos" in p for p in before), before
            assert await destroy_expired(state) == 1
        assert _found(_files(*files), needle) == []
        assert _found(_files(*files), b"010-9876-5432") == []
    finally:
        await state.engine.dispose()


@pytest.mark.parametrize("kind", ["local", "s3"])
async def test_photo_files_go_from_every_storage_unless_shared(
    kind: str,
    request: pytest.FixtureRequest,
    app: Any,
    tmp_path: Path,
    factory: Factory,
    client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
) -> None:
    from tests.support.uploads import installed_storage, stored_keys

    async with installed_storage(kind, request, app, tmp_path) as storage:
        d = await district(factory)
        w = await _world(factory, client, d)
        before = await stored_keys(storage, "photos/")
        assert w["photo"].storage_key in before
        await _close(maker, w["hid"], factory.state.settings.retention_closed_days + 1)
        assert await destroy_expired(factory.state) == 1
        after = set(await stored_keys(storage, "photos/")) | set(await stored_keys(storage, "thumbnails/"))
        assert w["photo"].storage_key not in after
        assert w["photo"].thumbnail_key not in after
        assert {w["kept_photo"].storage_key, w["kept_photo"].thumbnail_key} <= after
