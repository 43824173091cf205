"""Consent (docs/access.md#consent-and-redaction): a partner sees a household only while assigned *and* covered by a
consent in
force for their organization and the assignment's purpose; withdrawal cuts access at once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases.models import Case, CaseMember
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.visits.models import Visit, VisitStatus
from tests.support.factories import Factory, make_consent, make_household, make_visit
from tests.support.world import DONG_A, District, district


async def _partner_sees(client: httpx.AsyncClient, d: District, household: Any) -> bool:
    r = await client.get(f"/v1/households/{household.id}", headers=d.partner.headers)
    assert r.status_code in (200, 404), r.text
    listed = await client.get("/v1/households", headers=d.partner.headers)
    in_list = str(household.id) in [h["id"] for h in listed.json()["items"]]
    assert in_list == (r.status_code == 200)
    return r.status_code == 200


async def test_partner_needs_assignment_and_consent(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    # consented but not assigned
    await make_consent(factory, household, d.coordinator.user, organization=d.private)
    assert not await _partner_sees(client, d, household)

    other = await make_household(factory, DONG_A)
    visit = await make_visit(factory, other, [d.planner.user, d.partner.user], purpose="assessment")
    # assigned, no consent: the visit is visible without anything that identifies the household
    assert not await _partner_sees(client, d, other)
    seen = await client.get(f"/v1/visits/{visit.id}", headers=d.partner.headers)
    assert seen.status_code == 200
    restricted = seen.json()
    assert restricted["view"] == "restricted"
    assert set(restricted) == {
        "view",
        "id",
        "version",
        "dong_code",
        "purpose",
        "status",
        "window_start",
        "window_end",
        "assignees",
        "team",
        "overdue",
        # the visit's own clock (the end of its window), nothing of the household's
        "due_at",
        "deadline_state",
    }
    assert str(other.id) not in seen.text
    assert other.address not in seen.text
    assert other.head_name not in seen.text
    assert {m["organization_name"] for m in restricted["team"]} == {d.public.name, d.private.name}
    listed = await client.get("/v1/visits", headers=d.partner.headers, params={"assignee": "me"})
    assert listed.json()["items"][0]["view"] == "restricted"
    assert str(other.id) not in listed.text
    # nor can the partner probe which household the visit is for
    probe = await client.get("/v1/visits", headers=d.partner.headers, params={"household_id": str(other.id)})
    assert probe.json()["items"] == []

    # a consent for another organization, a refusal, a wrong purpose, an expired one: still nothing
    stranger = await factory.org(OrgKind.private, ["11990"])
    await make_consent(factory, other, d.coordinator.user, organization=stranger)
    await make_consent(factory, other, d.coordinator.user, organization=d.private, status="refused")
    await make_consent(factory, other, d.coordinator.user, organization=d.private, purposes=["follow_up"])
    await make_consent(
        factory,
        other,
        d.coordinator.user,
        organization=d.private,
        valid_from=utcnow() - timedelta(days=30),
        valid_until=utcnow() - timedelta(days=1),
    )
    await make_consent(
        factory, other, d.coordinator.user, organization=d.private, valid_from=utcnow() + timedelta(days=1)
    )
    assert not await _partner_sees(client, d, other)

    # a consent in force for the partner's organization and the visit's purpose opens it
    await make_consent(factory, other, d.coordinator.user, organization=d.private, purposes=["assessment"])
    assert await _partner_sees(client, d, other)
    full = await client.get(f"/v1/visits/{visit.id}", headers=d.partner.headers)
    assert full.json()["view"] == "full"
    assert full.json()["household_id"] == str(other.id)
    summary = (await client.get(f"/v1/households/{other.id}", headers=d.partner.headers)).json()["consent"]
    # the partner's summary lists only consents addressed to their organization (any purpose)
    assert {c["recipient_organization_id"] for c in summary["in_force"]} == {str(d.private.id)}
    assert sorted(p for c in summary["in_force"] for p in c["purposes"]) == ["assessment", "follow_up"]

    # the assignment ending (cancelled visit) closes it again
    async with maker() as s:
        v = await s.get(Visit, visit.id)
        assert v is not None
        v.status = VisitStatus.cancelled
        await commit(s)
    assert not await _partner_sees(client, d, other)


async def test_all_partners_consent_and_case_membership(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    await make_consent(factory, household, d.coordinator.user, purposes=["case_management"])
    assert not await _partner_sees(client, d, household)
    now = utcnow()
    async with maker() as s:
        case = Case(
            household_id=household.id,
            dong_code=DONG_A,
            manager_id=d.coordinator.id,
            stage_started_at=now,
            opened_at=now,
        )
        s.add(case)
        await s.flush()
        s.add(CaseMember(case_id=case.id, user_id=d.partner.id, organization_id=d.private.id))
        await commit(s)
    assert await _partner_sees(client, d, household)
    async with maker() as s:
        c = await s.get(Case, case.id)
        assert c is not None
        c.closed_at = utcnow()
        await commit(s)
    assert not await _partner_sees(client, d, household)


async def test_withdrawal_cuts_partner_access_at_once(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    visit = await make_visit(factory, household, [d.planner.user, d.partner.user], purpose="joint_consultation")
    r = await client.post(
        f"/v1/households/{household.id}/consents",
        headers=d.planner.headers,
        json={
            "status": "given",
            "given_by": "세대주 본인",
            "recipient_kind": "organization",
            "recipient_organization_id": str(d.private.id),
            "purposes": ["joint_consultation", "follow_up"],
            "valid_until": (utcnow() + timedelta(days=90)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    consent = r.json()
    assert consent["in_force"] is True
    assert consent["recorded_by_id"] == str(d.planner.id)
    assert await _partner_sees(client, d, household)
    before = (await client.get(f"/v1/households/{household.id}", headers=d.coordinator.headers)).json()

    url = f"/v1/households/{household.id}/consents/{consent['id']}/withdraw"
    assert (await client.post(url, headers=d.partner.headers, json={"reason": "철회"})).status_code == 403
    assert (await client.post(url, headers=d.coordinator.headers, json={})).status_code == 422
    w = await client.post(url, headers=d.coordinator.headers, json={"reason": "본인 요청으로 철회"})
    assert w.status_code == 200, w.text
    assert w.json()["withdrawn_at"]
    assert w.json()["in_force"] is False
    assert w.json()["withdrawal_reason"] == "본인 요청으로 철회"

    assert not await _partner_sees(client, d, household)
    again = await client.get(f"/v1/visits/{visit.id}", headers=d.partner.headers)
    assert again.json()["view"] == "restricted"
    assert str(household.id) not in again.text
    after = (await client.get(f"/v1/households/{household.id}", headers=d.coordinator.headers)).json()
    assert after["version"] > before["version"]
    assert after["consent"]["in_force"] == []
    assert (await client.post(url, headers=d.coordinator.headers, json={"reason": "다시"})).status_code == 409

    history = await client.get(f"/v1/households/{household.id}/consents", headers=d.coordinator.headers)
    assert [c["id"] for c in history.json()["items"]] == [consent["id"]]
    assert (await client.get(f"/v1/households/{household.id}/consents", headers=d.partner.headers)).status_code == 403
    missing = f"/v1/households/{household.id}/consents/{uuid.uuid4()}/withdraw"
    assert (await client.post(missing, headers=d.coordinator.headers, json={"reason": "착오"})).status_code == 404


async def test_consent_validation(client: httpx.AsyncClient, factory: Factory) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    url = f"/v1/households/{household.id}/consents"
    base = {"status": "given", "given_by": "배우자", "purposes": ["assessment"]}

    async def field_of(**kw: Any) -> str:
        r = await client.post(url, headers=d.coordinator.headers, json={**base, **kw})
        assert r.status_code == 422, r.text
        return str(r.json()["errors"][0]["field"])

    assert await field_of(recipient_kind="organization") == "body.recipient_organization_id"
    assert await field_of(recipient_kind="organization", recipient_organization_id=str(d.public.id)) == (
        "body.recipient_organization_id"
    )
    assert await field_of(recipient_kind="all_partners", recipient_organization_id=str(d.private.id)) == (
        "body.recipient_organization_id"
    )
    assert (
        await field_of(
            recipient_kind="all_partners",
            valid_from=utcnow().isoformat(),
            valid_until=(utcnow() - timedelta(days=1)).isoformat(),
        )
        == "body.valid_until"
    )
    assert await field_of(recipient_kind="all_partners", purposes=["gossip"]) == "body.purposes.0"
    assert await field_of(recipient_kind="all_partners", purposes=[]) == "body.purposes"
    refused = await client.post(
        url, headers=d.coordinator.headers, json={**base, "status": "refused", "recipient_kind": "all_partners"}
    )
    assert refused.status_code == 201
    summary = (await client.get(f"/v1/households/{household.id}", headers=d.coordinator.headers)).json()["consent"]
    assert summary["refused"] is True
    assert summary["in_force"] == []
    w = await client.post(
        f"{url}/{refused.json()['id']}/withdraw", headers=d.coordinator.headers, json={"reason": "잘못 입력"}
    )
    assert w.status_code == 409
    for actor in (d.partner, d.reporter, d.admin):
        r = await client.post(url, headers=actor.headers, json={**base, "recipient_kind": "all_partners"})
        assert r.status_code == 403


async def test_partner_access_ends_after_the_visit_grace(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    d = await district(factory)
    household = await make_household(factory, DONG_A)
    now = utcnow()
    visit = await make_visit(
        factory,
        household,
        [d.partner.user],
        purpose="follow_up",
        window_start=now - timedelta(days=3),
        window_end=now - timedelta(days=2),
    )
    await make_consent(factory, household, d.coordinator.user, organization=d.private)
    assert await _partner_sees(client, d, household)
    async with maker() as s:
        v = await s.get(Visit, visit.id)
        assert v is not None
        v.status = VisitStatus.completed
        v.checked_out_at = now - timedelta(days=2)
        await commit(s)
    assert await _partner_sees(client, d, household)  # within the grace period, to write up the visit
    async with maker() as s:
        v = await s.get(Visit, visit.id)
        assert v is not None
        v.checked_out_at = now - timedelta(days=20)
        await commit(s)
    assert not await _partner_sees(client, d, household)
    # the partner of another district never reaches it, whatever the consent says
    other = await district(factory, "11110")
    far = await factory.actor(Role.partner, other.private)
    assert (await client.get(f"/v1/households/{household.id}", headers=far.headers)).status_code == 404
