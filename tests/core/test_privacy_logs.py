"""Nothing personal in the logs (docs/api.md#conventions, issue 13 item 9).

A name, a phone number, a registration number and a note's text are planted through every write path (REST,
sync push, imports by REST PUT and NDJSON bulk, upload metadata), in requests that succeed and in requests that
fail (422s, a database error), and every log line the service writes meanwhile is captured at the root logger
(structlog's events, the standard library's and uvicorn's all end there) at DEBUG, rendered by the service's own
formatter. None of the planted values may appear. uvicorn's own lines are checked on a real server.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from app.core.deps import SessionDep
from app.core.logging import JsonFormatter
from app.core.principal import OrgKind, Role
from app.main import create_app
from tests.integrations.test_integrations_bulk import BULK, NDJSON, body_stream
from tests.support.factories import Factory, make_household, make_visit
from tests.support.integrations import integration_client
from tests.support.uploads import jpeg_with_gps, tus_create

NAME = "탁은별"
PHONE = "010-7391-4628"
RRN = "480315-2847561"
NOTE = "냉장고가 비어 있고 혈압약을 끊었다고 함"
PLANTED = [NAME, PHONE, PHONE.replace("-", ""), RRN, RRN.replace("-", ""), NOTE, NOTE[:8]]


def _forms(value: str) -> set[str]:
    """The value as it could appear in a line: as it is, JSON-escaped, percent- or base64-encoded."""
    from urllib.parse import quote

    return {
        value,
        json.dumps(value)[1:-1],
        quote(value),
        quote(value, safe="").lower(),
        base64.b64encode(value.encode()).decode().rstrip("="),
    }


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def leaks(self) -> list[tuple[str, str]]:
        found = []
        for line in self.lines:
            for value in PLANTED:
                if any(form in line for form in _forms(value)):
                    found.append((value, line[:500]))
        return found


@pytest.fixture
def captured(app: Any) -> Iterator[Captured]:
    """Every record at the root logger, from DEBUG up (after the app configured logging: ``app``)."""
    root = logging.getLogger()
    handler = Captured()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _household_body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "district_code": "11990",
        "dong_code": "1199051000",
        "address": "온기구 온기로 9길 9",
        "head_name": NAME,
        "contact_phone": PHONE,
        "members": [{"key": "m1", "name": NAME, "birth_year": 1948, "relation": "head", "tags": ["elderly"]}],
        "tags": ["elderly"],
        "living_situation": NOTE,
        "sensitive": {"members": [{"key": "m1", "rrn": RRN}], "health_notes": NOTE},
    }
    body.update(kw)
    return body


def _import_body(**kw: Any) -> dict[str, Any]:
    household = {k: v for k, v in _household_body().items() if k not in ("sensitive", "living_situation")}
    household["members"] = [{"name": NAME, "birth_year": 1948, "relation": "head", "tags": ["elderly"]}]
    body: dict[str, Any] = {
        "indicators": ["power_cut"],
        "observed_at": "2026-11-01T09:00:00+09:00",
        "details": {"months_overdue": 3},
        "household": household,
    }
    body.update(kw)
    return body


def _metadata(values: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def test_planted_personal_data_never_reaches_a_log_line(
    captured: Captured, factory: Factory, client: httpx.AsyncClient
) -> None:
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.actor(Role.coordinator, org)
    planner = await factory.actor(Role.planner, org)
    feed = await integration_client(factory, ["households:import"], org=org)
    answers: list[httpx.Response] = []

    # REST: create, change, search, note; and the same refused
    r = await client.post("/v1/households", json=_household_body(), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    url = f"/v1/households/{created['id']}"
    answers.append(await client.patch(url, json={"living_situation": NOTE + " (2)"}, headers=coordinator.headers))
    answers.append(await client.post("/v1/households/search", json={"q": NAME}, headers=coordinator.headers))
    answers.append(await client.get("/v1/households", params={"q": NAME}, headers=coordinator.headers))  # 400
    answers.append(
        await client.post("/v1/households", json=_household_body(contact_phone=NAME), headers=coordinator.headers)
    )
    answers.append(
        await client.post(
            "/v1/households",
            json=_household_body(sensitive={"members": [{"key": "m1", "rrn": RRN + "99"}]}),
            headers=coordinator.headers,
        )
    )
    answers.append(await client.patch(url, json={"head_name": NAME * 40}, headers=coordinator.headers))
    answers.append(
        await client.patch(url, json={"living_situation": NOTE}, headers={**coordinator.headers, "If-Match": '"v999"'})
    )
    answers.append(
        await client.post(f"{url}/reveal", json={"reason": f"{NAME} {PHONE} 확인"}, headers=coordinator.headers)
    )
    household = await make_household(factory, head_name=NAME, contact_phone=PHONE)
    visit = await make_visit(factory, household, [planner.user])
    answers.append(
        await client.post("/v1/notes", json={"visit_id": str(visit.id), "body": NOTE}, headers=planner.headers)
    )
    answers.append(
        await client.post("/v1/notes", json={"visit_id": str(visit.id), "body": NOTE * 200}, headers=planner.headers)
    )
    # a client's request id is not logged as given
    answers.append(await client.get("/v1/me", headers={**planner.headers, "X-Request-ID": PHONE}))
    # a forged login with the planted name as username and password
    answers.append(
        await client.post("/v1/auth/token", data={"grant_type": "password", "username": NAME, "password": RRN})
    )

    # sync push: a household patch and a note, then both refused
    def mutation(entity: str, op: str, id_: Any, data: dict[str, Any], base: int | None = None) -> dict[str, Any]:
        return {
            "mutation_id": str(uuid.uuid4()),
            "entity": entity,
            "op": op,
            "id": str(id_),
            "base_version": base,
            "data": data,
            "at": datetime.now(UTC).isoformat(),
        }

    push = {
        "device_id": planner.device_id,
        "device_time": datetime.now(UTC).isoformat(),
        "mutations": [
            mutation("household", "update", household.id, {"living_situation": NOTE, "contact_phone": PHONE}, 1),
            mutation("note", "upsert", uuid.uuid4(), {"visit_id": str(visit.id), "body": NOTE, "kind": "observation"}),
            mutation("household", "update", household.id, {"contact_phone": NAME * 300}, 1),
            mutation("note", "upsert", uuid.uuid4(), {"visit_id": str(visit.id), "body": NOTE, "colour": NAME}),
            mutation("nonsense", "upsert", uuid.uuid4(), {"name": NAME}),
        ],
    }
    answers.append(await client.post("/v1/sync/push", json=push, headers=planner.headers))
    answers.append(await client.post("/v1/sync/push", json={**push, "device_id": NAME}, headers=planner.headers))
    answers.append(
        await client.post(
            "/v1/sync/push",
            content=json.dumps(push)[:-9].encode(),
            headers={**planner.headers, "Content-Type": "application/json"},
        )
    )

    # imports: REST PUT and NDJSON bulk, good and bad rows
    ext = f"PRIV-{uuid.uuid4().hex[:8]}"
    answers.append(
        await client.put(f"/v1/integrations/households/bigdata/{ext}", json=_import_body(), headers=feed.headers)
    )
    bad = _import_body()
    bad["household"]["contact_phone"] = NAME
    answers.append(await client.put(f"/v1/integrations/households/bigdata/{ext}-x", json=bad, headers=feed.headers))
    lines = [
        json.dumps({"source": "bigdata", "external_id": f"{ext}-b1", **_import_body()}, ensure_ascii=False),
        json.dumps({"source": "bigdata", "external_id": f"{ext}-b2", **bad}, ensure_ascii=False),
        json.dumps({"source": "bigdata", "external_id": NAME, "household": {"head_name": NAME}}, ensure_ascii=False),
        f'{{"broken": "{NAME} {PHONE}',
    ]
    answers.append(await client.post(BULK, headers={**feed.headers, **NDJSON}, content=body_stream(lines), timeout=120))

    # upload metadata: a filename and caption carrying the planted values; then a refused one
    data = jpeg_with_gps()
    answers.append(
        await tus_create(client, planner, visit.id, data, extra={"filename": f"{NAME} {PHONE}.jpg", "caption": NOTE})
    )
    answers.append(
        await client.post(
            "/v1/uploads/",
            headers={
                **planner.headers,
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(data)),
                "Upload-Metadata": _metadata({"filename": NAME, "caption": NOTE, "visit_id": RRN}),
            },
        )
    )

    statuses = {r.status_code for r in answers}
    assert statuses & {200, 201, 204}, statuses
    assert statuses & {400, 409, 412, 413, 422}, statuses  # failures were exercised too
    assert captured.lines, "nothing was logged: the capture is not where the service logs"
    assert captured.leaks() == []


async def test_a_database_error_logs_no_parameters(captured: Captured, settings: Any) -> None:
    """A statement that fails with planted values bound: the error is logged (with its traceback), the values
    are not (the engine hides parameters)."""
    app = create_app(settings)
    boom = APIRouter()

    @boom.post("/boom-db")
    async def explode(session: SessionDep) -> None:
        # A ProgrammingError (logged with its traceback): a table that does not exist (PostgreSQL), a value
        # the driver cannot bind (SQLite, where a missing table is an OperationalError, answered 503).
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                text("SELECT * FROM no_such_table WHERE name = :name AND rrn = :rrn"), {"name": NAME, "rrn": RRN}
            )
        await session.execute(text("SELECT :name AS name, :rrn AS rrn"), {"name": NAME, "rrn": [RRN, NOTE]})

    app.include_router(boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/boom-db")
    await app.state.ongi.engine.dispose()
    assert r.status_code == 500
    errors = [line for line in captured.lines if '"database_error"' in line and "Traceback" in line]
    assert errors, (r.status_code, r.text, captured.lines)  # the failure itself is in the log, as JSON
    assert all(json.loads(line)["level"] in ("error", "warning") for line in errors)
    assert captured.leaks() == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_uvicorn_lines_are_json_and_carry_nothing_personal(tmp_path: Path) -> None:
    """The service started as scripts/serve starts it (its log config), access log on: every line uvicorn and
    the app write is one JSON object; planted values in the URL, the headers and a malformed request appear in
    none of them."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ONGI_DATA_DIR": str(tmp_path), "ONGI_DEMO": "0", "ONGI_ENV": "development"}
    env.pop("ONGI_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=root, env=env, check=True, capture_output=True)
    port = _free_port()
    out = tmp_path / "server.log"
    with out.open("wb") as sink:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port),
                "--no-proxy-headers", "--log-config", "app/core/uvicorn_log.json", "--access-log",
            ],
            cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            httpx.get(f"{base}/v1/households", params={"q": NAME, "phone": PHONE}, headers={"X-Request-ID": RRN})
            httpx.post(f"{base}/v1/auth/token", data={"grant_type": "password", "username": NAME, "password": RRN})
            httpx.get(f"{base}/v1/nothing/{NAME}", params={"note": NOTE})
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                raw.sendall(
                    f"GET /v1/{NAME}?{PHONE} HTTP/1.1\r\nHost: x\r\nX-Bad: {RRN}\r\n\r\n".encode()
                    + b"\x00\x01garbage\r\n\r\n"
                )
                with contextlib.suppress(OSError):
                    raw.recv(4096)
            time.sleep(0.5)
        finally:
            server.terminate()
            server.wait(timeout=20)
    lines = [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert any('"uvicorn.access"' in line for line in lines), lines
    assert any('"uvicorn.error"' in line for line in lines), lines
    for line in lines:
        record = json.loads(line)  # every line is JSON
        assert "event" in record
        for value in PLANTED:
            assert not any(form in line for form in _forms(value)), (value, line)
