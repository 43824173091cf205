"""Audit (docs/access.md#audit): every read and write of a household's personal data, the admin's query, the monthly
review and retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.audit.service import action_kind, purge_expired
from app.core.db import utcnow
from app.core.uow import commit
from tests.support.factories import Factory, make_consent, make_household, make_visit
from tests.support.world import DONG_A, District, audits, district


async def _reads(maker: async_sessionmaker[AsyncSession], actor: Any, household_id: Any) -> list[AuditEvent]:
    return [
        e
        for e in await audits(maker, actor_id=actor.id, household_id=household_id)
        if action_kind(e.action) == "read" and e.result == "ok"
    ]


async def test_every_household_read_is_audited(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    a = await make_household(factory, DONG_A)
    b = await make_household(factory, DONG_A)
    c = d.coordinator

    async def count_after(method: str, url: str, actor: Any = c, household: Any = a, **kw: Any) -> int:
        before = len(await _reads(maker, actor, household.id))
        r = await client.request(method, url, headers=actor.headers, **kw)
        assert r.status_code < 300, (url, r.text)
        return len(await _reads(maker, actor, household.id)) - before

    assert await count_after("GET", f"/v1/households/{a.id}") == 1
    # a list audits one event per household returned
    before_b = len(await _reads(maker, c, b.id))
    assert await count_after("GET", "/v1/households") == 1
    assert len(await _reads(maker, c, b.id)) == before_b + 1
    assert await count_after("GET", "/v1/triage") == 1
    assert await count_after("GET", f"/v1/households/{a.id}/signals") == 1
    assert await count_after("GET", f"/v1/households/{a.id}/consents") == 1
    assert await count_after("GET", f"/v1/households/{a.id}", actor=d.planner) == 1
    assert await count_after("GET", f"/v1/households/{a.id}", actor=d.integration) == 1
    visit = await make_visit(factory, a, [d.planner.user, d.partner.user])
    assert await count_after("GET", f"/v1/visits/{visit.id}", actor=d.planner) == 1
    assert await count_after("GET", "/v1/visits", actor=d.planner) == 1
    await make_consent(factory, a, c.user, organization=d.private)
    assert await count_after("GET", f"/v1/households/{a.id}", actor=d.partner) == 1
    assert await count_after("GET", "/v1/households", actor=d.partner) == 1
    assert await count_after("GET", "/v1/visits", actor=d.partner) == 1

    event = (await _reads(maker, d.partner, a.id))[-1]
    assert event.organization_id == d.private.id
    assert event.actor_role == "partner"
    assert event.device_id is not None
    assert event.address is not None
    assert event.entity_id is not None
    assert event.at is not None

    # writes too, with what changed (field names, never values)
    await client.patch(f"/v1/households/{a.id}", headers=c.headers, json={"contact_phone": "010-0000-1111"})
    writes = await audits(maker, actor_id=c.id, household_id=a.id, action="household.update")
    assert writes
    assert writes[-1].details == {"fields": ["contact_phone"]}
    assert "010-0000-1111" not in str([w.details for w in writes])


async def test_denied_attempts_are_audited(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    r = await client.get(f"/v1/households/{household.id}", headers=d.partner.headers)
    assert r.status_code == 404
    denied = await audits(maker, actor_id=d.partner.id, household_id=household.id, result="denied")
    assert len(denied) == 1
    assert denied[0].action == "household.read"
    r = await client.patch(f"/v1/households/{household.id}", headers=d.partner.headers, json={"contact_phone": None})
    assert r.status_code == 404
    assert len(await audits(maker, actor_id=d.partner.id, household_id=household.id, result="denied")) == 2


async def _seed(factory: Factory, client: httpx.AsyncClient, d: District) -> Any:
    household = await make_household(factory, DONG_A)
    for _ in range(2):
        await client.get(f"/v1/households/{household.id}", headers=d.planner.headers)
    await client.get(f"/v1/households/{household.id}", headers=d.coordinator.headers)
    await client.patch(f"/v1/households/{household.id}", headers=d.coordinator.headers, json={"tags": ["elderly"]})
    await client.post(
        f"/v1/households/{household.id}/reveal", headers=d.coordinator.headers, json={"reason": "급여 확인"}
    )
    await client.get(f"/v1/households/{household.id}", headers=d.partner.headers)  # denied
    return household


async def test_admin_queries_audit_events(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    other = await district(factory, "11110")
    household = await _seed(factory, client, d)
    url = "/v1/audit-events"
    h = d.admin.headers

    r = await client.get(url, headers=h, params={"household_id": str(household.id)})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    actions = [e["action"] for e in items]
    assert actions[0] == "household.read"
    assert items[0]["result"] == "denied"
    assert {"household.read", "household.update", "household.reveal"} <= set(actions)
    reveal = next(e for e in items if e["action"] == "household.reveal")
    assert reveal["purpose"] == "급여 확인"
    assert reveal["actor_id"] == str(d.coordinator.id)

    by_actor = await client.get(url, headers=h, params={"actor_id": str(d.planner.id), "action": "household.read"})
    assert len(by_actor.json()["items"]) == 2
    prefix = await client.get(url, headers=h, params={"household_id": str(household.id), "action": "household.re*"})
    assert {e["action"] for e in prefix.json()["items"]} == {"household.read", "household.reveal"}
    page = await client.get(url, headers=h, params={"household_id": str(household.id), "limit": 2})
    rest = await client.get(
        url, headers=h, params={"household_id": str(household.id), "limit": 2, "cursor": page.json()["next_cursor"]}
    )
    ids = [e["id"] for e in page.json()["items"] + rest.json()["items"]]
    assert len(ids) == len(set(ids)) == 4
    future = (utcnow() + timedelta(days=1)).isoformat()
    assert (await client.get(url, headers=h, params={"from": future})).json()["items"] == []
    today = utcnow().date().isoformat()
    assert (await client.get(url, headers=h, params={"to": "2000-01-01"})).json()["items"] == []
    assert (await client.get(url, headers=h, params={"from": today, "household_id": str(household.id)})).json()["items"]
    assert (await client.get(url, headers=h, params={"from": "soon"})).status_code == 422

    # another district's admin sees none of it; other roles may never query
    theirs = await client.get(url, headers=other.admin.headers, params={"household_id": str(household.id)})
    assert theirs.json()["items"] == []
    for actor in (d.coordinator, d.planner, d.partner, d.reporter, d.integration):
        assert (await client.get(url, headers=actor.headers)).status_code == 403


async def test_monthly_review_report(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    d = await district(factory)
    household = await _seed(factory, client, d)
    month = utcnow().astimezone(app.state.ongi.settings.tz).strftime("%Y-%m")  # type: ignore[attr-defined]
    r = await client.get("/v1/audit-reports/monthly", headers=d.admin.headers, params={"month": month})
    assert r.status_code == 200, r.text
    report = r.json()
    users = {u["user_id"]: u for u in report["users"]}
    planner = users[str(d.planner.id)]
    assert (planner["household_reads"], planner["household_writes"], planner["reveals"]) == (2, 0, 0)
    assert planner["distinct_households"] == 1
    assert planner["role"] == "planner"
    coordinator = users[str(d.coordinator.id)]
    assert (coordinator["household_reads"], coordinator["household_writes"], coordinator["reveals"]) == (1, 1, 1)
    assert users[str(d.partner.id)]["denied"] == 1
    assert users[str(d.partner.id)]["organization_name"] == d.private.name
    assert report["totals"]["reveals"] == 1
    assert report["totals"]["denied"] >= 1
    assert report["timezone"] == "Asia/Seoul"
    assert household is not None
    empty = await client.get("/v1/audit-reports/monthly", headers=d.admin.headers, params={"month": "2001-01"})
    assert empty.json()["users"] == []
    assert (
        await client.get("/v1/audit-reports/monthly", headers=d.admin.headers, params={"month": "2026-13"})
    ).status_code == 422
    assert (
        await client.get("/v1/audit-reports/monthly", headers=d.coordinator.headers, params={"month": month})
    ).status_code == 403


async def test_retention_purges_expired_events(maker: async_sessionmaker[AsyncSession], settings: Any) -> None:
    now = utcnow()
    old = now - timedelta(days=settings.audit_retention_days + 1)
    young = now - timedelta(days=settings.audit_retention_days - 1)
    async with maker() as s:
        import uuid

        rows = [
            {
                "id": uuid.uuid4(),
                "version": 1,
                "created_at": at,
                "updated_at": at,
                "at": at,
                "action": "household.read",
                "result": "ok",
                "details": {},
            }
            for at in (old, young)
        ]
        await s.execute(insert(AuditEvent), rows)
        purged = await purge_expired(s, settings)
        await commit(s)
    assert purged >= 1
    left = {e.id for e in await audits(maker, action="household.read")}
    assert rows[0]["id"] not in left
    assert rows[1]["id"] in left


def test_action_kinds() -> None:
    assert action_kind("household.read") == "read"
    assert action_kind("sync.pull") == "read"
    assert action_kind("household.reveal") == "reveal"
    assert action_kind("household.update") == "write"
    assert action_kind("visit.transition") == "write"
