"""Issue 13's edges: forwarded addresses, response headers and CORS, household search out of the URL, huge
integers, image and XLSX decoding within a memory budget, and where a webhook connects."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from app.auth.models import Role
from app.core.metrics import Metrics
from app.core.middleware import ClientAddress, RequestContextMiddleware
from app.events import delivery
from app.events.config import WebhookSettings
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import Factory, make_household
from tests.test_integrations_kit import Receiver, integration_client

# --- 8. forwarded addresses ------------------------------------------------------------------------------------


async def _client_seen(trusted: list[str], peer: str, headers: dict[str, str]) -> str:
    """The client address the app behind the real middleware sees."""
    seen: dict[str, Any] = {}

    async def echo(scope: Any, receive: Any, send: Any) -> None:
        seen["client"] = scope["client"][0]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = RequestContextMiddleware(echo, metrics=Metrics(), max_body=1024, trusted_proxies=trusted)
    transport = httpx.ASGITransport(app=app, client=(peer, 5555))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/x", headers=headers)
    assert r.status_code == 204
    return str(seen["client"])


@pytest.mark.parametrize(
    ("trusted", "peer", "headers", "expected"),
    [
        # by default nobody is believed: neither a loopback peer nor any header
        ([], "127.0.0.1", {"X-Forwarded-For": "9.9.9.9"}, "127.0.0.1"),
        ([], "127.0.0.1", {"Forwarded": "for=9.9.9.9"}, "127.0.0.1"),
        # a peer outside the trusted list is the client, whatever it forwards
        (["10.0.0.0/8"], "203.0.113.7", {"X-Forwarded-For": "9.9.9.9"}, "203.0.113.7"),
        # behind the load balancer: the last address it saw, not what the client put in front
        (["10.0.0.0/8"], "10.1.2.3", {"X-Forwarded-For": "1.1.1.1, 198.51.100.4"}, "198.51.100.4"),
        (["10.0.0.0/8"], "10.1.2.3", {"X-Forwarded-For": "1.1.1.1, 198.51.100.4, 10.9.9.9"}, "198.51.100.4"),
        (["10.0.0.0/8"], "10.1.2.3", {"Forwarded": 'for=1.1.1.1, for="198.51.100.4:4711";proto=https'}, "198.51.100.4"),
        (["10.0.0.0/8"], "10.1.2.3", {"Forwarded": 'for="[2001:db8::7]:443"'}, "2001:db8::7"),
        (["10.0.0.0/8"], "10.1.2.3", {"X-Forwarded-For": "unknown"}, "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", {}, "10.1.2.3"),
    ],
)
async def test_forwarded_addresses_believed_only_from_trusted_proxies(
    trusted: list[str], peer: str, headers: dict[str, str], expected: str
) -> None:
    assert await _client_seen(trusted, peer, headers) == expected


def test_trusted_proxies_setting_reads_a_comma_list_and_refuses_nonsense(tmp_path: Path) -> None:
    s = make_settings("sqlite+aiosqlite://", tmp_path, trusted_proxies="10.0.0.0/8, 192.0.2.1")
    assert s.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    assert ClientAddress(s.trusted_proxies).trusted(__import__("ipaddress").ip_address("10.4.4.4"))
    with pytest.raises(ValueError, match="proxies"):
        make_settings("sqlite+aiosqlite://", tmp_path, trusted_proxies="the-balancer")


async def test_forged_forwarded_for_does_not_reset_the_address_limit(
    factory: Factory, client: httpx.AsyncClient
) -> None:
    """Each failed login from one peer counts against that peer, whatever X-Forwarded-For it sends."""
    limit = factory.state.settings.login_max_failures_per_address
    statuses = []
    for n in range(limit + 1):
        r = await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": f"nobody-{n}", "password": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        statuses.append(r.status_code)
    assert statuses[-1] == 429, statuses


# --- 9. request ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["abc-123", "김온기 010-1234-5678", "x" * 40, "1' OR '1'='1"])
async def test_request_id_only_kept_when_a_uuid(client: httpx.AsyncClient, given: str) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": given.encode()})
    rid = r.headers["x-request-id"]
    assert rid != given
    uuid.UUID(rid)
    mine = str(uuid.uuid4())
    r = await client.get("/healthz", headers={"X-Request-ID": mine.upper()})
    assert r.headers["x-request-id"] == mine


# --- 10. headers and CORS ---------------------------------------------------------------------------------------


async def test_every_v1_response_is_no_store_and_nosniff(factory: Factory, client: httpx.AsyncClient) -> None:
    planner = await factory.actor(Role.planner)
    household = await make_household(factory)
    checks = [
        await client.get("/v1/me", headers=planner.headers),
        await client.get("/v1/households", headers=planner.headers),
        await client.get(f"/v1/households/{household.id}", headers=planner.headers),
        await client.get(f"/v1/households/{uuid.uuid4()}", headers=planner.headers),  # 404 problem
        await client.get("/v1/households?limit=0", headers=planner.headers),  # 422 problem
        await client.get("/v1/visits", headers=planner.headers),
        await client.get("/v1/me"),  # 401
        await client.post("/v1/households/search", json={"q": "김"}, headers=planner.headers),
    ]
    for r in checks:
        assert r.headers.get("cache-control") == "no-store", (r.request.url, r.headers)
        assert r.headers.get("x-content-type-options") == "nosniff", r.request.url
        assert "pragma" not in r.headers or r.headers["pragma"] == "no-cache"
    assert {r.status_code for r in checks} >= {200, 401, 404, 422}


async def test_cors_answers_only_configured_origins(client: httpx.AsyncClient, tmp_path: Path) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    r = await client.options("/v1/me", headers=preflight)
    assert "access-control-allow-origin" not in r.headers  # none configured: no CORS at all
    r = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers

    app = create_app(
        make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'cors.db'}", tmp_path, cors_origins="https://console.example.go.kr"
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        ok = await c.options(
            "/v1/me", headers={"Origin": "https://console.example.go.kr", "Access-Control-Request-Method": "GET"}
        )
        assert ok.headers["access-control-allow-origin"] == "https://console.example.go.kr"
        bad = await c.options("/v1/me", headers=preflight)
        assert "access-control-allow-origin" not in bad.headers
        bad = await c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers
    await app.state.ongi.engine.dispose()


# --- 14. where a webhook connects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:93.184.216.34", True),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d822", True),  # NAT64 of 93.184.216.34
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 of 10.0.0.1
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", False),  # Teredo
        ("::127.0.0.1", False),  # IPv4-compatible
        ("224.0.0.1", False),
        ("not-an-address", False),
    ],
)
def test_public_address_judged_by_the_embedded_ipv4(address: str, public: bool) -> None:
    assert delivery.is_public_address(address) is public


class _Recording(httpcore.AsyncNetworkBackend):
    """The real network for loopback, a refusal for anything else (this machine has no way out); records
    every address a connection was opened to."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connects: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        if host != "127.0.0.1":
            raise httpcore.ConnectError("no route from the test machine")
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _claimed(url: str) -> delivery.Claimed:
    return delivery.Claimed(
        id=uuid.uuid4(),
        subscription_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        event_type="visit.completed",
        attempts=1,
        attempt_log=[],
        url=url,
        secret="whsec_test",
        body=json.dumps({"id": "x"}).encode(),
    )


def _answers(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    """Replace the resolver: each lookup gets the next answer (the last one repeats)."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(delivery, "resolve", resolve)
    return asked


CFG = WebhookSettings(allow_http=True, timeout_seconds=5)


async def test_webhook_connects_to_the_address_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the first lookup answers a public address, later ones loopback. The connection goes to
    the first; the receiver on loopback never hears from it."""
    async with Receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        asked = _answers(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])
        network = _Recording()
        async with delivery.http_client(CFG, network_backend=network) as http:
            outcome = await delivery.send(
                http, _claimed(f"http://hooks.example.com:{port}/in"), env="production", cfg=CFG
            )
        assert not outcome.ok
        assert network.connects == ["93.184.216.34"]
        assert asked == ["hooks.example.com"]
        assert rx.received == []


async def test_webhook_refused_when_any_answer_is_private(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        _answers(monkeypatch, ["93.184.216.34", "127.0.0.1"])
        network = _Recording()
        async with delivery.http_client(CFG, network_backend=network) as http:
            outcome = await delivery.send(
                http, _claimed(f"http://hooks.example.com:{port}/in"), env="production", cfg=CFG
            )
        assert outcome.error == "target resolves to a private address"
        assert network.connects == []
        _answers(monkeypatch, ["64:ff9b::7f00:1"])
        async with delivery.http_client(CFG, network_backend=network) as http:
            outcome = await delivery.send(
                http, _claimed(f"http://hooks.example.com:{port}/in"), env="production", cfg=CFG
            )
        assert outcome.error == "target resolves to a private address"
        assert network.connects == []
        assert rx.received == []


async def test_webhook_keeps_the_hostname_for_host_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where private targets are allowed (development), the checked address is still the one connected to,
    and the request names the hostname."""
    async with Receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        _answers(monkeypatch, ["127.0.0.1"], ["93.184.216.34"])
        network = _Recording()
        async with delivery.http_client(CFG, network_backend=network) as http:
            outcome = await delivery.send(http, _claimed(f"http://hooks.example.com:{port}/in"), env="test", cfg=CFG)
        assert network.connects == ["127.0.0.1"]
        assert len(rx.received) == 1
        assert rx.received[0].headers["host"] == f"hooks.example.com:{port}"
        assert outcome.status_code == 401  # the receiver's secret is not this test's: it answered


async def test_a_client_without_the_address_check_is_refused_in_production() -> None:
    async with httpx.AsyncClient() as plain:
        outcome = await delivery.send(plain, _claimed("https://hooks.example.com/in"), env="production", cfg=CFG)
    assert not outcome.ok
    assert "check" in (outcome.error or "")


# --- 10. household search in the body ---------------------------------------------------------------------------


async def test_household_search_moves_into_the_body(factory: Factory, client: httpx.AsyncClient) -> None:
    import unicodedata

    from app.auth.models import OrgKind

    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    partner = await factory.actor(Role.partner)
    a = await make_household(factory, head_name="한별빛", contact_phone="010-5555-1234", address="온기로 3")
    b = await make_household(factory, head_name="김하늘", address="별빛로 7", address_detail="101동")

    async def found(**body: Any) -> list[str]:
        r = await client.post("/v1/households/search", json=body, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        assert "q=" not in str(r.request.url)
        return [x["id"] for x in r.json()["items"]]

    assert await found(q="별빛") == [str(a.id), str(b.id)]
    assert await found(q=unicodedata.normalize("NFD", "별빛")) == [str(a.id), str(b.id)]  # jamo from a keyboard
    assert await found(q="  한별빛  ") == [str(a.id)]
    assert await found(q="01055551234") == [str(a.id)]
    assert await found(q="5555-1234") == [str(a.id)]
    assert await found(q="별빛", dong_code="1199051000", limit=1) == [str(a.id)]
    assert await found(q="%") == []
    page = await client.post("/v1/households/search", json={"q": "별빛", "limit": 1}, headers=coordinator.headers)
    rest = await client.post(
        "/v1/households/search",
        json={"q": "별빛", "limit": 1, "cursor": page.json()["next_cursor"]},
        headers=coordinator.headers,
    )
    assert [x["id"] for x in rest.json()["items"]] == [str(b.id)]
    # the same access policy as the list: partners may not search by name
    r = await client.post("/v1/households/search", json={"q": "별빛"}, headers=partner.headers)
    assert r.status_code == 403
    for bad in ({"q": ""}, {"q": "   "}, {"q": "x" * 101}, {"q": "별빛", "limit": 0}, {"q": "별빛", "name": "x"}):
        r = await client.post("/v1/households/search", json=bad, headers=coordinator.headers)
        assert r.status_code == 422, (bad, r.text)
    # no free text in the list's URL any more
    r = await client.get("/v1/households", params={"q": "별빛"}, headers=coordinator.headers)
    assert r.status_code == 400
    assert r.json()["type"].endswith("/search-in-body")
    # audited as the list is: one read per household returned
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent

    async with factory.maker() as s:
        reads = await s.scalar(
            select(func.count()).where(AuditEvent.action == "household.read", AuditEvent.household_id == a.id)
        )
    assert reads is not None
    assert reads >= 6


# --- 13. huge integers ------------------------------------------------------------------------------------------

HUGE = 10**20


def _cursor(values: Any) -> str:
    import base64

    raw = values if isinstance(values, bytes) else json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _integers_without_bounds(doc: dict[str, Any]) -> list[str]:
    """Every integer of the API (path, query, header parameters and body properties) lacking an upper bound
    the database can hold."""
    from app.core.pagination import INT64_MAX

    schemas = doc["components"]["schemas"]
    out: list[str] = []

    def unbounded(schema: dict[str, Any]) -> bool:
        alts = schema.get("anyOf") or [schema]
        if any(a.get("type") == "number" for a in alts):
            return False  # a float: JSON numbers, never bound to an integer column
        ints = [a for a in alts if a.get("type") == "integer"]
        return any(a.get("maximum", INT64_MAX + 1) > INT64_MAX for a in ints)

    def walk(name: str, where: str, seen: set[str]) -> None:
        if name in seen:
            return
        seen.add(name)
        for prop, schema in schemas[name].get("properties", {}).items():
            if unbounded(schema):
                out.append(f"{where} {name}.{prop}")
            for alt in [schema, *schema.get("anyOf", []), schema.get("items", {})]:
                ref = alt.get("$ref") or alt.get("items", {}).get("$ref")
                if ref:
                    walk(ref.rsplit("/", 1)[-1], where, seen)

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                if unbounded(param.get("schema", {})):
                    out.append(f"{where} {param['in']}.{param['name']}")
            for content in op.get("requestBody", {}).get("content", {}).values():
                ref = content.get("schema", {}).get("$ref")
                if ref:
                    walk(ref.rsplit("/", 1)[-1], where, set())
    return out


async def test_every_integer_of_the_api_has_a_bound(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert _integers_without_bounds(doc) == []


async def test_huge_integers_answer_422_not_500(factory: Factory, client: httpx.AsyncClient) -> None:
    from datetime import UTC, datetime

    from app.auth.models import OrgKind
    from tests.factories import make_visit

    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    feed = await integration_client(factory, ["events:read"], org=org)
    admin = await factory.actor(Role.admin, org)
    household = await make_household(factory)
    visit = await make_visit(factory, household, [planner.user])
    now = datetime.now(UTC).isoformat()
    h = coordinator.headers
    cursors = [
        [1e300, now, str(uuid.uuid4())],
        [HUGE, now, str(uuid.uuid4())],
        [-HUGE, now, str(uuid.uuid4())],
        b'[Infinity, "2026-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"]',
        b'[NaN, "2026-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"]',
        [True, now, str(uuid.uuid4())],
        [1e300],
        [HUGE],
    ]
    answers = []
    for c in cursors:
        answers.append(await client.get("/v1/triage", params={"cursor": _cursor(c)}, headers=h))
        answers.append(await client.get("/v1/households", params={"cursor": _cursor(c)}, headers=h))
        answers.append(await client.get("/v1/visits", params={"cursor": _cursor(c)}, headers=h))
        answers.append(await client.get("/v1/audit-events", params={"cursor": _cursor(c)}, headers=admin.headers))
    for value in (HUGE, -HUGE, "1e+300", 2**63):
        answers.append(await client.get("/v1/households", params={"limit": value}, headers=h))
        answers.append(
            await client.get(f"/v1/checklist-templates/crisis_household_assessment/versions/{value}", headers=h)
        )
    answers.append(
        await client.post(
            f"/v1/visits/{visit.id}/checklists",
            json={"template_key": "crisis_household_assessment", "template_version": HUGE},
            headers=planner.headers,
        )
    )
    answers.append(
        await client.post(
            f"/v1/visits/{visit.id}/checklists",
            json={"template_key": "crisis_household_assessment", "template_version": 1, "base_version": HUGE},
            headers=planner.headers,
        )
    )
    answers.append(
        await client.post(
            "/v1/visits",
            json={
                "household_id": str(household.id),
                "purpose": "assessment",
                "window_start": now,
                "window_end": now,
                "assignees": [str(planner.user.id)],
                "checklists": [{"key": "crisis_household_assessment", "version": HUGE}],
            },
            headers=coordinator.headers,
        )
    )
    push = {
        "device_id": planner.device_id,
        "mutations": [
            {
                "mutation_id": str(uuid.uuid4()),
                "entity": "household",
                "op": "update",
                "id": str(household.id),
                "base_version": HUGE,
                "data": {"living_situation": "x"},
            }
        ],
    }
    answers.append(await client.post("/v1/sync/push", json=push, headers=planner.headers))
    answers.append(await client.get("/v1/events", params={"after": HUGE}, headers=feed.headers))
    answers.append(await client.get("/v1/events", params={"cursor": _cursor([HUGE])}, headers=feed.headers))
    answers.append(await client.get("/v1/events", params={"cursor": _cursor([1e300])}, headers=feed.headers))
    for r in answers:
        assert r.status_code == 422, (r.request.method, r.request.url, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"], r.text
