"""Household search (docs/api.md, issue 18 item 1): names, phones and addresses in the forms people write them,
by normalized keys kept on every write, scoped by the access policy and audited without the search text."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.db import JSONType, UTCDateTime, create_engine, utcnow
from app.core.uow import commit
from app.households.models import Household, HouseholdSearchKey, SignalSource
from app.households.schemas import HouseholdInput
from app.households.search import household_keys, normalize, phone_digits, query_terms, refresh_search_keys
from app.households.service import ingest_signal
from app.migrate import upgrade
from tests.conftest import _pg_admin, make_settings
from tests.support.factories import Factory, make_household, make_visit
from tests.support.world import DONG_A, DONG_B, district, household_body, principal_of


async def _create(client: httpx.AsyncClient, actor: Any, **kw: Any) -> dict[str, Any]:
    r = await client.post("/v1/households", headers=actor.headers, json=household_body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


async def _found(client: httpx.AsyncClient, actor: Any, q: str, **filters: Any) -> list[str]:
    r = await client.post("/v1/households/search", headers=actor.headers, json={"q": q, **filters})
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_normalization_of_phones_and_addresses() -> None:
    assert phone_digits("+82 10-1234-5678") == phone_digits("010 1234 5678") == "01012345678"
    assert phone_digits("+82 (0)10 1234 5678") == "01012345678"
    assert phone_digits("02-123-4567") == "021234567"
    assert normalize("지하 1층 B01호") == "b1층 b01호"
    assert normalize("온기동 123－45번지") == "온기동 123-45"
    assert query_terms("온기로 12길 3")[0] == query_terms("온기로12길 3")[0] == [["온기로12길3"]]
    assert query_terms("101동 1203호")[0][0] == ["101동1203호"]
    assert "101동1203호" in query_terms("101-1203")[0][0]
    same_home = [
        household_keys({"head_name": "김", "address": a, "address_detail": d, "members": []})
        for a, d in (
            ("서울특별시 온기구 온기로 123 (온기마을아파트)", "101동 1203호"),
            ("온기구 온기로123", "101-1203"),
            ("서울시 온기구 온기로 123", "101동1203호"),
        )
    ]
    cores = [{key for kind, key in keys if kind == "x"} for keys in same_home]
    assert cores[0] == cores[1] == cores[2] == {"온기로123|101동1203호"}


async def test_search_finds_the_forms_people_write(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    road = await _create(
        client,
        d.coordinator,
        head_name="김 온 기",
        address="서울특별시 온기구 온기로12길 3",
        address_detail="지하 1층 B01호",
        contact_phone="010-1234-5678",
        members=[
            {"key": "m1", "name": "김온기", "birth_year": 1948, "relation": "head", "tags": []},
            {"key": "m2", "name": "박 봄", "birth_year": 1950, "relation": "spouse", "tags": []},
        ],
    )
    lot = await _create(
        client,
        d.coordinator,
        head_name="이순자",
        address="온기구 온기동 123-45번지",
        address_detail=None,
        contact_phone="+82 10 9876 5432",
        members=[],
    )
    flat = await _create(
        client,
        d.coordinator,
        head_name="Choi Minsu",
        address="서울 온기구 별빛대로 77 (햇살누리아파트)",
        address_detail="101동 1203호",
        contact_phone=None,
        members=[],
    )
    c = d.coordinator
    expected = {
        road["id"]: [
            "김온기",
            "김 온기",
            "온기",  # the given name alone
            "박봄",  # a member
            "010-1234-5678",
            "01012345678",
            "+82 10-1234-5678",
            "010 1234 5678",
            "5678",
            "온기로 12길 3",
            "온기로12길3",
            "서울시 온기구 온기로 12길 3",
            "B01호",
            "지하 01호",
        ],
        lot["id"]: ["이 순자", "010-9876-5432", "98765432", "온기동 123-45", "온기동123－45", "123-45"],
        flat["id"]: ["choi minsu", "CHOI", "별빛대로 77", "101동 1203호", "101-1203", "1203호", "햇살누리"],
    }
    for hid, queries in expected.items():
        for q in queries:
            assert hid in await _found(client, c, q), q
    assert await _found(client, c, "온기로 12길 4") == []
    assert await _found(client, c, "1111") == []
    assert await _found(client, c, "%") == []
    assert await _found(client, c, "5678", dong_code=DONG_A) == [road["id"]]


async def test_keys_follow_every_write(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    c = d.coordinator
    created = await _create(client, c, head_name="홍길순", address="온기로 5길 9", contact_phone="010-5555-0001")
    url = f"/v1/households/{created['id']}"
    etag = (await client.get(url, headers=c.headers)).headers["ETag"]
    patched = await client.patch(
        url,
        headers={**c.headers, "If-Match": etag},
        json={"head_name": "홍길자", "contact_phone": "010-5555-0002", "address": "솔내로 8"},
    )
    assert patched.status_code == 200, patched.text
    assert await _found(client, c, "홍길순") == []
    assert await _found(client, c, "010-5555-0001") == []
    assert await _found(client, c, "온기로 5길 9") == []
    for q in ("홍길자", "0002", "솔내로 8"):
        assert await _found(client, c, q) == [created["id"]], q

    # an import (matching by address and head name, or creating) goes through the ORM too
    async with maker() as s:
        result = await ingest_signal(
            s,
            principal_of(c),
            source=SignalSource.bigdata,
            indicators=["power_cut"],
            observed_at=utcnow(),
            external_ref="NBD-1",
            details={},
            target=HouseholdInput(
                district_code=DONG_A[:5], dong_code=DONG_A, address="다온로 3", head_name="남궁민", members=[]
            ),
            security=factory.state.security,
        )
        await commit(s)
    assert await _found(client, c, "남궁 민") == [str(result.household.id)]

    # a household made straight in the database (ORM) has keys; deleting it takes them away
    made = await make_household(factory, head_name="도담이", address="도담로 1")
    assert await _found(client, c, "도담이") == [str(made.id)]
    async with maker() as s:
        row = await s.get(Household, made.id)
        assert row is not None
        row.deleted_at = utcnow()
        await commit(s)
    assert await _found(client, c, "도담이") == []
    async with maker() as s:
        left = (await s.execute(select(HouseholdSearchKey).where(HouseholdSearchKey.household_id == made.id))).all()
    assert left == []


async def test_refresh_for_bulk_inserts(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    hid = uuid.uuid4()
    now = utcnow()
    row = {
        "id": hid,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "district_code": DONG_A[:5],
        "dong_code": DONG_A,
        "address": "미리내로 21",
        "address_detail": "3층 302호",
        "head_name": "강별",
        "contact_phone": "010-7777-8888",
        "members": [],
        "tags": [],
        "risk_level": "low",
        "priority": 0,
        "status": "identified",
        "recurrence_count": 0,
    }
    async with maker() as s:
        await s.execute(insert(Household.__table__), [row])
        await commit(s)
    assert await _found(client, d.coordinator, "강별") == []  # a bulk insert bypasses the ORM
    async with maker() as s:
        assert await refresh_search_keys(s, [hid]) > 0
        await commit(s)
    for q in ("강별", "7777-8888", "미리내로21", "302호"):
        assert await _found(client, d.coordinator, q) == [str(hid)], q


async def test_search_is_scoped_and_audited_without_the_text(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    other = await district(factory, DONG_B[:5])
    mine = await _create(client, d.coordinator, head_name="윤하늘", contact_phone="010-4321-0000")
    theirs = await _create(client, other.coordinator, dong=DONG_B, head_name="윤하늘", contact_phone="010-4321-0000")
    assert await _found(client, d.coordinator, "윤하늘") == [mine["id"]]
    assert await _found(client, other.coordinator, "4321") == [theirs["id"]]
    assert await _found(client, d.planner, "윤하늘") == [mine["id"]]
    for actor in (d.partner, d.reporter, d.admin):
        r = await client.post("/v1/households/search", headers=actor.headers, json={"q": "윤하늘"})
        assert r.status_code == 403, actor
    async with maker() as s:
        rows = list(
            (
                await s.execute(
                    select(AuditEvent).where(
                        AuditEvent.action == "household.read", AuditEvent.actor_id == d.coordinator.id
                    )
                )
            ).scalars()
        )
    assert [str(r.household_id) for r in rows] == [mine["id"]]
    assert "윤하늘" not in repr([(r.details, r.purpose) for r in rows])


@pytest.mark.parametrize("q", ["", "   ", "x" * 101])
async def test_search_text_is_validated(client: httpx.AsyncClient, factory: Factory, q: str) -> None:
    d = await district(factory)
    r = await client.post("/v1/households/search", headers=d.coordinator.headers, json={"q": q})
    assert r.status_code == 422


async def test_a_pushed_patch_and_a_destruction_refresh_the_keys(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, head_name="한겨울", contact_phone="010-1010-2020")
    await make_visit(factory, household, [d.planner.user])
    mutation = {
        "mutation_id": str(uuid.uuid4()),
        "entity": "household",
        "op": "patch",
        "id": str(household.id),
        "base_version": household.version,
        "data": {"contact_phone": "+82 10 3030 4040"},
        "at": datetime.now(UTC).isoformat(),
    }
    r = await client.post(
        "/v1/sync/push",
        headers=d.planner.headers,
        json={"device_id": d.planner.device_id, "device_time": datetime.now(UTC).isoformat(), "mutations": [mutation]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "applied", r.text
    assert await _found(client, d.coordinator, "010-3030-4040") == [str(household.id)]
    assert await _found(client, d.coordinator, "010-1010-2020") == []

    async with maker() as s:  # what app.lifecycle does when personal data is destroyed past retention
        row = await s.get(Household, household.id)
        assert row is not None
        row.head_name, row.contact_phone, row.destroyed_at = "", None, utcnow()
        await commit(s)
    async with maker() as s:
        left = (
            await s.execute(select(HouseholdSearchKey).where(HouseholdSearchKey.household_id == household.id))
        ).all()
    assert left == []


@pytest.mark.parametrize(
    "q",
    [
        "\U0010ffff",
        "😀 김",
        "ㄱㅣㅁ",
        "김\u0301",
        "-- - --",
        "+82",
        "(((",
        "번지",
        "지하",
        "산 12",
        "1-2-3-4-5-6",
        "%_\\",
    ],
)
async def test_odd_texts_answer_pages(client: httpx.AsyncClient, factory: Factory, q: str) -> None:
    d = await district(factory)
    await _create(client, d.coordinator, head_name="김", address="온기동 산 12", address_detail="지하")
    r = await client.post("/v1/households/search", headers=d.coordinator.headers, json={"q": q})
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["items"], list)


async def test_the_migration_gives_stored_households_their_keys(db_kind: str, tmp_path: Any) -> None:
    name = f"ongi_r1_{uuid.uuid4().hex[:10]}"
    if db_kind == "postgres":
        admin = os.environ["ONGI_TEST_POSTGRES_URL"]
        await _pg_admin(admin, f'CREATE DATABASE "{name}"')
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
    engine = create_engine(make_settings(url, tmp_path))
    # the household table as revision 0004a has it (columns added since are not there yet)
    columns = {"version": sa.Integer(), "priority": sa.Integer(), "recurrence_count": sa.Integer()}
    columns |= {"id": sa.Uuid(), "members": JSONType, "tags": JSONType}
    columns |= {"created_at": UTCDateTime(), "updated_at": UTCDateTime()}
    old = sa.table(
        "household",
        *[sa.column(n, columns.get(n, sa.String())) for n in (*columns, *_TEXT_COLUMNS)],
    )
    try:
        await upgrade(engine, "0004a")
        now = utcnow()
        async with engine.begin() as conn:
            await conn.execute(
                insert(old).values(
                    id=uuid.uuid4(),
                    version=1,
                    created_at=now,
                    updated_at=now,
                    district_code=DONG_A[:5],
                    dong_code=DONG_A,
                    address="온기로 12길 3",
                    head_name="옛가구",
                    contact_phone="010-2222-9999",
                    members=[{"key": "m1", "name": "옛가구", "birth_year": 1944}],
                    tags=[],
                    risk_level="low",
                    priority=0,
                    status="identified",
                    recurrence_count=0,
                )
            )
        await upgrade(engine, "heads")
        async with engine.connect() as conn:
            keys = set((await conn.execute(select(HouseholdSearchKey.kind, HouseholdSearchKey.key))).all())
        assert {("n", "옛가구"), ("p", "01022229999"), ("a", "온기로12길3"), ("nb", "옛가구|1944")} <= keys
        assert {key for kind, key in keys if kind == "ns"} == {"옛가*|1944", "*가구|1944"}
    finally:
        await engine.dispose()
        if db_kind == "postgres":
            await _pg_admin(os.environ["ONGI_TEST_POSTGRES_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_TEXT_COLUMNS = ("district_code", "dong_code", "address", "head_name", "contact_phone", "risk_level", "status")
