"""HTTP details of docs/api.md#conventions (issue 14 item 5): ETags that name the representation, strong If-Match,
If-None-Match 304, Vary, lists as {items, next_cursor}, errors in the caller's language, offline docs, one
way of writing times."""

from __future__ import annotations

import uuid

import httpx

from app.core.principal import Role
from app.core.times import local_today
from app.households.models import Household
from app.monitoring.models import MonitoringPlan
from tests.support.care import set_columns
from tests.support.checklists import builtin_templates, staff
from tests.support.factories import Factory, make_consent, make_household, make_visit
from tests.support.world import district, household_body

TEMPLATE = "/v1/checklist-templates/lonely_death_screening/versions/1"


async def test_etag_differs_between_languages_and_304_on_if_none_match(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    s = await staff(factory)
    await builtin_templates(factory)
    ko = await client.get(TEMPLATE, params={"lang": "auto"}, headers={**s.planner.headers, "Accept-Language": "ko"})
    en = await client.get(TEMPLATE, params={"lang": "auto"}, headers={**s.planner.headers, "Accept-Language": "en"})
    assert ko.status_code == en.status_code == 200
    assert ko.headers["etag"].startswith('"v1-')
    assert en.headers["etag"].startswith('"v1-')
    assert ko.headers["etag"] != en.headers["etag"]
    for r in (ko, en):
        vary = {v.strip() for v in r.headers["vary"].split(",")}
        assert {"Accept-Language", "Authorization"} <= vary
    # the same representation again: 304 without a body, with the tag
    again = await client.get(
        TEMPLATE,
        params={"lang": "auto"},
        headers={**s.planner.headers, "Accept-Language": "ko", "If-None-Match": ko.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == ko.headers["etag"]
    # If-None-Match compares weakly; another language's tag is not a match
    weak = await client.get(
        TEMPLATE,
        params={"lang": "auto"},
        headers={**s.planner.headers, "Accept-Language": "ko", "If-None-Match": "W/" + ko.headers["etag"]},
    )
    assert weak.status_code == 304
    other = await client.get(
        TEMPLATE,
        params={"lang": "auto"},
        headers={**s.planner.headers, "Accept-Language": "ko", "If-None-Match": en.headers["etag"]},
    )
    assert other.status_code == 200


async def test_etag_differs_between_redacted_and_full_views(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    created = await client.post(
        "/v1/households", headers=d.coordinator.headers, json=household_body(sensitive={"income": "월 60만원"})
    )
    assert created.status_code == 201, created.text
    hid = created.json()["id"]
    async with factory.maker() as s:
        household = await s.get(Household, uuid.UUID(hid))
    await make_visit(factory, household, [d.planner.user, d.partner.user])
    await make_consent(factory, household, d.coordinator.user, organization=d.private)
    full = await client.get(f"/v1/households/{hid}", headers=d.coordinator.headers)
    redacted = await client.get(f"/v1/households/{hid}", headers=d.partner.headers)
    assert full.status_code == redacted.status_code == 200, redacted.text
    assert full.json()["version"] == redacted.json()["version"]
    assert full.json()["sensitive"] is not None
    assert redacted.json()["sensitive"] is None
    version = full.json()["version"]
    assert full.headers["etag"].startswith(f'"v{version}-')
    assert redacted.headers["etag"].startswith(f'"v{version}-')
    assert full.headers["etag"] != redacted.headers["etag"]
    # the partner's tag never answers 304 to the coordinator (nor the other way round)
    cross = await client.get(
        f"/v1/households/{hid}", headers={**d.coordinator.headers, "If-None-Match": redacted.headers["etag"]}
    )
    assert cross.status_code == 200
    assert cross.json()["sensitive"] is not None


async def test_if_match_is_strong(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.actor(Role.admin)
    org = await client.get(f"/v1/organizations/{admin.org.id}", headers=admin.headers)
    assert org.status_code == 200, org.text
    tag = org.headers["etag"]
    url = f"/v1/organizations/{admin.org.id}"
    weak = await client.patch(url, headers={**admin.headers, "If-Match": "W/" + tag}, json={"name": "온기 구청"})
    assert weak.status_code == 412  # RFC 9110 §13.1.1: a weak tag never matches If-Match
    assert weak.headers["content-type"] == "application/problem+json"
    ok = await client.patch(url, headers={**admin.headers, "If-Match": tag}, json={"name": "온기 구청"})
    assert ok.status_code == 200, ok.text
    stale = await client.patch(url, headers={**admin.headers, "If-Match": tag}, json={"name": "온기 구청 2"})
    assert stale.status_code == 412


async def test_due_monitoring_is_a_page(client: httpx.AsyncClient, factory: Factory) -> None:
    coordinator = await factory.actor(Role.coordinator)
    planner = await factory.actor(Role.planner, coordinator.org)
    today = local_today()
    ids = []
    for _ in range(3):
        household = await make_household(factory)
        r = await client.post(
            "/v1/monitoring",
            headers=planner.headers,
            json={"household_id": str(household.id), "interval_days": 30},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for pid in ids:
        await set_columns(factory, MonitoringPlan, uuid.UUID(pid), next_due_on=today)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/v1/monitoring/due", headers=coordinator.headers, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "next_cursor"}
        seen += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)


async def test_docs_work_without_internet(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    html = docs.text
    assert "cdn." not in html
    assert "unpkg" not in html
    assert "https://" not in html.split("<body>")[0]
    assert "/docs/assets/swagger-ui-bundle.js" in html
    js = await client.get("/docs/assets/swagger-ui-bundle.js")
    css = await client.get("/docs/assets/swagger-ui.css")
    assert js.status_code == css.status_code == 200
    assert len(js.content) > 100_000


async def test_enum_errors_list_the_allowed_values_in_the_callers_language(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    from app.visits.models import VisitStatus

    coordinator = await factory.actor(Role.coordinator)
    allowed = [s.value for s in VisitStatus]
    for lang, prefix in (("en", "Must be one of: "), ("ko", "다음 중 하나여야 합니다: ")):
        r = await client.get(
            "/v1/visits", params={"status": "bogus"}, headers={**coordinator.headers, "Accept-Language": lang}
        )
        assert r.status_code == 422
        [error] = r.json()["errors"]
        assert error["field"] == "query.status.0"  # status may repeat
        assert error["allowed"] == allowed
        assert error["message"] == prefix + ", ".join(allowed)


async def test_times_are_written_with_z_in_rest_and_sync(client: httpx.AsyncClient, factory: Factory) -> None:
    planner = await factory.actor(Role.planner)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [planner.user])
    rest = await client.get(f"/v1/visits/{visit.id}", headers=planner.headers)
    assert rest.status_code == 200, rest.text
    assert rest.json()["window_start"].endswith("Z")
    pull = await client.get("/v1/sync/pull", headers=planner.headers)
    assert pull.status_code == 200, pull.text
    body = pull.json()
    assert body["changes"], body
    assert "+00:00" not in pull.text
    [change] = [c for c in body["changes"] if c["entity"] == "visit"]
    assert change["hold_until"].endswith("Z")
    assert change["data"]["window_start"].endswith("Z")


async def test_every_list_is_a_page(client: httpx.AsyncClient) -> None:
    """No operation answers a bare JSON array (docs/api.md#conventions: {items, next_cursor})."""
    doc = (await client.get("/openapi.json")).json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for code, response in op.get("responses", {}).items():
                for media, body in response.get("content", {}).items():
                    assert body.get("schema", {}).get("type") != "array", f"{method} {path} {code} {media}"
