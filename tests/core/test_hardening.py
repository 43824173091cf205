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

from app.core.metrics import Metrics
from app.core.middleware import RequestContextMiddleware
from app.core.principal import Role
from app.events import delivery, transport
from app.events.config import WebhookSettings
from app.main import create_app
from tests.conftest import make_settings
from tests.support.factories import Factory, make_household
from tests.support.integrations import Receiver, integration_client

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
    from app.core.middleware import ClientAddress

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
    evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    console = {"Origin": "https://console.ongi.example", "Access-Control-Request-Method": "GET"}
    # the test app is configured with the console's origin (tests/conftest.py): only it is answered
    ok = await client.options("/v1/me", headers=console)
    assert ok.headers["access-control-allow-origin"] == "https://console.ongi.example"
    bad = await client.options("/v1/me", headers=evil)
    assert "access-control-allow-origin" not in bad.headers
    bad = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in bad.headers

    # none configured (the default): no CORS headers at all
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'cors.db'}", tmp_path, cors_origins=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for headers in (console, evil):
            r = await c.options("/v1/me", headers=headers)
            assert "access-control-allow-origin" not in r.headers
            r = await c.get("/healthz", headers={"Origin": headers["Origin"]})
            assert "access-control-allow-origin" not in r.headers
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
    assert transport.is_public_address(address) is public


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

    monkeypatch.setattr(transport, "resolve", resolve)
    return asked


CFG = WebhookSettings(allow_http=True, timeout_seconds=5)


async def test_webhook_connects_to_the_address_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the first lookup answers a public address, later ones loopback. The connection goes to
    the first; the receiver on loopback never hears from it."""
    async with Receiver() as rx:
        port = rx.url.split(":")[2].split("/")[0]
        asked = _answers(monkeypatch, ["93.184.216.34"], ["127.0.0.1"])
        network = _Recording()
        async with transport.http_client(CFG, network_backend=network) as http:
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
        async with transport.http_client(CFG, network_backend=network) as http:
            outcome = await delivery.send(
                http, _claimed(f"http://hooks.example.com:{port}/in"), env="production", cfg=CFG
            )
        assert outcome.error == "target resolves to a private address"
        assert network.connects == []
        _answers(monkeypatch, ["64:ff9b::7f00:1"])
        async with transport.http_client(CFG, network_backend=network) as http:
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
        async with transport.http_client(CFG, network_backend=network) as http:
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

    from app.core.principal import OrgKind

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

    from app.core.principal import OrgKind
    from tests.support.factories import make_visit

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


# --- 12. decoding within a memory budget ----------------------------------------------------------------------

#: Run in a fresh interpreter: the peak resident memory (VmHWM) is reset after the input is made, then the
#: work runs and the growth of the peak is printed as JSON with the outcome.
_MEASURE = """
import json, sys
from pathlib import Path

def peak():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024

def measure(work):
    import gc
    gc.collect()
    open("/proc/self/clear_refs", "w").write("5")
    before = peak()
    try:
        outcome = work()
    except Exception as exc:
        outcome = {"error": type(exc).__name__, "slug": getattr(exc, "slug", None), "text": str(exc)[:300]}
    print(json.dumps({"growth": peak() - before, "outcome": outcome}))
"""


def _measured(code: str, tmp_path: Path) -> dict[str, Any]:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE + code, str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _png_bomb(path: Path, width: int, height: int) -> None:
    """A real PNG of ``width`` × ``height`` black RGB pixels, written row by row (a few hundred KiB)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * (width * 3)
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


BUDGET = 64 * 1024 * 1024


def test_png_of_8900_squared_pixels_is_refused_within_the_budget(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    _png_bomb(bomb, 8900, 8900)
    assert bomb.stat().st_size < 400 * 1024
    result = _measured(
        """
from app.media import images
work = Path(sys.argv[1])
measure(lambda: images.process_image(work / "bomb.png", work).width)
""",
        tmp_path,
    )
    assert result["outcome"].get("slug") == "image-too-large", result
    assert result["growth"] < BUDGET, result


def test_ordinary_png_still_accepted(tmp_path: Path) -> None:
    _png_bomb(tmp_path / "ok.png", 2000, 1500)
    result = _measured(
        """
from app.media import images
work = Path(sys.argv[1])
measure(lambda: [images.process_image(work / "ok.png", work).width])
""",
        tmp_path,
    )
    assert result["outcome"][0] == 2000, result
    assert result["growth"] < BUDGET, result


def test_turned_camera_jpeg_is_reduced_while_decoding(tmp_path: Path) -> None:
    """A 27-megapixel JPEG stored turned (EXIF orientation 6) is re-encoded upright; decoded whole with its
    turned copy it would take 200+ MiB. It is decoded at a reduced scale instead."""
    result = _measured(
        """
from PIL import Image
from app.media import images
work = Path(sys.argv[1])
im = Image.new("RGB", (6000, 4500), (90, 120, 150))
exif = Image.Exif()
exif[0x0112] = 6
im.save(work / "turned.jpg", "JPEG", quality=85, exif=exif.tobytes())
del im
def run():
    p = images.process_image(work / "turned.jpg", work)
    return [p.width, p.height]
measure(run)
""",
        tmp_path,
    )
    width, height = result["outcome"]
    assert (width, height) != (4500, 6000)  # reduced
    assert height > width  # and upright
    assert width >= 4500 // 8
    assert result["growth"] < BUDGET, result


def _xlsx_bomb(path: Path, styles: int) -> None:
    """A real workbook (openpyxl) whose cell-style table was blown up to ``styles`` entries, deflated (openpyxl
    reads the whole style table into objects, even in read-only mode)."""
    import re
    import zipfile

    from openpyxl import Workbook

    plain = path.with_name("plain.xlsx")
    wb = Workbook()
    ws = wb.active
    ws.append(["external_id", "head_name"])
    ws.append(["A-1", "홍길동"])
    wb.save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in src.infolist():
            if item.filename != "xl/styles.xml":
                out.writestr(item, src.read(item.filename))
        head, tail = re.split(rb"<cellXfs[^>]*>.*?</cellXfs>", src.read("xl/styles.xml"), maxsplit=1, flags=re.S)
        with out.open("xl/styles.xml", "w", force_zip64=True) as fh:
            fh.write(head + f'<cellXfs count="{styles}">'.encode())
            block = b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" pivotButton="0" quotePrefix="0"/>'
            block *= 10_000
            for _ in range(styles // 10_000):
                fh.write(block)
            fh.write(b"</cellXfs>" + tail)


def test_xlsx_zip_bomb_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    _xlsx_bomb(tmp_path / "bomb.xlsx", 1_000_000)
    assert (tmp_path / "bomb.xlsx").stat().st_size < 1024 * 1024
    result = _measured(
        """
from app.integrations.cli import read_rows
work = Path(sys.argv[1])
def run():
    header, rows, total = read_rows(work / "bomb.xlsx")
    return [header, sum(1 for _ in rows)]
measure(run)
""",
        tmp_path,
    )
    assert result["outcome"].get("error") == "Unreadable", result  # the reader's refusal (the CLI says it, exit 2)
    assert "MiB" in result["outcome"]["text"]
    assert result["growth"] < BUDGET, result
