"""Households: create, read with redaction, patch, signals and recurrence, matching, scoring, triage, reveal
(docs/data-model.md, docs/access.md#consent-and-redaction)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import Role
from app.core.uow import commit
from app.households.models import Household, HouseholdSensitive, HouseholdStatus, RiskLevel, SignalSource
from app.households.schemas import HouseholdInput
from app.households.scoring import SignalFact, apply_assessment, compute
from app.households.service import ingest_signal
from tests.support.factories import Factory, make_consent, make_visit
from tests.support.world import DONG_A, DONG_B, district, events, household_body, principal_of

RRN = "480101-1234567"


async def _create(client: httpx.AsyncClient, actor: object, **kw: object) -> dict:
    r = await client.post("/v1/households", headers=actor.headers, json=household_body(**kw))  # type: ignore[attr-defined]
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_and_read_with_redaction_by_role(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    created = await _create(
        client,
        d.coordinator,
        sensitive={
            "members": [{"key": "m1", "rrn": RRN.replace("-", "")}],
            "income": "월 60만원",
            "health_notes": "당뇨",
        },
        signal={"source": "bigdata", "indicators": ["power_cut"], "observed_at": utcnow().isoformat()},
    )
    hid = created["id"]
    assert created["coordinator_id"] == str(d.coordinator.id)
    assert created["status"] == "identified"
    assert created["sensitive"]["income"] == "월 60만원"
    assert RRN not in str(created)
    assert "1234567" not in str(created)

    # stored only encrypted
    async with maker() as s:
        rows = list(
            (
                await s.execute(
                    select(HouseholdSensitive).where(HouseholdSensitive.household_id == uuid.UUID(created["id"]))
                )
            ).scalars()
        )
    assert {r.kind for r in rows} == {"rrn", "income", "health_notes"}
    assert all("1234567" not in r.ciphertext and "60만원" not in r.ciphertext for r in rows)
    assert next(r for r in rows if r.kind == "rrn").blind_index

    coord = await client.get(f"/v1/households/{hid}", headers=d.coordinator.headers)
    assert coord.status_code == 200
    assert coord.headers["etag"].startswith(f'"v{coord.json()["version"]}-')
    assert coord.json()["sensitive"] == {
        "income": "월 60만원",
        "benefit_history": None,
        "health_notes": "당뇨",
        "rrn_on_file": ["m1"],
    }
    assert "1234567" not in coord.text

    planner = await client.get(f"/v1/households/{hid}", headers=d.planner.headers)
    assert planner.status_code == 200
    assert planner.json()["sensitive"]["income"] == "월 60만원"

    # a partner assigned and consented sees the household, never its sensitive fields
    async with maker() as s:
        household = await s.get(Household, uuid.UUID(created["id"]))
    await make_visit(factory, household, [d.planner.user, d.partner.user])
    await make_consent(factory, household, d.coordinator.user, organization=d.private)
    partner = await client.get(f"/v1/households/{hid}", headers=d.partner.headers)
    assert partner.status_code == 200, partner.text
    assert partner.json()["sensitive"] is None
    assert "60만원" not in partner.text
    assert "당뇨" not in partner.text
    assert "1234567" not in partner.text

    integration = await client.get(f"/v1/households/{hid}", headers=d.integration.headers)
    assert integration.status_code == 200
    assert integration.json()["sensitive"] is None

    listed = await client.get("/v1/households", headers=d.coordinator.headers)
    assert [h["id"] for h in listed.json()["items"]] == [hid]
    assert listed.json()["items"][0]["sensitive"] is None


async def test_create_validation(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    h = d.coordinator.headers
    outside = await client.post("/v1/households", headers=h, json=household_body(DONG_B))
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "body.dong_code"
    mismatch = await client.post("/v1/households", headers=h, json=household_body(district_code="11110"))
    assert mismatch.status_code == 422
    bad_tag = await client.post("/v1/households", headers=h, json=household_body(tags=["rich"]))
    assert bad_tag.status_code == 422
    assert bad_tag.json()["errors"][0]["field"] == "body.tags.0"
    bad_rrn = await client.post(
        "/v1/households", headers=h, json=household_body(sensitive={"members": [{"key": "m1", "rrn": "12-34"}]})
    )
    assert bad_rrn.status_code == 422
    unknown_member = await client.post(
        "/v1/households", headers=h, json=household_body(sensitive={"members": [{"key": "m9", "rrn": RRN}]})
    )
    assert unknown_member.status_code == 422
    assert unknown_member.json()["errors"][0]["field"] == "body.sensitive.members.0.key"
    extra = await client.post("/v1/households", headers=h, json=household_body(secret="x"))
    assert extra.status_code == 422
    forbidden = await client.post("/v1/households", headers=d.partner.headers, json=household_body())
    assert forbidden.status_code == 403
    wrong_coordinator = await client.post(
        "/v1/households", headers=h, json=household_body(coordinator_id=str(d.planner.id))
    )
    assert wrong_coordinator.status_code == 422


async def test_patch_if_match_status_lifecycle_and_partner_fields(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    created = await _create(client, d.coordinator)
    url = f"/v1/households/{created['id']}"
    h = d.coordinator.headers

    stale = await client.patch(url, headers={**h, "If-Match": '"v999"'}, json={"contact_phone": "010-9999-0000"})
    assert stale.status_code == 412
    ok = await client.patch(
        url, headers={**h, "If-Match": f'"v{created["version"]}"'}, json={"contact_phone": "010-9999-0000"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == created["version"] + 1
    assert ok.headers["etag"].startswith(f'"v{created["version"] + 1}-')

    assert (await client.patch(url, headers=h, json={"address": None})).status_code == 422
    forward = await client.patch(url, headers=h, json={"status": "assessed"})
    assert forward.status_code == 200
    assert forward.json()["status"] == "assessed"
    back = await client.patch(url, headers=h, json={"status": "contacted"})
    assert back.status_code == 409
    assert back.json()["allowed"] == ["supported", "monitoring", "closed"]
    closed = await client.patch(url, headers=h, json={"status": "closed"})
    assert closed.json()["status"] == "closed"
    reopened = await client.patch(url, headers=h, json={"status": "identified"})
    assert reopened.json()["status"] == "identified"
    assert reopened.json()["recurrence_count"] == 0

    # members change: the risk is recomputed, sensitive rows of removed members go
    await client.patch(url, headers=h, json={"sensitive": {"members": [{"key": "m1", "rrn": RRN}]}})
    members = await client.patch(
        url,
        headers=h,
        json={"members": [{"key": "m2", "name": "박둘", "birth_year": 1930, "tags": ["disability", "single_person"]}]},
    )
    assert members.status_code == 200
    assert members.json()["risk_level"] != "low"
    async with maker() as s:
        left = (
            await s.execute(
                select(HouseholdSensitive).where(HouseholdSensitive.household_id == uuid.UUID(created["id"]))
            )
        ).all()
    assert left == []

    # a partner (assigned, consented) corrects contact and living situation only
    async with maker() as s:
        household = await s.get(Household, uuid.UUID(created["id"]))
    await make_visit(factory, household, [d.partner.user])
    await make_consent(factory, household, d.coordinator.user)
    p = d.partner.headers
    fixed = await client.patch(url, headers=p, json={"living_situation": "난방 고장", "contact_phone": "010-2222-3333"})
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["living_situation"] == "난방 고장"
    denied = await client.patch(url, headers=p, json={"address": "다른 주소"})
    assert denied.status_code == 403
    assert denied.json()["fields"] == ["address"]
    assert (await client.patch(url, headers=p, json={"status": "closed"})).status_code == 403


async def test_list_filters_and_search(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    other = await district(factory, "11110")
    a = await _create(client, d.coordinator, head_name="홍길동", tags=["elderly"])
    b = await _create(client, d.coordinator, dong_code="1199052000", address="별빛로 7")
    await _create(client, other.coordinator, dong=DONG_B)
    h = d.coordinator.headers

    async def ids(**params: object) -> list[str]:
        if "q" in params:  # search text goes in a body (issue 13), the other filters with it
            r = await client.post("/v1/households/search", headers=h, json=params)
        else:
            r = await client.get("/v1/households", headers=h, params=params)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["items"]]

    assert set(await ids()) == {a["id"], b["id"]}
    assert await ids(tag="elderly") == [a["id"]]
    assert await ids(dong_code="1199052000") == [b["id"]]
    assert await ids(q="길동") == [a["id"]]
    assert await ids(q="별빛") == [b["id"]]
    assert await ids(q="%") == []
    assert await ids(status="closed") == []
    assert set(await ids(risk_level=a["risk_level"])) >= {a["id"]}
    page = await client.get("/v1/households", headers=h, params={"limit": 1})
    assert len(page.json()["items"]) == 1
    assert page.json()["next_cursor"]
    rest = await client.get("/v1/households", headers=h, params={"limit": 1, "cursor": page.json()["next_cursor"]})
    assert len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["id"] != page.json()["items"][0]["id"]
    assert (await client.post("/v1/households/search", headers=d.partner.headers, json={"q": "김"})).status_code == 403
    assert (await client.get("/v1/households", headers=h, params={"q": "김"})).status_code == 400  # not in URLs
    assert (await client.get("/v1/households", headers=d.partner.headers)).json()["items"] == []
    assert (await client.get("/v1/households", headers=d.admin.headers)).status_code == 403


async def test_signals_recompute_risk_and_recurrence(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    created = await _create(client, d.coordinator, members=[])
    url = f"/v1/households/{created['id']}"
    h = d.coordinator.headers
    assert created["risk_level"] == "low"
    added = await client.post(
        f"{url}/signals",
        headers=h,
        json={
            "source": "bigdata",
            "indicators": ["power_cut", "water_cut", "gas_cut", "health_insurance_arrears"],
            "observed_at": utcnow().isoformat(),
            "external_ref": "kepco-1",
            "details": {"months_overdue": 3},
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["outcome"] == "matched"
    assert added.json()["household"]["risk_level"] == "moderate"
    changed = await events(maker, "household.risk_changed", created["id"])
    assert [(e.payload["from"], e.payload["to"]) for e in changed] == [("low", "moderate")]

    listed = await client.get(f"{url}/signals", headers=h)
    assert [s["external_ref"] for s in listed.json()["items"]] == ["kepco-1"]
    assert (await client.get(f"{url}/signals", headers=d.partner.headers)).status_code == 403
    bad = await client.post(
        f"{url}/signals", headers=h, json={"source": "gossip", "observed_at": "2026-01-01T00:00:00Z"}
    )
    assert bad.status_code == 422
    naive = await client.post(
        f"{url}/signals", headers=h, json={"source": "bigdata", "observed_at": "2026-01-01T00:00"}
    )
    assert naive.status_code == 422

    # closed, then a new signal: a recurrence, flagged to the coordinator
    await client.patch(url, headers=h, json={"status": "closed"})
    again = await client.post(
        f"{url}/signals",
        headers=h,
        json={"source": "honorary_official", "indicators": ["isolation"], "observed_at": utcnow().isoformat()},
    )
    assert again.json()["outcome"] == "reopened"
    after = (await client.get(url, headers=h)).json()
    assert after["status"] == "identified"
    assert after["recurrence_count"] == 1
    assert after["recurrence_at"] is not None
    recurrences = await events(maker, "household.recurrence", created["id"])
    assert len(recurrences) == 1
    assert recurrences[0].payload["coordinator_id"] == str(d.coordinator.id)
    assert recurrences[0].payload["recurrence_count"] == 1

    flagged = await client.get("/v1/triage", headers=h, params={"recurrence": "true"})
    assert [x["id"] for x in flagged.json()["items"]] == [created["id"]]
    ack = await client.patch(url, headers=h, json={"acknowledge_recurrence": True})
    assert ack.json()["recurrence_at"] is None
    assert ack.json()["recurrence_count"] == 1
    assert (await client.get("/v1/triage", headers=h, params={"recurrence": "true"})).json()["items"] == []


async def test_ingest_signal_matches_creates_and_reopens(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: object
) -> None:
    d = await district(factory)
    principal = principal_of(d.integration)
    security = app.state.ongi.security  # type: ignore[attr-defined]
    target = HouseholdInput(
        district_code="11990",
        dong_code=DONG_A,
        address="온기로 12",
        address_detail="101동 1203호",
        head_name="이 영희",
        members=[],
    )
    now = utcnow()
    async with maker() as s:
        first = await ingest_signal(
            s,
            principal,
            source=SignalSource.bigdata,
            indicators=["power_cut"],
            observed_at=now,
            external_ref="feed-1",
            details={},
            target=target,
            security=security,
        )
        assert first.outcome == "created"
        assert first.household.status == HouseholdStatus.identified
        # the same person written differently matches, and fills what was missing
        same = target.model_copy(
            update={
                "address": "온기로12,",
                "address_detail": "101동1203호",
                "head_name": "이영희",
                "contact_phone": "010-5555-6666",
            }
        )
        second = await ingest_signal(
            s,
            principal,
            source=SignalSource.benefit_rejected,
            indicators=["benefit_rejected"],
            observed_at=now,
            external_ref="feed-2",
            details={},
            target=same,
        )
        assert second.outcome == "matched"
        assert second.household.id == first.household.id
        assert second.household.contact_phone == "010-5555-6666"
        # a retry of the same signal is not stored twice
        retry = await ingest_signal(
            s,
            principal,
            source=SignalSource.benefit_rejected,
            indicators=["benefit_rejected"],
            observed_at=now,
            external_ref="feed-2",
            details={},
            target=same,
        )
        assert retry.signal.id == second.signal.id
        second.household.status = HouseholdStatus.closed
        third = await ingest_signal(
            s,
            principal,
            source=SignalSource.agency_referral,
            indicators=["isolation"],
            observed_at=now,
            external_ref=None,
            details={"agency": "police"},
            target=target,
        )
        assert third.outcome == "reopened"
        assert third.household.status == HouseholdStatus.identified
        assert third.household.recurrence_count == 1
        other = await ingest_signal(
            s,
            principal,
            source=SignalSource.bigdata,
            indicators=[],
            observed_at=now,
            external_ref=None,
            details={},
            target=target.model_copy(update={"head_name": "이철수"}),
        )
        assert other.outcome == "created"
        assert other.household.id != first.household.id
        await commit(s)
    assert len(await events(maker, "household.recurrence", first.household.id)) == 1


async def test_scoring_rule() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def sig(source: str, *indicators: str, days_ago: int = 1) -> SignalFact:
        return SignalFact(source, indicators, now - timedelta(days=days_ago))

    nothing = compute([], set(), now=now)
    assert (nothing.score, nothing.level, nothing.priority) == (0, RiskLevel.low, 0)

    # indicators count once; power 3 + water 3 = 6 → moderate; recent signal +3
    utility = compute([sig("bigdata", "power_cut", "water_cut"), sig("bigdata", "power_cut")], set(), now=now)
    assert (utility.signal_points, utility.corroboration, utility.level) == (6, 0, RiskLevel.moderate)
    assert utility.priority == 25 + 6 + 3

    # corroboration by a second source, and the lonely-death profile
    lonely = compute(
        [sig("bigdata", "power_cut", "water_cut"), sig("honorary_official", "isolation", days_ago=40)],
        {"elderly", "single_person"},
        now=now,
    )
    assert (lonely.signal_points, lonely.corroboration, lonely.vulnerability) == (8, 2, 6)
    assert lonely.score == 16
    assert lonely.level == RiskLevel.high

    critical = compute(
        [sig("bigdata", "power_cut", "water_cut", "gas_cut", "rent_overdue", "food_insecurity", "heating_lack")],
        {"elderly", "single_person", "disability"},
        now=now,
    )
    assert critical.score == 16 + 8
    assert critical.level == RiskLevel.critical
    assert critical.priority == 75 + 20 + 3

    # signals older than a year do not count; abuse lifts to high
    assert compute([sig("bigdata", "power_cut", days_ago=400)], set(), now=now).score == 0
    assert compute([sig("agency_referral", "abuse_suspected", days_ago=60)], set(), now=now).level == RiskLevel.high

    # the latest assessment outranks data until a newer signal arrives, which can only raise it
    assessed = compute(
        [sig("bigdata", "power_cut", "water_cut", days_ago=5)],
        set(),
        now=now,
        assessed_risk=RiskLevel.low,
        assessed_at=now - timedelta(days=2),
    )
    assert assessed.computed_level == RiskLevel.moderate
    assert assessed.level == RiskLevel.low
    newer = compute(
        [sig("bigdata", "power_cut", "water_cut", days_ago=1)],
        set(),
        now=now,
        assessed_risk=RiskLevel.low,
        assessed_at=now - timedelta(days=2),
    )
    assert newer.level == RiskLevel.moderate
    kept_high = compute(
        [sig("bigdata", "debt", days_ago=1)],
        set(),
        now=now,
        assessed_risk=RiskLevel.high,
        assessed_at=now - timedelta(days=2),
    )
    assert kept_high.level == RiskLevel.high
    assert compute([], set(), now=now, recurred=True).priority == 2


async def test_apply_assessment(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    created = await _create(
        client,
        d.coordinator,
        signal={"source": "bigdata", "indicators": ["power_cut", "water_cut"], "observed_at": utcnow().isoformat()},
    )
    assert created["risk_level"] == "moderate"
    at = utcnow()
    async with maker() as s:
        household = await s.get(Household, uuid.UUID(created["id"]))
        assert household is not None
        await apply_assessment(s, household, RiskLevel.critical, at=at, source="checklist:lonely_death_screening@1")
        # an older assessment arriving late changes nothing
        await apply_assessment(s, household, RiskLevel.low, at=at - timedelta(hours=1), source="checklist:x@1")
        await commit(s)
    after = (await client.get(f"/v1/households/{created['id']}", headers=d.coordinator.headers)).json()
    assert after["risk_level"] == "critical"
    assert after["assessed_risk"] == "critical"
    changed = await events(maker, "household.risk_changed", created["id"])
    assert [(e.payload["from"], e.payload["to"], e.payload["reason"]) for e in changed] == [
        ("moderate", "critical", "assessment")
    ]


async def test_triage_queue_orders_by_priority(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    other = await district(factory, "11110")
    now = utcnow().isoformat()
    low = await _create(client, d.coordinator, members=[])
    high = await _create(
        client,
        d.coordinator,
        signal={
            "source": "bigdata",
            "indicators": ["power_cut", "water_cut", "gas_cut", "food_insecurity"],
            "observed_at": now,
        },
    )
    mid = await _create(
        client, d.coordinator, signal={"source": "bigdata", "indicators": ["power_cut"], "observed_at": now}
    )
    closed = await _create(
        client, d.coordinator, signal={"source": "bigdata", "indicators": ["abuse_suspected"], "observed_at": now}
    )
    await client.patch(f"/v1/households/{closed['id']}", headers=d.coordinator.headers, json={"status": "closed"})
    await _create(client, other.coordinator, dong=DONG_B)

    queue = await client.get("/v1/triage", headers=d.coordinator.headers)
    assert queue.status_code == 200
    items = queue.json()["items"]
    assert [i["id"] for i in items] == [high["id"], mid["id"], low["id"]]
    assert [i["priority"] for i in items] == sorted([i["priority"] for i in items], reverse=True)

    first = await client.get("/v1/triage", headers=d.planner.headers, params={"limit": 2})
    second = await client.get(
        "/v1/triage", headers=d.planner.headers, params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert [i["id"] for i in first.json()["items"] + second.json()["items"]] == [high["id"], mid["id"], low["id"]]
    assert second.json()["next_cursor"] is None
    for role_actor in (d.partner, d.reporter, d.admin, d.integration):
        assert (await client.get("/v1/triage", headers=role_actor.headers)).status_code == 403


async def test_reveal_is_for_coordinators_and_audited(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    from tests.support.world import audits

    d = await district(factory)
    other = await district(factory, "11110")
    created = await _create(client, d.coordinator, sensitive={"members": [{"key": "m1", "rrn": RRN}]})
    url = f"/v1/households/{created['id']}/reveal"
    r = await client.post(url, headers=d.coordinator.headers, json={"reason": "긴급지원 신청 확인"})
    assert r.status_code == 200, r.text
    assert r.json()["members"] == [{"key": "m1", "name": created["members"][0]["name"], "rrn": RRN}]
    assert r.headers["cache-control"] == "no-store"
    events_ = await audits(maker, action="household.reveal", household_id=created["id"])
    assert len(events_) == 1
    assert events_[0].purpose == "긴급지원 신청 확인"
    assert events_[0].actor_id == d.coordinator.id
    assert RRN not in str(events_[0].details)

    assert (await client.post(url, headers=d.coordinator.headers, json={})).status_code == 422
    unknown = await client.post(url, headers=d.coordinator.headers, json={"reason": "확인", "member_keys": ["m7"]})
    assert unknown.status_code == 422
    assert (await client.post(url, headers=d.planner.headers, json={"reason": "확인"})).status_code == 403
    assert (await client.post(url, headers=d.partner.headers, json={"reason": "확인"})).status_code == 403
    assert (await client.post(url, headers=other.coordinator.headers, json={"reason": "확인"})).status_code == 404


async def test_planner_narrow_jurisdiction_reaches_assigned_households(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    d = await district(factory)
    narrow = await factory.actor(Role.planner, d.public, jurisdiction=["1199052000"])
    created = await _create(client, d.coordinator)
    url = f"/v1/households/{created['id']}"
    assert (await client.get(url, headers=narrow.headers)).status_code == 404
    r = await client.post(
        "/v1/visits",
        headers=d.coordinator.headers,
        json={
            "household_id": created["id"],
            "purpose": "follow_up",
            "assignees": [str(narrow.id)],
            "window_start": utcnow().isoformat(),
            "window_end": (utcnow() + timedelta(hours=2)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    assert (await client.get(url, headers=narrow.headers)).status_code == 200
