"""Webhooks end to end: a real HTTP receiver on loopback, signatures, failures, retries, dead letters,
redelivery, leases taken over after a worker dies, and who may manage subscriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.events.config import WEBHOOK_SETTINGS, WebhookSettings
from app.events.delivery import claim, deliver_once, finish, send
from app.events.jobs import WEBHOOK_HTTP, WORKER_ID
from app.events.models import WebhookDelivery
from app.events.signing import sign, verify
from app.events.transport import http_client
from tests.support.factories import Factory
from tests.support.integrations import Receiver, create_webhook, emit_events, integration_client

LATER = timedelta(hours=2)


@pytest.fixture
def cfg(app: Any) -> Iterator[WebhookSettings]:
    cfg = WebhookSettings(
        max_attempts=3, backoff_base_seconds=10, backoff_max_seconds=60, lease_seconds=30, timeout_seconds=5
    )
    with app.state.ongi.override(WEBHOOK_SETTINGS, cfg):
        yield cfg


def _state(app: Any) -> Any:
    return app.state.ongi


async def _deliveries(client: httpx.AsyncClient, actor: Any, hook_id: str, **params: str) -> list[dict]:
    r = await client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=actor.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_signature_round_trip_and_replay_window() -> None:
    body = b'{"id":"x"}'
    header = sign("whsec_test", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify("whsec_test", body, header, now=1_700_000_100)
    assert not verify("whsec_test", body + b" ", header, now=1_700_000_100)  # tampered body
    assert not verify("whsec_other", body, header, now=1_700_000_100)  # wrong secret
    assert not verify("whsec_test", body, header, now=1_700_000_000 + 301)  # outside the 5-minute window
    assert not verify("whsec_test", body, "v1=abc", now=1_700_000_000)
    assert not verify("whsec_test", body, None)
    # a rotation may carry two signatures; either may match
    two = header + ",v1=" + "0" * 64
    assert verify("whsec_test", body, two, now=1_700_000_000)


async def test_delivery_through_failures_is_signed_filtered_and_recovers(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    feed = await integration_client(factory, ["events:read"])
    async with Receiver(plan=[500, 503]) as rx:
        hook = await create_webhook(client, feed, rx.url, ["visit.completed", "household.recurrence"])
        rx.secret = hook["secret"]
        assert hook["secret"].startswith("whsec_")
        assert "secret" not in (await client.get(f"/v1/webhooks/{hook['id']}", headers=feed.headers)).json()

        ids = await emit_events(
            maker,
            [
                ("visit.completed", "11990"),  # delivered
                ("household.recurrence", "1199052000"),  # delivered (a dong of the district)
                ("visit.completed", "11680"),  # another district: never sent to this client
                ("report.triaged", "11990"),  # not subscribed
            ],
        )
        first = await deliver_once(_state(app), limit=10)
        assert first == 2
        assert len(rx.received) == 2
        assert all(r.valid for r in rx.received)
        assert rx.processed == {}  # both answered 500/503
        rows = await _deliveries(client, feed, hook["id"])
        assert {d["status"] for d in rows} == {"retrying"}
        assert all(d["attempts"] == 1 and d["last_status_code"] in (500, 503) for d in rows)
        assert all(d["next_attempt_at"] > utcnow().isoformat() for d in rows)

        # nothing is due before the backoff has passed
        assert await deliver_once(_state(app), limit=10) == 0
        # later: delivered
        assert await deliver_once(_state(app), limit=10, now=utcnow() + LATER) == 2
        assert await deliver_once(_state(app), limit=10, now=utcnow() + LATER) == 0

    delivered = {e["household_id"] for e in rx.processed.values()}
    assert delivered == {str(ids[0]), str(ids[1])}
    sample = rx.received[-1]
    assert sample.headers["content-type"] == "application/json"
    assert sample.headers["ongi-event-type"] in ("visit.completed", "household.recurrence")
    assert sample.headers["ongi-delivery-attempt"] == "2"
    event = sample.event
    assert set(event) == {"id", "seq", "type", "occurred_at", "household_id", "district_code", "data"}
    assert event["id"] == sample.headers["ongi-event-id"]
    rows = await _deliveries(client, feed, hook["id"], status="delivered")
    assert len(rows) == 2
    assert all(d["attempts"] == 2 and d["delivered_at"] and len(d["attempt_log"]) == 2 for d in rows)


async def test_dead_letter_and_redelivery(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    feed = await integration_client(factory, ["events:read"])
    async with Receiver(always=500) as rx:
        hook = await create_webhook(client, feed, rx.url, ["support.status_changed"])
        rx.secret = hook["secret"]
        await emit_events(maker, [("support.status_changed", "11990")])
        at = utcnow()
        for _ in range(cfg.max_attempts):
            assert await deliver_once(_state(app), limit=5, now=at) == 1
            at += LATER
        assert await deliver_once(_state(app), limit=5, now=at + LATER) == 0  # dead: no more attempts
        assert len(rx.received) == cfg.max_attempts
        dead = await _deliveries(client, feed, hook["id"], status="dead")
        assert len(dead) == 1
        assert dead[0]["attempts"] == cfg.max_attempts
        assert dead[0]["dead_at"]
        assert [a["status_code"] for a in dead[0]["attempt_log"]] == [500] * cfg.max_attempts

        rx.always = None
        r = await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{dead[0]['id']}/redeliver", headers=feed.headers)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "pending"
        assert r.json()["redeliveries"] == 1
        assert r.json()["attempts"] == 0
        assert await deliver_once(_state(app), limit=5) == 1
        one = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries/{dead[0]['id']}", headers=feed.headers)).json()
        assert one["status"] == "delivered"
        assert len(rx.processed) == 1
        # the dead-letter list is empty again
        assert await _deliveries(client, feed, hook["id"], status="dead") == []


async def test_worker_killed_mid_delivery_lease_expires_and_receiver_dedupes(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    state = _state(app)
    feed = await integration_client(factory, ["events:read"])
    async with Receiver() as rx:
        hook = await create_webhook(client, feed, rx.url, ["visit.completed"])
        rx.secret = hook["secret"]
        await emit_events(maker, [("visit.completed", "11990")])
        from app.events.delivery import fan_out

        assert await fan_out(state) == 1
        # worker A claims and POSTs ... then dies before writing the outcome
        claimed = await claim(state, worker_id="worker-a", limit=10)
        assert len(claimed) == 1
        async with http_client(cfg) as http:
            outcome = await send(http, claimed[0], env="test", cfg=cfg)
        assert outcome.ok
        assert len(rx.processed) == 1
        # while A's lease runs, nobody else takes it
        assert await claim(state, worker_id="worker-b", limit=10) == []
        assert await deliver_once(state, limit=10, worker_id="worker-b") == 0
        # the lease expires: worker B takes it over and delivers again (at least once)
        later = utcnow() + timedelta(seconds=cfg.lease_seconds + 1)
        assert await deliver_once(state, limit=10, worker_id="worker-b", now=later) == 1
        # A wakes up: its outcome is not written (the lease is B's now)
        assert await finish(state, [(claimed[0], outcome)], worker_id="worker-a") == 0

    assert len(rx.received) == 2
    assert len(set(rx.event_ids())) == 1  # the same event id twice ...
    assert len(rx.processed) == 1  # ... which the receiver processes once
    async with maker() as s:
        row = (await s.execute(select(WebhookDelivery))).scalars().all()
    mine = [d for d in row if str(d.subscription_id) == hook["id"]]
    assert len(mine) == 1
    assert mine[0].status == "delivered"
    assert mine[0].attempts == 2
    assert mine[0].lease_owner is None


async def test_fan_out_twice_never_doubles_and_new_subscription_starts_now(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    from app.events.delivery import fan_out

    state = _state(app)
    await emit_events(maker, [("visit.completed", "11990")])  # before the subscription: not delivered
    feed = await integration_client(factory, ["events:read"])
    hook = await create_webhook(client, feed, "http://127.0.0.1:9/none", ["visit.completed"])
    await emit_events(maker, [("visit.completed", "11990"), ("visit.completed", "11990")])
    assert await fan_out(state) == 2
    assert await fan_out(state) == 0
    r = await client.get(f"/v1/webhooks/{hook['id']}", headers=feed.headers)
    assert r.json()["position"] > hook["position"]
    assert r.headers["etag"].startswith('"v1-')  # moving the position is not an edit


async def test_deactivated_client_receives_nothing(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    admin = await factory.actor(Role.admin, org)
    feed = await integration_client(factory, ["events:read"], org=org)
    async with Receiver() as rx:
        hook = await create_webhook(client, feed, rx.url, ["visit.completed"])
        rx.secret = hook["secret"]
        r = await client.patch(f"/v1/users/{feed.id}", headers=admin.headers, json={"active": False})
        assert r.status_code == 200, r.text
        await emit_events(maker, [("visit.completed", "11990")])
        assert await deliver_once(_state(app), limit=10) == 0
        assert rx.received == []


async def test_subscription_management_rules(client: httpx.AsyncClient, factory: Factory, app: Any, cfg: Any) -> None:
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    admin = await factory.actor(Role.admin, org)
    feed = await integration_client(factory, ["events:read", "households:import"], org=org)
    elsewhere = await factory.org(OrgKind.public, jurisdiction=["11680"])
    other = await integration_client(factory, ["events:read"], org=elsewhere)
    url = "http://127.0.0.1:9/hook"

    # an integration client subscribes itself
    mine = await create_webhook(client, feed, url, ["visit.completed"], description="대시보드")
    assert mine["client_id"] == str(feed.id)
    # an admin must name a client of an organization they manage
    r = await client.post("/v1/webhooks", headers=admin.headers, json={"url": url, "event_types": ["report.triaged"]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.client_id"
    r = await client.post(
        "/v1/webhooks",
        headers=admin.headers,
        json={"url": url, "event_types": ["report.triaged"], "client_id": str(other.id)},
    )
    assert r.status_code == 422  # not a client of this admin's organizations
    r = await client.post(
        "/v1/webhooks",
        headers=admin.headers,
        json={"url": url, "event_types": ["report.triaged"], "client_id": str(feed.id)},
    )
    assert r.status_code == 201, r.text
    by_admin = r.json()
    assert r.headers["location"] == f"/v1/webhooks/{by_admin['id']}"

    # lists: the client sees its own, the admin those of its organization, another client none of them
    own = (await client.get("/v1/webhooks", headers=feed.headers)).json()["items"]
    assert {h["id"] for h in own} == {mine["id"], by_admin["id"]}
    assert {h["id"] for h in (await client.get("/v1/webhooks", headers=admin.headers)).json()["items"]} >= {
        mine["id"],
        by_admin["id"],
    }
    assert (await client.get("/v1/webhooks", headers=other.headers)).json()["items"] == []
    assert (await client.get(f"/v1/webhooks/{mine['id']}", headers=other.headers)).status_code == 404

    # roles that never manage webhooks, and a client token without events:read
    planner = await factory.actor(Role.planner, org)
    assert (await client.get("/v1/webhooks", headers=planner.headers)).status_code == 403
    narrow = await integration_client(factory, ["events:read", "households:import"], token_scopes=["households:import"])
    assert (await client.get("/v1/webhooks", headers=narrow.headers)).status_code == 403
    assert (await client.get("/v1/webhooks")).status_code == 401

    # validation
    for bad in (
        {"url": url, "event_types": ["visit.deleted"]},
        {"url": url, "event_types": []},
        {"url": "ftp://example.org/x", "event_types": ["visit.completed"]},
        {"url": "http://user:pw@example.org/x", "event_types": ["visit.completed"]},
        {"url": url, "event_types": ["visit.completed"], "extra": 1},
    ):
        r = await client.post("/v1/webhooks", headers=feed.headers, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")

    # patch with If-Match, rotate the secret (shown once)
    r = await client.patch(
        f"/v1/webhooks/{mine['id']}", headers={**feed.headers, "If-Match": '"v9"'}, json={"active": False}
    )
    assert r.status_code == 412
    r = await client.patch(
        f"/v1/webhooks/{mine['id']}",
        headers={**feed.headers, "If-Match": '"v1"'},
        json={"active": False, "event_types": ["visit.completed", "report.triaged"], "rotate_secret": True},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is False
    assert body["version"] == 2
    assert r.headers["etag"].startswith('"v2-')
    assert body["secret"].startswith("whsec_")
    assert body["secret"] != mine["secret"]
    r = await client.patch(f"/v1/webhooks/{mine['id']}", headers=feed.headers, json={"description": None})
    assert r.status_code == 200
    assert "secret" not in r.json()
    assert r.json()["description"] is None

    # delete: gone for everyone, deliveries stop
    assert (await client.delete(f"/v1/webhooks/{mine['id']}", headers=other.headers)).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{mine['id']}", headers=feed.headers)).status_code == 204
    assert (await client.get(f"/v1/webhooks/{mine['id']}", headers=feed.headers)).status_code == 404
    assert (await client.get(f"/v1/webhooks/{mine['id']}/deliveries", headers=feed.headers)).status_code == 404


async def test_private_and_plain_http_targets_refused_when_configured(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    state = _state(app)
    with state.override(WEBHOOK_SETTINGS, WebhookSettings(allow_http=False, allow_private_targets=False)):
        feed = await integration_client(factory, ["events:read"])
        cases = {
            "http://example.org/hook": "https",
            "https://127.0.0.1/hook": "private",
            "https://10.1.2.3/hook": "private",
            "https://[::1]/hook": "private",
            "https://localhost/hook": "private",
            "https://169.254.169.254/latest": "private",
        }
        for url in cases:
            r = await client.post(
                "/v1/webhooks", headers=feed.headers, json={"url": url, "event_types": ["visit.completed"]}
            )
            assert r.status_code == 422, (url, r.text)
        r = await client.post(
            "/v1/webhooks",
            headers={**feed.headers, "Accept-Language": "en"},
            json={"url": "https://hooks.example.org/ongi", "event_types": ["visit.completed"]},
        )
        assert r.status_code == 201, r.text


async def test_delivery_audit_and_redeliver_in_flight_conflict(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    state = _state(app)
    feed = await integration_client(factory, ["events:read"])
    hook = await create_webhook(client, feed, "http://127.0.0.1:9/none", ["visit.completed"])
    await emit_events(maker, [("visit.completed", "11990")])
    claimed = await claim(state, worker_id="w", limit=5) or []
    if not claimed:
        from app.events.delivery import fan_out

        await fan_out(state)
        claimed = await claim(state, worker_id="w", limit=5)
    assert len(claimed) == 1
    r = await client.post(f"/v1/webhooks/{hook['id']}/deliveries/{claimed[0].id}/redeliver", headers=feed.headers)
    assert r.status_code == 409
    assert r.json()["type"].endswith("/delivery-in-flight")
    listed = await _deliveries(client, feed, hook["id"])
    assert listed[0]["in_flight"] is True
    from app.audit.models import AuditEvent

    async with maker() as s:
        actions = set((await s.execute(select(AuditEvent.action).where(AuditEvent.actor_id == feed.id))).scalars())
    assert "webhooks.create" in actions
    assert json.dumps(sorted(actions))


async def test_the_worker_runs_the_webhook_job(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    from app.worker import discover_jobs, run

    state = _state(app)
    jobs = [j for j in discover_jobs() if j.name == "webhooks"]
    assert len(jobs) == 1
    feed = await integration_client(factory, ["events:read"])
    try:
        async with Receiver() as rx:
            hook = await create_webhook(client, feed, rx.url, ["report.triaged"])
            rx.secret = hook["secret"]
            await emit_events(maker, [("report.triaged", "11990")])
            await run(state, jobs, once=True)
        assert len(rx.processed) == 1
    finally:
        http = state.pop(WEBHOOK_HTTP)
        if http is not None:
            await http.aclose()
        state.pop(WORKER_ID)
