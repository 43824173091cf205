"""Administration of organizations, users and devices, scoped to what an admin manages."""

from __future__ import annotations

import httpx

from app.core.principal import OrgKind, Role
from tests.support.factories import Factory


async def test_public_admin_registers_partner_org_and_staff(client: httpx.AsyncClient, factory: Factory) -> None:
    district = await factory.org(OrgKind.public, ["11990"])
    admin = await factory.actor(Role.admin, district)
    r = await client.post(
        "/v1/organizations",
        headers=admin.headers,
        json={"name": "새온기 지역아동센터", "kind": "private", "jurisdiction": ["1199051000"]},
    )
    assert r.status_code == 201, r.text
    center = r.json()
    assert r.headers["etag"].startswith('"v1-')

    staff = await client.post(
        "/v1/users",
        headers=admin.headers,
        json={
            "organization_id": center["id"],
            "username": "center.kim",
            "display_name": "김복지",
            "role": "partner",
            "password": "a-long-password",
        },
    )
    assert staff.status_code == 201, staff.text
    assert staff.json()["client_secret"] is None

    # roles must fit the organization
    wrong = await client.post(
        "/v1/users",
        headers=admin.headers,
        json={
            "organization_id": center["id"],
            "username": "center.lee",
            "display_name": "이복지",
            "role": "planner",
            "password": "a-long-password",
        },
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "body.role"

    dup = await client.post(
        "/v1/users",
        headers=admin.headers,
        json={
            "organization_id": center["id"],
            "username": "center.kim",
            "display_name": "김복지",
            "role": "partner",
            "password": "a-long-password",
        },
    )
    assert dup.status_code == 409

    orgs = await client.get("/v1/organizations", headers=admin.headers)
    assert {o["id"] for o in orgs.json()["items"]} >= {str(district.id), center["id"]}


async def test_admin_cannot_see_other_districts(client: httpx.AsyncClient, factory: Factory) -> None:
    mine = await factory.org(OrgKind.public, ["11990"])
    theirs = await factory.org(OrgKind.public, ["11110"])
    admin = await factory.actor(Role.admin, mine)
    stranger = await factory.user(Role.planner, theirs)
    assert (await client.get(f"/v1/organizations/{theirs.id}", headers=admin.headers)).status_code == 404
    assert (await client.get(f"/v1/users/{stranger.id}", headers=admin.headers)).status_code == 404
    users = await client.get("/v1/users", headers=admin.headers)
    assert str(stranger.id) not in {u["id"] for u in users.json()["items"]}
    outside = await client.post(
        "/v1/organizations",
        headers=admin.headers,
        json={"name": "먼 복지관", "kind": "private", "jurisdiction": ["11110"]},
    )
    assert outside.status_code == 422


async def test_private_admin_manages_only_own_org(client: httpx.AsyncClient, factory: Factory) -> None:
    center = await factory.org(OrgKind.private, ["11990"])
    district = await factory.org(OrgKind.public, ["11990"])
    admin = await factory.actor(Role.admin, center)
    assert (await client.get(f"/v1/organizations/{district.id}", headers=admin.headers)).status_code == 404
    r = await client.post(
        "/v1/organizations",
        headers=admin.headers,
        json={"name": "또 다른 센터", "kind": "private", "jurisdiction": ["11990"]},
    )
    assert r.status_code == 403


async def test_non_admins_cannot_administer(client: httpx.AsyncClient, factory: Factory) -> None:
    for role in (Role.coordinator, Role.planner, Role.partner, Role.reporter):
        actor = await factory.actor(role)
        assert (await client.get("/v1/users", headers=actor.headers)).status_code == 403
        assert (await client.get("/v1/organizations", headers=actor.headers)).status_code == 403


async def test_if_match_guards_updates(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public)
    admin = await factory.actor(Role.admin, org)
    planner = await factory.user(Role.planner, org)
    got = await client.get(f"/v1/users/{planner.id}", headers=admin.headers)
    etag = got.headers["etag"]
    ok = await client.patch(
        f"/v1/users/{planner.id}", headers={**admin.headers, "If-Match": etag}, json={"display_name": "새 이름"}
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] != etag
    stale = await client.patch(
        f"/v1/users/{planner.id}", headers={**admin.headers, "If-Match": etag}, json={"display_name": "다른 이름"}
    )
    assert stale.status_code == 412
    assert stale.json()["type"].endswith("/problems/precondition-failed")


async def test_users_list_pages_with_cursor(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public)
    admin = await factory.actor(Role.admin, org)
    for _ in range(5):
        await factory.user(Role.planner, org)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, "organization_id": str(org.id)} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/users", headers=admin.headers, params=params)).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 6
    bad = await client.get("/v1/users", headers=admin.headers, params={"cursor": "!!!"})
    assert bad.status_code == 422  # a cursor not handed out is a field error of query.cursor (issue 13)
