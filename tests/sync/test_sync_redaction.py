"""A phone gets each record as REST renders it for the same caller (docs/access.md#consent-and-redaction,
docs/sync.md#pull; issue 13, item 3).

A partner without consent gets a visit's restricted view through a pull too: no outcome text, no checklist
pins, no check-in/out times, no household id. With consent, and for public staff, the full view.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit
from tests.support.sync import Phone

DONG = "1199051000"
HIDDEN = (
    "household_id",
    "outcome",
    "checklists",
    "expected_photos",
    "checked_in_at",
    "checked_in_device_at",
    "checked_out_at",
    "checked_out_device_at",
    "cancel_reason",
)


async def _finished_joint_visit(factory: Factory) -> tuple[Actor, Actor, Actor, Any, Any, Any]:
    district = await factory.org(OrgKind.public, ["11990"])
    center = await factory.org(OrgKind.private, ["11990"])
    coordinator = await factory.actor(Role.coordinator, district)
    planner = await factory.actor(Role.planner, district)
    partner = await factory.actor(Role.partner, center)
    household = await make_household(factory, DONG)
    now = utcnow()
    visit = await make_visit(
        factory,
        household,
        [planner.user, partner.user],
        purpose="joint_consultation",
        status="completed",
        window_start=now - timedelta(hours=3),
        window_end=now - timedelta(hours=1),
        checked_in_at=now - timedelta(hours=3),
        checked_in_device_at=now - timedelta(hours=3, minutes=1),
        checked_out_at=now - timedelta(hours=2),
        checked_out_device_at=now - timedelta(hours=2, minutes=1),
        outcome="치매 의심, 단전 3개월째. 긴급지원 연계",
        checklists=[{"key": "lonely_death_screening", "version": 1}],
        expected_photos=[{"item_key": "kitchen", "label": {"ko": "부엌", "en": "Kitchen"}}],
    )
    return coordinator, planner, partner, center, household, visit


async def _rest_view(client: httpx.AsyncClient, actor: Actor, visit: Any) -> dict[str, Any]:
    r = await client.get(f"/v1/visits/{visit.id}", headers=actor.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_pull_sends_a_partner_without_consent_the_restricted_visit(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    coordinator, _planner, partner, center, household, visit = await _finished_joint_visit(factory)
    phone = Phone(client, partner)
    await phone.sync()
    pulled = phone.store[("visit", str(visit.id))]["data"]
    for name in HIDDEN:
        assert name not in pulled, name
    assert "치매" not in str(pulled)
    assert "lonely_death_screening" not in str(pulled)
    assert pulled["view"] == "restricted"
    assert pulled == await _rest_view(client, partner, visit)

    # consent opens the full view on the phone, as over REST
    await make_consent(factory, household, coordinator.user, organization=center)
    await phone.sync()
    pulled = phone.store[("visit", str(visit.id))]["data"]
    assert pulled["view"] == "full"
    assert pulled["outcome"] == visit.outcome
    assert pulled["household_id"] == str(household.id)
    assert pulled == await _rest_view(client, partner, visit)


async def test_pull_sends_public_staff_the_full_visit_as_rest_does(client: httpx.AsyncClient, factory: Factory) -> None:
    _, planner, _, _, household, visit = await _finished_joint_visit(factory)
    phone = Phone(client, planner)
    await phone.sync()
    pulled = phone.store[("visit", str(visit.id))]["data"]
    assert pulled["view"] == "full"
    assert pulled["checklists"] == [{"key": "lonely_death_screening", "version": 1}]
    assert pulled["checked_in_at"] is not None
    assert pulled == await _rest_view(client, planner, visit)
    assert phone.store[("household", str(household.id))]["data"]["id"] == str(household.id)


async def test_a_pulled_note_is_the_note_rest_serves(client: httpx.AsyncClient, factory: Factory) -> None:
    """Notes are loaded for a pull as plain rows and written by the pull's own serializer: field for field, the
    same JSON as ``GET /v1/notes/{id}`` (ids, the kind, times in UTC with Z)."""
    district = await factory.org(OrgKind.public, ["11990"])
    me, mate = await factory.actor(Role.planner, district), await factory.actor(Role.planner, district)
    visit = await make_visit(factory, await make_household(factory, DONG), [me.user, mate.user])
    r = await client.post(
        "/v1/notes",
        json={"visit_id": str(visit.id), "body": "난방이 끊긴 지 사흘", "kind": "observation", "internal": False},
        headers=mate.headers,
    )
    assert r.status_code == 201, r.text
    phone = Phone(client, me)
    pulled = {c["id"]: c["data"] for c in await phone.sync() if c["entity"] == "note"}
    assert list(pulled) == [r.json()["id"]]
    for note_id, data in pulled.items():
        rest = await client.get(f"/v1/notes/{note_id}", headers=me.headers)
        assert rest.status_code == 200
        assert data == rest.json()
        assert data["created_at"].endswith("Z")
