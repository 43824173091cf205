"""Imports of crisis lists: idempotent PUT, matching and recurrence, validation, jurisdiction, audit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.principal import OrgKind, Role
from app.events.models import OutboxEvent
from app.households.matching import match_key
from app.households.models import Household, HouseholdStatus, Signal
from app.integrations.models import ImportRecord
from tests.support.factories import Factory, make_household
from tests.support.integrations import integration_client

URL = "/v1/integrations/households"


def payload(n: int = 1, *, dong: str = "1199051000", observed: str = "2026-11-01T09:00:00+09:00", **kw: Any) -> dict:
    body: dict[str, Any] = {
        "indicators": ["power_cut", "health_insurance_arrears"],
        "observed_at": observed,
        "details": {"months_overdue": 3},
        "household": {
            "district_code": dong[:5],
            "dong_code": dong,
            "address": f"온기구 온기로 {n}길 {n}",
            "address_detail": f"{n}호",
            "head_name": f"이연계{n}",
            "contact_phone": "010-2222-3333",
            "members": [{"name": f"이연계{n}", "birth_year": 1951, "relation": "head", "tags": ["elderly"]}],
            "tags": ["elderly", "single_person"],
        },
    }
    body.update(kw)
    return body


async def _count(maker: async_sessionmaker[AsyncSession], stmt: Any) -> int:
    async with maker() as s:
        return int((await s.execute(stmt)).scalar_one())


async def test_put_is_idempotent_and_a_new_payload_adds_a_signal(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    feed = await integration_client(factory, ["households:import"])
    ext = f"BD-{uuid.uuid4().hex[:10]}"
    first = await client.put(f"{URL}/bigdata/{ext}", headers=feed.headers, json=payload(1))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "created"
    assert body["source"] == "bigdata"
    assert body["external_id"] == ext
    hid = body["household_id"]
    signals = select(func.count()).select_from(Signal).where(Signal.household_id == uuid.UUID(hid))
    assert await _count(maker, signals) == 1

    again = await client.put(f"{URL}/bigdata/{ext}", headers=feed.headers, json=payload(1))
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged"
    assert again.json()["household_id"] == hid
    assert await _count(maker, signals) == 1
    # the same instant written in another offset is the same payload
    utc = payload(1, observed="2026-11-01T00:00:00Z")
    assert (await client.put(f"{URL}/bigdata/{ext}", headers=feed.headers, json=utc)).json()["status"] == "unchanged"

    # two months later the list names the household again: one more signal, same household
    newer = payload(1, observed="2027-01-01T09:00:00+09:00", indicators=["power_cut", "gas_cut"])
    r = await client.put(f"{URL}/bigdata/{ext}", headers=feed.headers, json=newer)
    assert r.status_code == 200
    assert r.json()["status"] == "updated"
    assert r.json()["household_id"] == hid
    assert await _count(maker, signals) == 2
    got = await client.get(f"{URL}/bigdata/{ext}", headers=feed.headers)
    assert got.status_code == 200
    assert got.json()["status"] == "updated"
    async with maker() as s:
        record = (await s.execute(select(ImportRecord).where(ImportRecord.external_id == ext))).scalar_one()
        signal = (await s.execute(select(Signal).where(Signal.id == record.signal_id))).scalar_one()
    assert record.accepted == 2
    assert record.client_id == feed.id
    assert len(record.payload_sha256) == 64
    assert signal.external_ref == ext
    assert signal.indicators == ["power_cut", "gas_cut"]
    # a different source with the same external id is another key
    other = await client.put(f"{URL}/benefit_rejected/{ext}", headers=feed.headers, json=payload(1))
    assert other.status_code == 201
    assert other.json()["status"] == "matched"
    assert other.json()["household_id"] == hid

    # every call is audited with the household id, ids only
    async with maker() as s:
        events = (
            (
                await s.execute(
                    select(AuditEvent).where(AuditEvent.actor_id == feed.id, AuditEvent.action == "integrations.import")
                )
            )
            .scalars()
            .all()
        )
    assert len(events) == 5
    assert {str(e.household_id) for e in events} == {hid}
    assert all("이연계" not in str(e.details) and "온기로" not in str(e.details) for e in events)


async def test_matches_open_and_reopens_closed_households(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    feed = await integration_client(factory, ["households:import"])
    security = app.state.ongi.security
    p_open, p_closed = payload(71), payload(72)
    keys = [
        match_key(security, p["household"]["address"], p["household"]["address_detail"], p["household"]["head_name"])
        for p in (p_open, p_closed)
    ]
    open_h = await make_household(factory, match_key=keys[0], status=HouseholdStatus.assessed)
    closed_h = await make_household(factory, match_key=keys[1], status=HouseholdStatus.closed)

    r = await client.put(f"{URL}/bigdata/M-{uuid.uuid4().hex[:8]}", headers=feed.headers, json=p_open)
    assert r.status_code == 201
    assert r.json()["status"] == "matched"
    assert r.json()["household_id"] == str(open_h.id)
    r = await client.put(f"{URL}/bigdata/R-{uuid.uuid4().hex[:8]}", headers=feed.headers, json=p_closed)
    assert r.status_code == 201
    assert r.json()["status"] == "reopened"
    assert r.json()["household_id"] == str(closed_h.id)
    async with maker() as s:
        reopened = await s.get(Household, closed_h.id)
        assert reopened is not None
        assert reopened.status == HouseholdStatus.identified
        assert reopened.recurrence_count == 1
        recurrence = (
            (
                await s.execute(
                    select(OutboxEvent).where(
                        OutboxEvent.household_id == closed_h.id, OutboxEvent.type == "household.recurrence"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(recurrence) == 1


async def test_validation_and_jurisdiction(client: httpx.AsyncClient, factory: Factory) -> None:
    feed = await integration_client(factory, ["households:import"], jurisdiction=["1199051000"])
    ok = payload(3)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (f"{URL}/satellite/X1", ok, "path.source"),
        (f"{URL}/bigdata/X1", payload(3, indicators=["power_cut", "moon_phase"]), "body.indicators.1"),
        (f"{URL}/bigdata/X1", payload(3, indicators=[]), "body.indicators"),
        (f"{URL}/bigdata/X1", payload(3, observed="2026-11-01T09:00:00"), "body.observed_at"),
        (f"{URL}/bigdata/X1", {**ok, "rrn": "510101-1234567"}, "body.rrn"),
        # a dong outside its district
        (f"{URL}/bigdata/X1", payload(3, dong="1168051000"), "body.household"),
        # a dong of the same district, but outside this client's (dong-level) jurisdiction
        (f"{URL}/bigdata/X1", payload(3, dong="1199052000"), "body.household.dong_code"),
        (f"{URL}/bigdata/X%201", ok, "path.external_id"),
    ]
    for url, body, field in cases:
        if field == "body.household":
            body["household"]["district_code"] = "11990"
        r = await client.put(url, headers={**feed.headers, "Accept-Language": "en"}, json=body)
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in r.json()["errors"]]
        assert any(f.startswith(field) for f in fields), (field, fields)
    outside = await client.put(f"{URL}/bigdata/X1", headers=feed.headers, json=payload(3, dong="1199052000"))
    assert "관할" in outside.json()["errors"][0]["message"]

    no_scope = await integration_client(factory, ["events:read"])
    assert (await client.put(f"{URL}/bigdata/X1", headers=no_scope.headers, json=ok)).status_code == 403
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public))
    assert (await client.put(f"{URL}/bigdata/X1", headers=coordinator.headers, json=ok)).status_code == 403
    assert (await client.get(f"{URL}/bigdata/never-imported", headers=feed.headers)).status_code == 404


async def test_import_status_is_hidden_outside_jurisdiction(client: httpx.AsyncClient, factory: Factory) -> None:
    here = await integration_client(factory, ["households:import"])
    elsewhere = await integration_client(
        factory, ["households:import"], org=await factory.org(OrgKind.public, jurisdiction=["11680"])
    )
    ext = f"H-{uuid.uuid4().hex[:8]}"
    assert (await client.put(f"{URL}/bigdata/{ext}", headers=here.headers, json=payload(5))).status_code == 201
    assert (await client.get(f"{URL}/bigdata/{ext}", headers=here.headers)).status_code == 200
    assert (await client.get(f"{URL}/bigdata/{ext}", headers=elsewhere.headers)).status_code == 404
