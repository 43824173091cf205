"""``GET /v1/events``: commit-ordered polling within the client's jurisdiction, never skipping an event."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.principal import OrgKind, Role
from tests.support.factories import Factory
from tests.support.integrations import emit_events, integration_client


async def _poll(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> dict:
    r = await client.get("/v1/events", headers=headers, params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_poll_in_commit_order_within_jurisdiction(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    feed = await integration_client(factory, ["events:read"])
    start = await _poll(client, feed.headers, after=0, limit=1000)
    while start["has_more"]:
        start = await _poll(client, feed.headers, after=start["next_after"], limit=1000)
    after = start["next_after"]

    ids = await emit_events(
        maker,
        [
            ("visit.completed", "11990"),
            ("household.risk_changed", "1199053000"),
            ("visit.completed", "11680"),  # not ours
            ("report.triaged", None),  # no district: not delivered to a jurisdiction-bound client
        ],
    )
    more = await emit_events(maker, [("support.status_changed", "11990")])

    page = await _poll(client, feed.headers, after=after, limit=2)
    assert [e["household_id"] for e in page["items"]] == [str(ids[0]), str(ids[1])]
    assert page["has_more"] is True
    assert page["next_cursor"]
    seqs = [e["seq"] for e in page["items"]]
    assert seqs == sorted(seqs)
    assert page["next_after"] == seqs[-1]
    page2 = await _poll(client, feed.headers, after=page["next_after"], limit=2)
    assert await _poll(client, feed.headers, cursor=page["next_cursor"], limit=2) == page2  # the same position
    assert [e["household_id"] for e in page2["items"]] == [str(more[0])]
    assert page2["has_more"] is False
    assert page2["next_cursor"] is None
    # nothing new: the position stays where it is
    empty = await _poll(client, feed.headers, after=page2["next_after"])
    assert empty["items"] == []
    assert empty["next_after"] == page2["next_after"]
    # an event committed later appears after the position (nothing skipped)
    late = await emit_events(maker, [("household.recurrence", "11990")])
    page3 = await _poll(client, feed.headers, after=page2["next_after"])
    assert [e["household_id"] for e in page3["items"]] == [str(late[0])]
    event = page3["items"][0]
    assert event["type"] == "household.recurrence"
    assert event["data"] == {"household_id": str(late[0])}

    # filter by type (repeated or comma-separated)
    typed = await _poll(client, feed.headers, after=after, types="visit.completed,household.recurrence")
    assert [e["household_id"] for e in typed["items"]] == [str(ids[0]), str(late[0])]
    r = await client.get(
        "/v1/events", headers=feed.headers, params=[("after", after), ("types", "support.status_changed")]
    )
    assert [e["household_id"] for e in r.json()["items"]] == [str(more[0])]


async def test_poll_access_and_validation(client: httpx.AsyncClient, factory: Factory) -> None:
    no_scope = await integration_client(factory, ["households:import"])
    assert (await client.get("/v1/events", headers=no_scope.headers)).status_code == 403
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public))
    assert (await client.get("/v1/events", headers=coordinator.headers)).status_code == 403
    assert (await client.get("/v1/events")).status_code == 401
    feed = await integration_client(factory, ["events:read"])
    r = await client.get("/v1/events", headers=feed.headers, params={"types": "visit.deleted"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.types"
    assert (await client.get("/v1/events", headers=feed.headers, params={"after": -1})).status_code == 422
    assert (await client.get("/v1/events", headers=feed.headers, params={"limit": 5000})).status_code == 422
    assert (await client.get("/v1/events", headers=feed.headers, params={"cursor": "garbage!"})).status_code == 422
