"""Exports: visits, supports and campaign summaries as NDJSON or CSV, paged, filtered, scoped, audited."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.exports.filters import Filters
from app.exports.kinds.visits import VISIT_COLUMNS
from app.exports.service import stream_export
from app.visits.models import Visit, VisitAssignee
from tests.support.factories import Factory, make_household
from tests.support.integrations import integration_client

EXPORT = "/v1/exports"
#: Every download of personal data says why (docs/access.md#lifecycle-of-personal-data-pipa), in a header (never the
# URL).
REASON = {"Ongi-Reason": "%EC%9B%94%EB%A1%80%20%EB%B3%B4%EA%B3%A0"}  # "월례 보고", percent-encoded
PAGE = 40


async def _visits(
    factory: Factory, household: Any, n: int, *, dong: str, assignee: Any = None, **kw: Any
) -> list[Visit]:
    now = utcnow()
    visits = [
        Visit(
            household_id=household.id,
            dong_code=dong,
            purpose="assessment",
            status=kw.get("status", "scheduled" if i % 3 else "completed"),
            window_start=now + timedelta(hours=i % 48 - 24),
            window_end=now + timedelta(hours=i % 48 - 20),
            outcome='=HYPERLINK("http://x")' if i == 0 else None,
        )
        for i in range(n)
    ]
    async with factory.maker() as s:
        s.add_all(visits)
        await s.flush()
        if assignee is not None:
            s.add_all(
                VisitAssignee(visit_id=v.id, user_id=assignee.id, organization_id=assignee.organization_id, lead=True)
                for v in visits
            )
        await commit(s)
    return visits


def _ndjson(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    return [json.loads(x) for x in r.text.splitlines()]


async def test_visits_export_ndjson_and_csv_paged_filtered_and_audited(
    client: httpx.AsyncClient,
    factory: Factory,
    maker: async_sessionmaker[AsyncSession],
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.exports.service.PAGE_SIZE", PAGE)  # several pages without thousands of rows
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    here = await make_household(factory, "1199051000")
    there = await make_household(factory, "1168051000")
    mine = await _visits(factory, here, PAGE * 2 + 37, dong="1199051000", assignee=planner.user)
    await _visits(factory, there, 25, dong="1168051000")  # another district: never exported to this caller
    ids = {str(v.id) for v in mine}

    r = await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON})
    assert r.headers["content-type"].startswith("application/x-ndjson")
    assert r.headers["content-disposition"].startswith('attachment; filename="ongi-visits-')
    export_id = r.headers["x-export-id"]
    rows = _ndjson(r)
    got = [row for row in rows if row["id"] in ids]
    assert len(got) == len(mine)
    assert all(row["dong_code"].startswith("11990") for row in rows)
    assert list(rows[0]) == VISIT_COLUMNS
    assert all(row["assignees"] == [str(planner.id)] and row["household_id"] == str(here.id) for row in got)
    assert len({row["id"] for row in rows}) == len(rows)  # nothing twice across pages

    # filters
    completed = _ndjson(
        await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON}, params={"status": "completed"})
    )
    assert {row["status"] for row in completed} == {"completed"}
    assert len([row for row in completed if row["id"] in ids]) == len([v for v in mine if v.status == "completed"])
    none = _ndjson(
        await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON}, params={"dong_code": "1199052"})
    )
    assert not [row for row in none if row["id"] in ids]
    tomorrow = (utcnow() + timedelta(days=3)).astimezone(app.state.ongi.settings.tz).date().isoformat()
    later = _ndjson(
        await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON}, params={"from": tomorrow})
    )
    assert not [row for row in later if row["id"] in ids]
    window = _ndjson(
        await client.get(
            f"{EXPORT}/visits",
            headers={**coordinator.headers, **REASON},
            params={
                "from": (utcnow() - timedelta(hours=2)).isoformat(),
                "to": (utcnow() + timedelta(hours=30)).isoformat(),
            },
        )
    )
    assert 0 < len([row for row in window if row["id"] in ids]) < len(mine)

    # CSV by Accept, for people: a BOM (Excel reads Korean), a header in the caller's language, names instead of
    # ids, Excel-safe cells; without the BOM on request
    r = await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(r.content[3:].decode())))
    assert list(table[0])[:3] == ["방문 ID", "행정동", "행정동 코드"]
    by_id = {row["방문 ID"]: row for row in table if row["방문 ID"] in ids}
    assert len(by_id) == len(mine)
    assert by_id[str(mine[0].id)]["결과"].startswith("'=")  # a formula is neutralized
    assert by_id[str(mine[1].id)]["담당자"] == planner.user.display_name  # a name, not an id
    assert str(planner.id) not in r.text
    english = await client.get(
        f"{EXPORT}/visits",
        headers={**coordinator.headers, **REASON, "Accept-Language": "en"},
        params={"format": "csv", "bom": "false"},
    )
    assert english.content.startswith(b"Visit ID,Dong,Dong code,")
    # audited: the start, and one event per exported visit with its household
    async with maker() as s:
        start = (
            await s.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "export.start", AuditEvent.entity_id == uuid.UUID(export_id)
                )
            )
        ).scalar_one()
        reads = (
            await s.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "export.read", AuditEvent.details["export_id"].as_string() == export_id)
            )
        ).scalar_one()
    assert start.actor_id == coordinator.id
    assert start.details["kind"] == "visits"
    assert reads == len(rows)


async def test_export_access(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    here = await make_household(factory, "1199051000")
    await _visits(factory, here, 3, dong="1199051000")
    dashboard = await integration_client(factory, ["exports:read", "visits:read"], org=org)
    rows = _ndjson(await client.get(f"{EXPORT}/visits", headers={**dashboard.headers, **REASON}))
    assert len(rows) >= 3
    # a client needs both exports:read and the kind's read scope
    for scopes in (["visits:read"], ["exports:read"], ["exports:read", "supports:read"]):
        other = await integration_client(factory, scopes, org=org)
        assert (await client.get(f"{EXPORT}/visits", headers={**other.headers, **REASON})).status_code == 403, scopes
    assert (
        await client.get(f"{EXPORT}/campaign-summaries", headers={**dashboard.headers, **REASON})
    ).status_code == 403
    for role in (Role.planner, Role.admin):
        actor = await factory.actor(role, org)
        assert (await client.get(f"{EXPORT}/visits", headers={**actor.headers, **REASON})).status_code == 403
    partner = await factory.actor(Role.partner)
    assert (await client.get(f"{EXPORT}/visits", headers={**partner.headers, **REASON})).status_code == 403
    assert (await client.get(f"{EXPORT}/visits")).status_code == 401
    coordinator = await factory.actor(Role.coordinator, org)
    bad = [
        ({"status": "flying"}, 422),
        ({"from": "yesterday"}, 422),
        ({"to": "2026-11-01T10:00:00"}, 422),  # no offset
        ({"dong_code": "seoul"}, 422),
        ({"format": "xml"}, 422),
    ]
    for params, status in bad:
        r = await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON}, params=params)
        assert r.status_code == status, (params, r.text)
    r = await client.get(f"{EXPORT}/visits", headers={**coordinator.headers, **REASON, "Accept": "application/xml"})
    assert r.status_code == 406
    assert (await client.get(f"{EXPORT}/people", headers={**coordinator.headers, **REASON})).status_code == 422


async def test_supports_and_campaign_summaries(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    from app.campaigns.models import Campaign
    from app.resources.models import Resource
    from app.supports.models import Support

    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    here = await make_household(factory, "1199051000")
    there = await make_household(factory, "1168051000")
    now = utcnow()
    async with maker() as s:
        resource = Resource(
            name="에너지바우처",
            kind="public_benefit",
            category="energy_voucher",
            provider_organization_id=org.id,
            district_code="11990",
        )
        s.add(resource)
        await s.flush()
        supports = [
            Support(
                household_id=h.id,
                resource_id=resource.id,
                district_code=h.district_code,
                dong_code=h.dong_code,
                status=status,
                provider_organization_id=org.id,
                proposed_by_id=coordinator.id,
                status_changed_at=now,
                approved_at=now if status == "approved" else None,
                amount=150_000,
                reason="난방비 체납",
            )
            for h, status in ((here, "proposed"), (here, "approved"), (there, "approved"))
        ]
        s.add_all(supports)
        today = now.date()
        campaign = Campaign(
            name="겨울철 집중 발굴",
            starts_on=today - timedelta(days=10),
            ends_on=today + timedelta(days=30),
            district_codes=["11990"],
            organization_id=org.id,
        )
        s.add(campaign)
        await commit(s)

    rows = _ndjson(await client.get(f"{EXPORT}/supports", headers={**coordinator.headers, **REASON}))
    mine = [r for r in rows if r["household_id"] == str(here.id)]
    assert len(mine) == 2
    assert not [r for r in rows if r["household_id"] == str(there.id)]
    assert {r["status"] for r in mine} == {"proposed", "approved"}
    assert mine[0]["reason"] == "난방비 체납"
    approved = _ndjson(
        await client.get(f"{EXPORT}/supports", headers={**coordinator.headers, **REASON}, params={"status": "approved"})
    )
    assert [r["household_id"] for r in approved if r["household_id"] in (str(here.id), str(there.id))] == [str(here.id)]
    # (app.access.supports.support_view reaches supports through the household policy: households:read too)
    reader = await integration_client(factory, ["exports:read", "supports:read", "households:read"], org=org)
    assert (
        len(
            [
                r
                for r in _ndjson(await client.get(f"{EXPORT}/supports", headers={**reader.headers, **REASON}))
                if r["household_id"] == str(here.id)
            ]
        )
        == 2
    )

    summary = _ndjson(await client.get(f"{EXPORT}/campaign-summaries", headers={**coordinator.headers, **REASON}))
    ours = [r for r in summary if r["campaign_id"] == str(campaign.id)]
    assert ours[0]["dimension"] == "total"
    assert ours[0]["campaign_name"] == "겨울철 집중 발굴"
    assert ours[0]["supported"] == 1
    assert ours[0]["supports"] == 1
    assert {r["dimension"] for r in ours} <= {"total", "district", "dong", "source", "dong_source"}
    table = list(
        csv.DictReader(
            io.StringIO(
                (
                    await client.get(
                        f"{EXPORT}/campaign-summaries",
                        headers={**coordinator.headers, **REASON},
                        params={"format": "csv", "campaign_id": str(campaign.id), "bom": "false"},
                    )
                ).text
            )
        )
    )
    assert table
    assert all(row["캠페인 ID"] == str(campaign.id) for row in table)
    assert table[0]["캠페인"] == "겨울철 집중 발굴"
    past = _ndjson(
        await client.get(
            f"{EXPORT}/campaign-summaries",
            headers={**coordinator.headers, **REASON},
            params={"to": (date.today() - timedelta(days=60)).isoformat()},
        )
    )
    assert not [r for r in past if r["campaign_id"] == str(campaign.id)]


async def test_export_streams_page_by_page(factory: Factory, app: Any) -> None:
    """The body comes in one chunk per page (plus the CSV header), never all at once."""
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    here = await make_household(factory, "1199051000")
    await _visits(factory, here, PAGE * 3 + 1, dong="1199051000")
    from app.auth.models import User
    from app.auth.service import principal_for

    async with factory.maker() as s:
        user = await s.get(User, coordinator.id)
        assert user is not None
        principal = principal_for(user, org, session_id=None, device_id=None, address=None)
    chunks = [
        chunk
        async for chunk in stream_export(
            app.state.ongi,
            principal,
            "visits",
            "csv",
            Filters(dong_code="1199051000"),
            export_id=uuid.uuid4(),
            page_size=PAGE,
        )
    ]
    assert len(chunks) >= 5  # header + 4 pages
    assert max(len(c) for c in chunks) < PAGE * 1024  # about a kilobyte a row: one page per chunk
    assert sum(c.count(b"\r\n") for c in chunks) >= PAGE * 3 + 2


async def test_export_over_a_real_http_server(factory: Factory, app: Any, client: httpx.AsyncClient) -> None:
    """Over real sockets (uvicorn): a chunked stream, read incrementally, every row once."""
    from tests.support.integrations import serve_app

    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    here = await make_household(factory, "1199053000")
    visits = await _visits(factory, here, 120, dong="1199053000")
    async with (
        serve_app(app) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as real,
        real.stream(
            "GET", f"{EXPORT}/visits", headers={**coordinator.headers, **REASON}, params={"dong_code": "1199053000"}
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in r.headers
        seen = [json.loads(line)["id"] async for line in r.aiter_lines() if line]
    assert sorted(seen) == sorted(str(v.id) for v in visits)
