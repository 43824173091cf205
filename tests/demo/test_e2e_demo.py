"""End to end on the small generated district, through the REST API only (after generating it):

a coordinator triages a new crisis report (a new household), records the household's consent for the
partner's welfare centre and assigns a joint visit (planner + partner) in a campaign; both see it on their
day; the partner fills the lonely-death screening and both write notes (the partner's internal note stays in
the welfare centre); the visit is completed; a public benefit and a private resource are linked and decided;
the campaign summary counts the household as identified, visited, supported and monitored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from app.core.times import local_today
from app.core.uow import commit
from app.demo.generator import generate
from app.demo.seed import DEMO_PASSWORD

LONELY_DEATH_AT_RISK = {
    "lives_alone": True,
    "years_alone": 12,
    "no_family_contact": True,
    "no_social_activity": True,
    "no_neighbor_contact": True,
    "chronic_illness": True,
    "untreated_illness": True,
    "alcohol_problem": False,
    "skips_meals": True,
    "unsanitary_home": False,
    "unpaid_utilities": True,
    "no_stable_income": True,
    "low_mood": True,
    "recent_loss": False,
    "refuses_contact": False,
    "emergency_contact_known": False,
}


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": DEMO_PASSWORD,
            "device_id": f"e2e-{username}",
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    r = await response
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()  # type: ignore[no-any-return]


async def test_a_joint_visit_from_report_to_campaign_summary(client: httpx.AsyncClient, maker: Any, app: Any) -> None:
    today = local_today()
    async with maker() as session:
        stats = await generate(session, "small", security=app.state.ongi.security, today=today)
        await commit(session)
    assert not stats.skipped

    coordinator = await _login(client, "coordinator")
    planner = await _login(client, "planner")
    partner = await _login(client, "partner")
    planner_me = await _ok(client.get("/v1/me", headers=planner))
    partner_me = await _ok(client.get("/v1/me", headers=partner))
    partner_org = partner_me["organization"]["id"]

    # a focused period around today, in the planner's dongs
    campaign = await _ok(
        client.post(
            "/v1/campaigns",
            json={
                "name": "한파 특보 기간 집중 방문",
                "starts_on": (today - timedelta(days=7)).isoformat(),
                "ends_on": (today + timedelta(days=7)).isoformat(),
                "district_codes": ["1199051000", "1199052000"],
            },
            headers=coordinator,
        ),
        201,
    )
    before = await _ok(client.get(f"/v1/campaigns/{campaign['id']}/summary", headers=coordinator))

    # 1. triage: the demo reporter's new report in the planner's dongs becomes a new household
    reports = (await _ok(client.get("/v1/reports", params={"status": "new", "limit": 100}, headers=coordinator)))[
        "items"
    ]
    report = next((r for r in reports if r["dong_code"] in ("1199051000", "1199052000")), None)
    if report is None:  # the generated new reports fell in other dongs: the reporter files one now
        reporter = await _login(client, "reporter")
        report = await _ok(
            client.post(
                "/v1/reports",
                json={
                    "observation": "혼자 사시는 어르신 댁에 며칠째 불이 꺼져 있습니다",
                    "address": "서울특별시 온기구 온기로7길 12",
                    "district_code": "11990",
                    "dong_code": "1199051000",
                    "subject_name": "김온기",
                    "indicators": ["isolation", "heating_lack"],
                },
                headers=reporter,
            ),
            201,
        )
    triaged = await _ok(
        client.post(
            f"/v1/reports/{report['id']}/triage",
            json={"decision": "household", "create_new": True, "household": {"head_name": "김온정"}},
            headers=coordinator,
        )
    )
    assert triaged["outcome"] == "created"
    household_id = triaged["household"]["id"]

    # 2. consent for the partner's welfare centre, then a joint visit in the campaign
    await _ok(
        client.post(
            f"/v1/households/{household_id}/consents",
            json={
                "status": "given",
                "given_by": "세대주 본인",
                "recipient_kind": "organization",
                "recipient_organization_id": partner_org,
                "purposes": ["joint_consultation", "follow_up", "service_linkage"],
            },
            headers=coordinator,
        ),
        201,
    )
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    visit = await _ok(
        client.post(
            "/v1/visits",
            json={
                "household_id": household_id,
                "purpose": "joint_consultation",
                "campaign_id": campaign["id"],
                "window_start": start.isoformat(),
                "window_end": (start + timedelta(hours=2)).isoformat(),
                "assignees": [planner_me["id"], partner_me["id"]],
                "checklists": [{"key": "lonely_death_screening", "version": 1}],
            },
            headers=coordinator,
        ),
        201,
    )
    vid = visit["id"]

    # 3. both see it among their visits (the partner in full: consent covers the centre)
    tz = app.state.ongi.settings.tz
    window = {
        "assignee": "me",
        "from": start.astimezone(tz).date().isoformat(),
        "to": (start + timedelta(hours=2)).astimezone(tz).date().isoformat(),
    }
    for headers in (planner, partner):
        listed = await _ok(client.get("/v1/visits", params={**window, "limit": 200}, headers=headers))
        mine = [v for v in listed["items"] if v["id"] == vid]
        assert len(mine) == 1
        assert mine[0]["view"] == "full"
        assert mine[0]["household_id"] == household_id
    await _ok(client.get(f"/v1/households/{household_id}", headers=partner))

    # 4. on the visit: check in, the lonely-death screening, notes, check out
    await _ok(client.post(f"/v1/visits/{vid}/transitions", json={"to": "in_progress"}, headers=planner))
    answered = await _ok(
        client.post(
            f"/v1/visits/{vid}/checklists",
            json={
                "template_key": "lonely_death_screening",
                "template_version": 1,
                "answers": {k: {"value": v} for k, v in LONELY_DEATH_AT_RISK.items()},
            },
            headers=partner,
        ),
        201,
    )
    response = answered.get("response", answered)
    assert response["score"] >= 6
    assert response["band"] == "at_risk"
    await _ok(
        client.post(
            "/v1/notes",
            json={"visit_id": vid, "body": "난방 중단, 전기장판 하나로 지냄. 긴급지원 필요", "kind": "observation"},
            headers=planner,
        ),
        201,
    )
    await _ok(
        client.post(
            "/v1/notes",
            json={"visit_id": vid, "body": "복지관 밑반찬 배달 연계 예정", "kind": "consultation"},
            headers=partner,
        ),
        201,
    )
    internal = await _ok(
        client.post(
            "/v1/notes",
            json={"visit_id": vid, "body": "복지관 내부 메모: 담당자 배정 검토", "internal": True},
            headers=partner,
        ),
        201,
    )
    planner_notes = (await _ok(client.get("/v1/notes", params={"visit_id": vid}, headers=planner)))["items"]
    partner_notes = (await _ok(client.get("/v1/notes", params={"visit_id": vid}, headers=partner)))["items"]
    assert len(planner_notes) == 2
    assert internal["id"] not in [n["id"] for n in planner_notes]
    assert len(partner_notes) == 3
    await _ok(
        client.post(
            f"/v1/visits/{vid}/transitions",
            json={"to": "completed", "outcome": "고독사 위험군, 긴급지원 및 에너지바우처 연계"},
            headers=planner,
        )
    )

    # 5. supports: a public benefit decided by the coordinator, the centre's own resource by the partner
    resources = (await _ok(client.get("/v1/resources", params={"limit": 100}, headers=partner)))["items"]
    voucher = next(r for r in resources if r["category"] == "energy_voucher")
    own = next(r for r in resources if r["provider_organization_id"] == partner_org and r["remaining"] != 0)
    public = await _ok(
        client.post(
            "/v1/supports",
            json={"household_id": household_id, "resource_id": voucher["id"], "visit_id": vid, "reason": "난방 중단"},
            headers=planner,
        ),
        201,
    )
    await _ok(client.post(f"/v1/supports/{public['id']}/transitions", json={"to": "requested"}, headers=planner))
    approved = await _ok(
        client.post(f"/v1/supports/{public['id']}/transitions", json={"to": "approved"}, headers=coordinator)
    )
    assert approved["status"] == "approved"
    private = await _ok(
        client.post("/v1/supports", json={"household_id": household_id, "resource_id": own["id"]}, headers=partner),
        201,
    )
    for to in ("requested", "approved", "provided"):
        moved = await _ok(client.post(f"/v1/supports/{private['id']}/transitions", json={"to": to}, headers=partner))
        assert moved["status"] == to
    after_resource = await _ok(client.get(f"/v1/resources/{own['id']}", headers=partner))
    if own["remaining"] is not None:
        assert after_resource["remaining"] == own["remaining"] - 1
    plans = (await _ok(client.get("/v1/monitoring", params={"household_id": household_id}, headers=coordinator)))[
        "items"
    ]
    assert len(plans) == 1
    assert plans[0]["owner_id"] == partner_me["id"]
    household = await _ok(client.get(f"/v1/households/{household_id}", headers=coordinator))
    assert household["status"] == "monitoring"

    # 6. the campaign summary counts the household
    after = await _ok(client.get(f"/v1/campaigns/{campaign['id']}/summary", headers=coordinator))
    for key in ("identified", "visited", "supported", "monitored"):
        assert after["totals"][key] == before["totals"][key] + 1, (key, before["totals"], after["totals"])
    assert after["visits_completed"] == before["visits_completed"] + 1
    assert after["supports"] == before["supports"] + 2
    dong = triaged["household"].get("dong_code") or report["dong_code"]
    row = next(d for d in after["by_dong"] if d["dong_code"] == dong)
    assert row["visited"] >= 1
    assert row["supported"] >= 1
    source = next(s for s in after["by_source"] if s["source"] == report.get("source", "honorary_official"))
    assert source["identified"] >= 1
    assert source["visited"] >= 1
