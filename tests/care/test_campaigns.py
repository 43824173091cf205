"""Campaigns: the winter period, who manages and reads them, and the summary counts."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from app.campaigns.service import winter_period
from app.core.principal import Role
from app.core.times import local_at, local_today
from tests.support.care import add_signal, coordinator_and_planner, make_resource, move, partner, propose
from tests.support.factories import Factory, make_household, make_visit


def test_winter_period() -> None:
    assert winter_period(date(2026, 11, 22)) == (date(2026, 12, 15), date(2027, 2, 28))
    assert winter_period(date(2026, 12, 20)) == (date(2026, 12, 15), date(2027, 2, 28))
    assert winter_period(date(2027, 1, 5)) == (date(2026, 12, 15), date(2027, 2, 28))
    assert winter_period(date(2028, 2, 29)) == (date(2027, 12, 15), date(2028, 2, 29))
    assert winter_period(date(2027, 3, 1)) == (date(2027, 12, 15), date(2028, 2, 29))


async def _campaign(client: httpx.AsyncClient, coordinator: Any, **kw: Any) -> dict[str, Any]:
    today = local_today()
    body = {
        "name": "겨울철 복지위기가구 집중 발굴",
        "starts_on": (today - timedelta(days=10)).isoformat(),
        "ends_on": (today + timedelta(days=20)).isoformat(),
        "district_codes": ["11990"],
        **kw,
    }
    r = await client.post("/v1/campaigns", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_who_manages_and_reads(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    campaign = await _campaign(client, coordinator, criteria={"sources": ["bigdata"], "min_risk": "high"})
    assert campaign["criteria"] == {"sources": ["bigdata"], "min_risk": "high"}
    assert campaign["organization_id"] == str(coordinator.org.id)
    for actor in (planner, worker, coordinator):
        r = await client.get("/v1/campaigns", headers=actor.headers)
        assert campaign["id"] in [c["id"] for c in r.json()["items"]]
        assert (await client.get(f"/v1/campaigns/{campaign['id']}", headers=actor.headers)).status_code == 200
    assert (await client.get(f"/v1/campaigns/{campaign['id']}/summary", headers=planner.headers)).status_code == 403
    r = await client.post(
        "/v1/campaigns",
        json={"name": "x", "starts_on": "2026-12-15", "ends_on": "2027-02-28", "district_codes": ["11990"]},
        headers=planner.headers,
    )
    assert r.status_code == 403
    reporter = await factory.actor(Role.reporter)
    assert (await client.get("/v1/campaigns", headers=reporter.headers)).status_code == 403
    elsewhere, _ = await coordinator_and_planner(factory, ["11680"])
    assert (await client.get(f"/v1/campaigns/{campaign['id']}", headers=elsewhere.headers)).status_code == 404
    assert campaign["id"] not in [
        c["id"] for c in (await client.get("/v1/campaigns", headers=elsewhere.headers)).json()["items"]
    ]
    today = local_today()
    running = await client.get("/v1/campaigns", params={"on": today.isoformat()}, headers=planner.headers)
    assert campaign["id"] in [c["id"] for c in running.json()["items"]]
    later = await client.get(
        "/v1/campaigns", params={"on": (today + timedelta(days=60)).isoformat()}, headers=planner.headers
    )
    assert campaign["id"] not in [c["id"] for c in later.json()["items"]]

    r = await client.patch(
        f"/v1/campaigns/{campaign['id']}",
        json={"active": False, "name": "2027 겨울철 집중 발굴"},
        headers={**coordinator.headers, "If-Match": '"v1"'},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["name"]) == (False, "2027 겨울철 집중 발굴")
    stale = await client.patch(
        f"/v1/campaigns/{campaign['id']}", json={"active": True}, headers={**coordinator.headers, "If-Match": '"v1"'}
    )
    assert stale.status_code == 412


async def test_pages(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    made = [(await _campaign(client, coordinator, name=f"캠페인 {i}"))["id"] for i in range(3)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/campaigns", params=params, headers=planner.headers)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [s for s in seen if s in made] == made


async def test_validation(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, _ = await coordinator_and_planner(factory, ["1199051000"])
    base = {"name": "x", "starts_on": "2026-12-15", "ends_on": "2027-02-28", "district_codes": ["1199051000"]}
    for change, field in (
        ({"ends_on": "2026-12-01"}, "body.ends_on"),
        ({"district_codes": ["11990"]}, "body.district_codes"),  # wider than the jurisdiction
        ({"criteria": {"indicators": ["sadness"]}}, "body.criteria"),
        ({"criteria": {"tags": ["nobody"]}}, "body.criteria"),
    ):
        r = await client.post("/v1/campaigns", json={**base, **change}, headers=coordinator.headers)
        assert r.status_code == 422, change
        assert r.json()["errors"][0]["field"] == field
    for change in ({"district_codes": []}, {"district_codes": ["119"]}, {"criteria": {"sources": ["rumour"]}}):
        assert (
            await client.post("/v1/campaigns", json={**base, **change}, headers=coordinator.headers)
        ).status_code == 422
    assert (await client.post("/v1/campaigns", json=base, headers=coordinator.headers)).status_code == 201


def _first(counts: dict[str, Any]) -> dict[str, Any]:
    """The counts the summary had first (later ones are checked in tests/care/test_campaign_summary.py)."""
    return {k: counts[k] for k in ("identified", "visited", "supported", "monitored")}


async def test_summary_counts_by_dong_and_source(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    campaign = await _campaign(client, coordinator)
    cid = uuid.UUID(campaign["id"])
    today = local_today()
    in_period = local_at(today - timedelta(days=2), 10)
    before = local_at(today - timedelta(days=40), 10)

    h1 = await make_household(factory, dong_code="1199051000")
    h2 = await make_household(factory, dong_code="1199052000")
    h3 = await make_household(factory, dong_code="1199051000")
    h4 = await make_household(factory, dong_code="1199052000")
    await add_signal(factory, h1, "bigdata", in_period, ["power_cut", "gas_cut"])
    await add_signal(factory, h2, "resident_report", in_period, ["isolation"])
    await add_signal(factory, h2, "honorary_official", in_period + timedelta(hours=3), ["food_insecurity"])
    await add_signal(factory, h3, "agency_referral", before, ["medical_crisis"])  # identified before the campaign
    await add_signal(factory, h4, "bigdata", local_at(today + timedelta(days=40), 10))  # after it
    outsider = await make_household(factory, dong_code="1168051000")
    await add_signal(factory, outsider, "bigdata", in_period)

    window = {"window_start": in_period, "window_end": in_period + timedelta(hours=4)}
    await make_visit(
        factory, h1, [planner.user], purpose="identification", campaign_id=cid, status="completed", **window
    )
    await make_visit(factory, h3, [planner.user], purpose="follow_up", campaign_id=cid, status="completed", **window)
    await make_visit(factory, h2, [planner.user], purpose="identification", campaign_id=cid, **window)  # not done
    await make_visit(factory, h4, [planner.user], purpose="identification", status="completed", **window)  # no campaign

    resource = await make_resource(client, coordinator, name="에너지바우처", category="energy_voucher")
    sid = (await propose(client, planner, h2.id, resource["id"])).json()["id"]
    await move(client, planner, sid, "requested")
    proposed_only = (await propose(client, planner, h1.id, resource["id"])).json()["id"]
    assert (await move(client, coordinator, sid, "approved")).status_code == 200
    r = await client.post(
        "/v1/monitoring", json={"household_id": str(h3.id), "interval_days": 30}, headers=planner.headers
    )
    assert r.status_code == 201

    r = await client.get(f"/v1/campaigns/{cid}/summary", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert _first(summary["totals"]) == {"identified": 2, "visited": 2, "supported": 1, "monitored": 1}
    assert (summary["visits_completed"], summary["supports"], summary["facilities_inspected"]) == (2, 1, 0)
    assert summary["district_codes"] == ["11990"]
    by_dong = {d.pop("dong_code"): _first(d) for d in summary["by_dong"]}
    assert by_dong == {
        "1199051000": {"identified": 1, "visited": 2, "supported": 0, "monitored": 1},
        "1199052000": {"identified": 1, "visited": 0, "supported": 1, "monitored": 0},
    }
    by_source = {s.pop("source"): _first(s) for s in summary["by_source"]}
    assert by_source == {
        "bigdata": {"identified": 1, "visited": 1, "supported": 0, "monitored": 0},
        "resident_report": {"identified": 1, "visited": 0, "supported": 1, "monitored": 0},
        "honorary_official": {"identified": 1, "visited": 0, "supported": 1, "monitored": 0},
        "agency_referral": {"identified": 0, "visited": 1, "supported": 0, "monitored": 1},
    }
    assert proposed_only

    # criteria narrow "identified"
    narrow = await _campaign(client, coordinator, criteria={"sources": ["resident_report", "bigdata"]})
    r = await client.get(f"/v1/campaigns/{narrow['id']}/summary", headers=coordinator.headers)
    assert r.json()["totals"]["identified"] == 2
    gas = await _campaign(client, coordinator, criteria={"indicators": ["gas_cut", "food_insecurity"]})
    r = await client.get(f"/v1/campaigns/{gas['id']}/summary", headers=coordinator.headers)
    assert r.json()["totals"]["identified"] == 2
    single = await _campaign(client, coordinator, criteria={"indicators": ["isolation"]})
    r = await client.get(f"/v1/campaigns/{single['id']}/summary", headers=coordinator.headers)
    assert {s["source"]: s["identified"] for s in r.json()["by_source"] if s["identified"]} == {"resident_report": 1}

    # a dong coordinator counts only their dong
    dong_coordinator, _ = await coordinator_and_planner(factory, ["1199052000"])
    r = await client.get(f"/v1/campaigns/{cid}/summary", headers=dong_coordinator.headers)
    assert r.json()["district_codes"] == ["1199052000"]
    assert _first(r.json()["totals"]) == {"identified": 1, "visited": 0, "supported": 1, "monitored": 0}
