"""The support ledger of a household and possible duplicate supports (issue 18, item 4; docs/winter.md Supports)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx

from app.audit.models import AuditEvent
from app.core.principal import OrgKind
from tests.support.care import coordinator_and_planner, fetch, make_resource, move, partner, propose
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit

WINTER = {"period_start": "2026-12-01", "period_end": "2027-02-28"}


async def _world(client: httpx.AsyncClient, factory: Factory) -> dict[str, Any]:
    coordinator, planner = await coordinator_and_planner(factory)
    fuel_bank = await factory.org(OrgKind.private, ["11990"], name=f"온기나눔-{uuid.uuid4().hex[:6]}")
    food_bank = await factory.org(OrgKind.private, ["11990"], name=f"온기푸드뱅크-{uuid.uuid4().hex[:6]}")
    voucher = await make_resource(
        client, coordinator, name="에너지바우처", category="energy_voucher", default_amount=300_000
    )
    fuel = await make_resource(
        client,
        coordinator,
        fuel_bank.id,
        name="난방유 200L",
        kind="private_resource",
        category="heating_fuel",
        default_amount=250_000,
    )
    briquettes = await make_resource(
        client,
        coordinator,
        fuel_bank.id,
        name="연탄 300장",
        kind="private_resource",
        category="heating_fuel",
        default_amount=240_000,
    )
    food = await make_resource(
        client,
        coordinator,
        food_bank.id,
        name="푸드뱅크 꾸러미",
        kind="private_resource",
        category="food_bank",
        default_amount=50_000,
    )
    household = await make_household(factory)
    return {
        "coordinator": coordinator,
        "planner": planner,
        "fuel_bank": fuel_bank,
        "food_bank": food_bank,
        "voucher": voucher,
        "fuel": fuel,
        "briquettes": briquettes,
        "food": food,
        "household": household,
    }


async def _ledger(client: httpx.AsyncClient, actor: Actor, household_id: Any, **params: Any) -> httpx.Response:
    return await client.get(f"/v1/households/{household_id}/ledger", headers=actor.headers, params=params)


async def test_a_second_support_for_the_same_need_and_period_is_a_possible_duplicate(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    w = await _world(client, factory)
    planner, coordinator, household = w["planner"], w["coordinator"], w["household"]
    r = await propose(client, planner, household.id, w["voucher"]["id"], **WINTER)
    assert r.status_code == 201, r.text
    voucher_id = r.json()["id"]

    # heating fuel from a private centre in January: the same need (heating) in an overlapping period
    r = await propose(
        client, planner, household.id, w["fuel"]["id"], period_start="2027-01-10", period_end="2027-01-31"
    )
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["type"].endswith("/problems/possible-duplicate-support")
    assert body["title"] == "중복일 수 있는 지원입니다"
    assert "confirm: true" in body["detail"]
    [dup] = body["duplicates"]
    assert dup["support_id"] == voucher_id
    assert dup["resource_name"] == "에너지바우처"
    assert dup["need"] == "heating"
    assert dup["provider_name"] == coordinator.org.name
    assert dup["period_start"] == "2026-12-01"
    assert dup["status"] == "proposed"

    # another need (food), or the same need after the period: no question asked
    assert (await propose(client, planner, household.id, w["food"]["id"], **WINTER)).status_code == 201
    r = await propose(client, planner, household.id, w["fuel"]["id"], period_start="2027-03-01")
    assert r.status_code == 201, r.text
    later_fuel = r.json()["id"]

    # an open-ended one (no end) overlaps everything after its start; confirm: true proposes it anyway
    r = await propose(client, planner, household.id, w["briquettes"]["id"], period_start="2027-02-01")
    assert r.status_code == 409
    assert {d["support_id"] for d in r.json()["duplicates"]} == {voucher_id, later_fuel}
    r = await propose(client, planner, household.id, w["briquettes"]["id"], period_start="2027-02-01", confirm=True)
    assert r.status_code == 201, r.text
    confirmed = r.json()["id"]
    [created] = await fetch(
        factory, AuditEvent, AuditEvent.action == "support.create", AuditEvent.entity_id == uuid.UUID(confirmed)
    )
    assert sorted(created.details["confirmed_duplicates"]) == sorted([voucher_id, later_fuel])

    # a declined support is no duplicate; the same resource still open stays a hard conflict
    assert (await move(client, planner, voucher_id, "declined", reason="대상 아님")).status_code == 200
    r = await propose(
        client, planner, household.id, w["voucher"]["id"], period_start="2026-12-01", period_end="2026-12-31"
    )
    assert r.status_code == 201, r.text
    r = await propose(client, planner, household.id, w["voucher"]["id"], **WINTER)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/problems/conflict")


async def test_the_ledger_lists_every_support_with_names_overlaps_and_totals(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    w = await _world(client, factory)
    planner, coordinator, household = w["planner"], w["coordinator"], w["household"]
    voucher = (await propose(client, planner, household.id, w["voucher"]["id"], **WINTER)).json()["id"]
    await move(client, planner, voucher, "requested")
    assert (await move(client, coordinator, voucher, "approved")).status_code == 200
    fuel = await propose(
        client,
        planner,
        household.id,
        w["fuel"]["id"],
        period_start="2027-01-01",
        period_end="2027-01-31",
        confirm=True,
        amount=200_000,
    )
    fuel_id = fuel.json()["id"]
    food = (await propose(client, planner, household.id, w["food"]["id"])).json()["id"]
    await move(client, planner, food, "declined", reason="본인 거절")
    other = await make_household(factory)
    await propose(client, planner, other.id, w["food"]["id"])  # another household: never in this ledger

    r = await _ledger(client, planner, household.id)
    assert r.status_code == 200, r.text
    ledger = r.json()
    assert ledger["household_id"] == str(household.id)
    assert ledger["scope"] == "all"
    entries = {e["support_id"]: e for e in ledger["entries"]}
    assert list(entries) == [voucher, fuel_id, food]  # in the order they were proposed
    v, f, d = entries[voucher], entries[fuel_id], entries[food]
    assert (v["resource_name"], v["resource_kind"], v["category"], v["need"]) == (
        "에너지바우처",
        "public_benefit",
        "energy_voucher",
        "heating",
    )
    assert v["provider_name"] == coordinator.org.name
    assert f["provider_name"] == w["fuel_bank"].name
    assert (v["status"], v["amount"], v["period_start"], v["period_end"]) == ("approved", 300_000, *WINTER.values())
    assert v["overlaps"] == [fuel_id]
    assert f["overlaps"] == [voucher]
    assert d["overlaps"] == []
    assert d["status"] == "declined"

    totals = ledger["totals"]
    assert totals["count"] == 3
    assert totals["amount"] == 500_000  # declined left out
    assert (totals["approved"], totals["pending"], totals["provided"]) == (300_000, 200_000, 0)
    assert totals["by_status"]["declined"] == {"count": 1, "amount": 50_000}
    assert totals["by_kind"] == {
        "public_benefit": {"count": 1, "amount": 300_000},
        "private_resource": {"count": 1, "amount": 200_000},
    }
    assert totals["by_need"] == {"heating": {"count": 2, "amount": 500_000}}

    only = (await _ledger(client, coordinator, household.id, status="approved")).json()
    assert [e["support_id"] for e in only["entries"]] == [voucher]

    reads = sorted(await fetch(factory, AuditEvent, AuditEvent.action == "household.ledger"), key=lambda a: a.at)
    assert [(a.household_id, a.actor_id, a.purpose) for a in reads] == [
        (household.id, planner.id, "service_linkage"),
        (household.id, coordinator.id, "service_linkage"),
    ]

    outside = await make_household(factory, dong_code="1168051000")
    assert (await _ledger(client, planner, outside.id)).status_code == 404
    assert (await _ledger(client, planner, uuid.uuid4())).status_code == 404


async def test_private_staff_see_only_what_consent_allows(client: httpx.AsyncClient, factory: Factory) -> None:
    w = await _world(client, factory)
    planner, coordinator, household = w["planner"], w["coordinator"], w["household"]
    fuel_worker = await partner(factory, w["fuel_bank"])
    voucher = (await propose(client, planner, household.id, w["voucher"]["id"], **WINTER)).json()["id"]
    food = (await propose(client, planner, household.id, w["food"]["id"])).json()["id"]

    # not assigned, or assigned without consent: the household does not exist for the partner
    assert (await _ledger(client, fuel_worker, household.id)).status_code == 404
    await make_visit(factory, household, [planner.user, fuel_worker.user], purpose="follow_up")
    assert (await _ledger(client, fuel_worker, household.id)).status_code == 404

    # a consent for the visit's purpose only: the partner's own organization's supports, never a benefit
    consent = await make_consent(
        factory, household, coordinator.user, organization=w["fuel_bank"], purposes=["follow_up"]
    )
    r = await _ledger(client, fuel_worker, household.id)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "consented"
    assert r.json()["entries"] == []
    r = await propose(
        client, fuel_worker, household.id, w["fuel"]["id"], period_start="2027-01-01", period_end="2027-01-31"
    )
    assert r.status_code == 201, r.text  # the voucher it may not see is not named, nor asked about
    fuel = r.json()["id"]
    ledger = (await _ledger(client, fuel_worker, household.id)).json()
    assert [e["support_id"] for e in ledger["entries"]] == [fuel]
    assert ledger["entries"][0]["overlaps"] == []
    assert ledger["totals"]["by_kind"]["public_benefit"] == {"count": 0, "amount": 0}

    # with service_linkage: every provider's private supports (the food bank's), still no public benefit
    await make_consent(
        factory, household, coordinator.user, organization=w["fuel_bank"], purposes=["follow_up", "service_linkage"]
    )
    ledger = (await _ledger(client, fuel_worker, household.id)).json()
    assert [e["support_id"] for e in ledger["entries"]] == [food, fuel]
    assert voucher not in {e["support_id"] for e in ledger["entries"]}
    assert ledger["totals"]["count"] == 2

    # public staff see all three, the voucher overlapping the fuel
    staff = (await _ledger(client, planner, household.id)).json()
    entries = {e["support_id"]: e for e in staff["entries"]}
    assert set(entries) == {voucher, food, fuel}
    assert entries[voucher]["overlaps"] == [fuel]
    assert consent.household_id == household.id
    assert date.fromisoformat(entries[fuel]["period_start"]) == date(2027, 1, 1)
