"""Audit of what leaves for devices and of who tried to log in (docs/access.md#audit; issue 13 items 15, 16).

* A pull audits every record of a household's data it sends (notes, photos, checklist responses, supports,
  visits, the household itself) with whose data it is, in one INSERT; an empty pull writes nothing.
* A failed login of an existing account is stored with its organization and the username attempted, so the
  organization's admins find it in ``/v1/audit-events``; an admin reading a device's holdings is audited.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from tests.support.checklists import SCREENING, builtin_templates
from tests.support.factories import PASSWORD, Factory, make_household, make_visit
from tests.support.sync import Phone


@contextmanager
def audit_inserts(engine: AsyncEngine) -> Iterator[list[int]]:
    """The number of rows of each ``INSERT INTO audit_event`` statement run meanwhile."""
    seen: list[int] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT"):
            seen.append(len(parameters) if executemany else 1)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def _pull_events(maker: async_sessionmaker[AsyncSession], actor_id: uuid.UUID) -> list[AuditEvent]:
    async with maker() as s:
        return list(
            (
                await s.execute(
                    select(AuditEvent).where(AuditEvent.action == "sync.pull", AuditEvent.actor_id == actor_id)
                )
            ).scalars()
        )


async def test_a_pull_audits_every_household_record_it_sends_in_one_insert(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    from app.media.models import Photo
    from app.resources.models import Resource, ResourceKind
    from app.supports.models import Support

    org = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, org)
    await builtin_templates(factory)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [planner.user], checklists=[{"key": SCREENING, "version": 1}])
    phone = Phone(client, planner)
    await phone.sync()
    first = await _pull_events(maker, planner.id)
    assert {(e.entity, e.entity_id, e.household_id) for e in first} == {
        ("household", household.id, household.id),
        ("visit", visit.id, household.id),
    }

    # New records of the household, each of a kind the phone holds.
    r = await client.post(
        "/v1/notes", json={"visit_id": str(visit.id), "body": "현관에 우편물이 쌓여 있음"}, headers=planner.headers
    )
    assert r.status_code == 201, r.text
    note_id = uuid.UUID(r.json()["id"])
    r = await client.post(
        f"/v1/visits/{visit.id}/checklists",
        json={"template_key": SCREENING, "template_version": 1, "answers": {"lives_alone": {"value": True}}},
        headers=planner.headers,
    )
    assert r.status_code in (200, 201), r.text
    response_id = uuid.UUID(r.json()["id"])
    async with open_session(maker, write=True) as s:
        resource = Resource(
            name="에너지바우처",
            kind=ResourceKind.public_benefit,
            category="energy",
            provider_organization_id=org.id,
            district_code="11990",
        )
        s.add(resource)
        await s.flush()
        support = Support(
            household_id=household.id,
            resource_id=resource.id,
            district_code="11990",
            dong_code=household.dong_code,
            provider_organization_id=org.id,
            proposed_by_id=planner.id,
            status_changed_at=utcnow(),
        )
        photo = Photo(
            visit_id=visit.id,
            household_id=household.id,
            sha256="a" * 64,
            original_sha256="b" * 64,
            size=1000,
            width=10,
            height=10,
            content_type="image/jpeg",
            storage_key="photos/" + "a" * 64,
            thumbnail_key="thumbs/" + "a" * 64,
            thumbnail_sha256="c" * 64,
            thumbnail_size=100,
            uploaded_by_id=planner.id,
        )
        s.add_all([support, photo])

    with audit_inserts(engine) as inserts:
        body = await phone.pull_once()
    sent = {(c["entity"], uuid.UUID(c["id"])) for c in body["changes"] if c["op"] == "upsert"}
    expected = {
        ("note", note_id),
        ("checklist_response", response_id),
        ("support", support.id),
        ("photo", photo.id),
    }
    assert expected <= sent
    assert ("resource", resource.id) in sent  # reference data: no household's, not audited
    events = [e for e in await _pull_events(maker, planner.id) if e.id not in {f.id for f in first}]
    audited = {(e.entity, e.entity_id) for e in events}
    assert expected <= audited
    assert ("resource", resource.id) not in audited
    assert all(e.household_id == household.id and e.purpose == "sync" for e in events)
    assert all(str(e.device_id) == planner.extra["device"] for e in events)
    assert inserts == [len(events)]  # one INSERT for the whole pull

    # Nothing new: no audit row, no INSERT.
    with audit_inserts(engine) as inserts:
        body = await phone.pull_once()
    assert body["changes"] == []
    assert inserts == []


async def test_a_failed_login_is_seen_by_the_admins_of_the_account(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    admin = await factory.actor(Role.admin, org)
    planner = await factory.user(Role.planner, org)
    other_admin = await factory.actor(Role.admin, await factory.org(OrgKind.public, ["11110"]))
    for username in (planner.username, "no-such-user-77"):
        r = await client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": username, "password": "wrong-Secret-9"}
        )
        assert r.status_code in (400, 401)  # refused (400 invalid_grant per RFC 6749 §5.2)

    r = await client.get("/v1/audit-events", params={"action": "auth.login", "result": "denied"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    event_ = items[0]
    assert event_["organization_id"] == str(org.id)
    assert (event_["entity"], event_["entity_id"]) == ("user_account", str(planner.id))
    assert event_["details"]["username"] == planner.username
    assert event_["actor_id"] is None  # nobody was authenticated
    assert "wrong-Secret-9" not in json.dumps(items)
    # another organization's admin does not see it; the unknown username belongs to no organization
    r = await client.get(
        "/v1/audit-events", params={"action": "auth.login", "result": "denied"}, headers=other_admin.headers
    )
    assert r.status_code == 200
    assert r.json()["items"] == []
    # and the right password still works afterwards
    r = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": planner.username, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text


async def test_reading_a_devices_holdings_is_audited(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    org = await factory.org(OrgKind.public, ["11990"])
    admin = await factory.actor(Role.admin, org)
    planner = await factory.actor(Role.planner, org)
    await make_visit(factory, await make_household(factory), [planner.user])
    await Phone(client, planner).sync()
    device_id = planner.extra["device"]

    r = await client.get(f"/v1/devices/{device_id}/holdings", headers=admin.headers)
    assert r.status_code == 200, r.text
    held = len(r.json()["items"])
    assert held == 2
    async with maker() as s:
        events = list(
            (await s.execute(select(AuditEvent).where(AuditEvent.action == "device.holdings.read"))).scalars()
        )
    assert len(events) == 1
    e = events[0]
    assert (e.actor_id, e.organization_id, e.entity, str(e.entity_id)) == (admin.id, org.id, "device", device_id)
    assert e.details == {"count": held, "user_id": str(planner.id)}
