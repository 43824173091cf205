"""The resource catalog: who manages and reads it, validation, capacity edits, tombstones, sync log."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from app.core.principal import OrgKind, Role
from app.sync.models import ChangeLog
from tests.support.care import coordinator_and_planner, fetch, make_resource, partner
from tests.support.factories import Factory


async def test_coordinator_manages_and_field_roles_read(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    worker = await partner(factory)
    made = await make_resource(client, coordinator, capacity=10)
    assert made["remaining"] == 10
    assert made["provider_name"] == coordinator.org.name
    assert made["kind"] == "public_benefit"

    for actor in (planner, worker, coordinator):
        r = await client.get("/v1/resources", headers=actor.headers)
        assert r.status_code == 200, r.text
        assert made["id"] in [i["id"] for i in r.json()["items"]]
        one = await client.get(f"/v1/resources/{made['id']}", headers=actor.headers)
        assert one.status_code == 200
        assert one.headers["etag"].startswith('"v1-')

    reporter = await factory.actor(Role.reporter)
    assert (await client.get("/v1/resources", headers=reporter.headers)).status_code == 403
    r = await client.post(
        "/v1/resources",
        json={**{k: made[k] for k in ("name", "kind", "category", "provider_organization_id", "district_code")}},
        headers=planner.headers,
    )
    assert r.status_code == 403
    admin = await factory.actor(Role.admin, coordinator.org)
    r = await client.get("/v1/resources", headers=admin.headers)
    assert made["id"] in [i["id"] for i in r.json()["items"]]


async def test_other_district_neither_lists_nor_reads(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, _ = await coordinator_and_planner(factory)
    made = await make_resource(client, coordinator)
    elsewhere, _ = await coordinator_and_planner(factory, ["11680"])
    r = await client.get("/v1/resources", headers=elsewhere.headers)
    assert made["id"] not in [i["id"] for i in r.json()["items"]]
    assert (await client.get(f"/v1/resources/{made['id']}", headers=elsewhere.headers)).status_code == 404
    r = await client.patch(f"/v1/resources/{made['id']}", json={"name": "x"}, headers=elsewhere.headers)
    assert r.status_code == 404


async def test_validation(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, _ = await coordinator_and_planner(factory)
    private_org = await factory.org(OrgKind.private, ["11990"])
    base = {
        "name": "쌀 10kg",
        "kind": "private_resource",
        "category": "food_bank",
        "provider_organization_id": str(private_org.id),
        "district_code": "11990",
    }
    cases = [
        ({"kind": "public_benefit", "category": "energy_voucher"}, "body.provider_organization_id"),
        ({"category": "energy_voucher"}, "body.category"),
        ({"district_code": "11680"}, "body.district_code"),
        ({"capacity": 3, "remaining": 5}, "body.remaining"),
        ({"provider_organization_id": "00000000-0000-4000-8000-000000000000"}, "body.provider_organization_id"),
    ]
    for change, field in cases:
        r = await client.post("/v1/resources", json={**base, **change}, headers=coordinator.headers)
        assert r.status_code == 422, (change, r.text)
        assert r.json()["errors"][0]["field"] == field
    r = await client.post("/v1/resources", json={**base, "capacity": -1}, headers=coordinator.headers)
    assert r.status_code == 422
    r = await client.post("/v1/resources", json={**base, "color": "red"}, headers=coordinator.headers)
    assert r.status_code == 422
    r = await client.post("/v1/resources", json=base, headers=coordinator.headers)
    assert r.status_code == 201
    assert r.json()["remaining"] is None  # not capacity-limited


async def test_capacity_edits_move_remaining_and_honour_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, _ = await coordinator_and_planner(factory)
    made = await make_resource(client, coordinator, capacity=10, remaining=4)
    url = f"/v1/resources/{made['id']}"
    r = await client.patch(url, json={"capacity": 15}, headers={**coordinator.headers, "If-Match": '"v1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["capacity"], r.json()["remaining"]) == (15, 9)
    assert r.headers["etag"].startswith('"v2-')
    r = await client.patch(url, json={"capacity": 2}, headers={**coordinator.headers, "If-Match": '"v1"'})
    assert r.status_code == 412
    r = await client.patch(url, json={"capacity": 2}, headers=coordinator.headers)
    assert (r.json()["capacity"], r.json()["remaining"]) == (2, 0)
    r = await client.patch(url, json={"remaining": 3}, headers=coordinator.headers)
    assert r.status_code == 422
    r = await client.patch(url, json={"active": False, "eligibility": None}, headers=coordinator.headers)
    assert r.json()["active"] is False
    assert r.json()["eligibility"] is None
    listed = await client.get("/v1/resources", headers=coordinator.headers)
    assert made["id"] not in [i["id"] for i in listed.json()["items"]]
    listed = await client.get("/v1/resources?active=false", headers=coordinator.headers)
    assert made["id"] in [i["id"] for i in listed.json()["items"]]


async def test_filters(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    food_org = await factory.org(OrgKind.private, ["11990"])
    food = await make_resource(
        client,
        coordinator,
        food_org.id,
        name="푸드뱅크 식료품 꾸러미",
        kind="private_resource",
        category="food_bank",
        capacity=1,
        remaining=0,
    )
    benefit = await make_resource(client, coordinator, name="에너지바우처", category="energy_voucher")
    ids = lambda r: {i["id"] for i in r.json()["items"]}  # noqa: E731
    r = await client.get("/v1/resources?kind=private_resource", headers=planner.headers)
    assert food["id"] in ids(r)
    assert benefit["id"] not in ids(r)
    r = await client.get("/v1/resources?available=true", headers=planner.headers)
    assert food["id"] not in ids(r)
    assert benefit["id"] in ids(r)
    r = await client.get("/v1/resources", params={"q": "바우처"}, headers=planner.headers)
    assert ids(r) >= {benefit["id"]}
    assert food["id"] not in ids(r)
    r = await client.get(f"/v1/resources?provider_organization_id={food_org.id}", headers=planner.headers)
    assert ids(r) == {food["id"]}


async def test_delete_leaves_a_tombstone_logged_for_sync(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator, planner = await coordinator_and_planner(factory)
    made = await make_resource(client, coordinator)
    r = await client.delete(f"/v1/resources/{made['id']}", headers=coordinator.headers)
    assert r.status_code == 204
    assert (await client.get(f"/v1/resources/{made['id']}", headers=planner.headers)).status_code == 404
    logged = await fetch(
        factory, ChangeLog, ChangeLog.entity == "resource", ChangeLog.entity_id == uuid.UUID(made["id"])
    )
    assert [c.op for c in sorted(logged, key=lambda c: c.seq)] == ["upsert", "delete"]
    from app.resources.models import Resource

    async with factory.maker() as s:
        row = (await s.execute(select(Resource).where(Resource.id == uuid.UUID(made["id"])))).scalar_one()
    assert row.deleted_at is not None
