"""Webhook signatures that standard verifiers accept: the ``standardwebhooks`` package verifies what a real
receiver on loopback got, retries keep the same ``webhook-id``, and a tampered body or another secret fails.
Delivery results are counted on ``/metrics``."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.core.db import utcnow
from app.events.config import WEBHOOK_SETTINGS, WebhookSettings
from app.events.delivery import deliver_once
from app.events.signing import new_secret, standard_headers
from tests.support.factories import Factory
from tests.support.integrations import Receiver, create_webhook, emit_events, integration_client


@pytest.fixture
def cfg(app: Any) -> Iterator[WebhookSettings]:
    cfg = WebhookSettings(
        max_attempts=2, backoff_base_seconds=10, backoff_max_seconds=60, lease_seconds=30, timeout_seconds=5
    )
    with app.state.ongi.override(WEBHOOK_SETTINGS, cfg):
        yield cfg


def test_new_secrets_are_standard_base64_of_32_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :], validate=True)) == 32
    assert new_secret() != secret


def test_the_reference_verifier_accepts_our_headers_and_refuses_tampering() -> None:
    secret = new_secret()
    body = b'{"id":"e1","type":"visit.completed"}'
    headers = standard_headers(secret, "e1", body)
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]+=*", headers["webhook-signature"])
    assert Webhook(secret).verify(body, headers) == {"id": "e1", "type": "visit.completed"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):  # replayed long after: outside the verifier's window
        Webhook(secret).verify(body, standard_headers(secret, "e1", body, timestamp=1_700_000_000))
    # A secret made before the switch (urlsafe characters) still verifies with the reference decoder.
    legacy = "whsec_Ab-_cdEF0123456789ghIJklMNopQRstUVwxYZ-_abcd"
    assert Webhook(legacy).verify(body, standard_headers(legacy, "e2", body), json_parse=False) is None


async def test_deliveries_verify_with_standardwebhooks_and_retries_keep_their_id(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any, cfg: Any
) -> None:
    state = app.state.ongi
    before = await _scraped(client)
    feed = await integration_client(factory, ["events:read"])
    async with Receiver(plan=[503]) as rx:
        hook = await create_webhook(client, feed, rx.url, ["visit.completed"])
        rx.secret = hook["secret"]
        await emit_events(maker, [("visit.completed", "11990")])
        assert await deliver_once(state, limit=10) == 1  # answered 503: retried later
        assert await deliver_once(state, limit=10, now=utcnow() + timedelta(hours=2)) == 1

    assert len(rx.received) == 2
    verifier = Webhook(hook["secret"])
    for got in rx.received:
        assert verifier.verify(got.body, got.headers) == got.event
        assert got.valid  # the older Ongi-Signature beside it
        assert got.headers["webhook-id"] == got.headers["ongi-event-id"]
    assert rx.received[0].headers["webhook-id"] == rx.received[1].headers["webhook-id"]

    after = await _scraped(client)
    attempts = 'ongi_webhook_delivery_attempts_total{result="%s"}'
    assert after.get(attempts % "retrying", 0) - before.get(attempts % "retrying", 0) == 1
    assert after.get(attempts % "delivered", 0) - before.get(attempts % "delivered", 0) == 1
    assert after["ongi_outbox_backlog"] == before.get("ongi_outbox_backlog", 0)
    assert "ongi_webhook_deliveries_dead" in after


async def _scraped(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
