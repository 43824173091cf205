"""The server does what its OpenAPI document says (issue 14 item 4): schemathesis, run as a client developer
runs it (its own command line, every check; the examples, fuzzing and stateful phases, and the coverage phase
for the roles ONGI_CONFORMANCE_COVERAGE names: see COVERAGE_ROLES), against a
live uvicorn on 127.0.0.1 serving a fresh demo district, once per demo role and for an integration client.
No check is left out and no answer is exempt: a problem+json the document does not declare is a failure, and
the test wants 0 failures and 0 errors.

Bounded and reproducible: a few examples per operation, ``--generation-deterministic`` (no seed involved),
no shrinking. Each role gets its own database, so what an administrator's fuzzing changes cannot hide another
role's failures. The caller logs in through ``/v1/auth/token`` from the hooks in ``tests/support/conformance_hooks.py``
(a new device each time, again whenever an answer is 401: the run calls ``logout`` and revokes devices too);
the administrator's run uses a throwaway administrator that the demo ``admin`` restores when the run has
disabled or demoted it. The hooks also page with cursors the server handed out and write with the ETag just
read, as a client does (a made-up cursor or tag is refused as documented). ``tests/schemathesis.toml`` says,
per operation, which rules of a request no schema states (an id that must exist, a rule across fields): the
only expected-status tuning there is. CI runs it on both databases (``.ci/run`` sets ONGI_TEST_CONFORMANCE=1).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import httpx
import pytest

from app.core.principal import INTEGRATION_SCOPES, Role
from app.demo.seed import DEMO_PASSWORD
from tests.support.factories import Factory, make_household, make_visit
from tests.support.live import ROOT, LiveServer, live_database

#: Cases per operation and phase. Small: the point is breadth, every operation for every role.
MAX_EXAMPLES = int(os.environ.get("ONGI_CONFORMANCE_EXAMPLES", "3"))
ROLES = ["admin", "coordinator", "planner", "partner", "reporter", "integration"]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

CONFIG = Path(__file__).parents[1] / "schemathesis.toml"
#: The coverage phase (every parameter's boundaries, wrong types, missing headers, undeclared methods) is nine
#: tenths of a run's cases (about 10,000 a role, 1-2 minutes on a quiet 2-core machine, over CI's budget for
#: 12 runs). By default every role runs the examples, fuzzing and stateful phases on both databases (30-80 s a
#: role); ONGI_CONFORMANCE_COVERAGE names the roles whose run adds the coverage phase (comma-separated, or
#: ``all``); ONGI_CONFORMANCE_FULL=1 is ``all``; ONGI_CONFORMANCE_MAX_TIME=60 gives fuzzing and stateful 60 s a
#: role (the long variant).
_COVERAGE = "all" if os.environ.get("ONGI_CONFORMANCE_FULL") == "1" else os.environ.get("ONGI_CONFORMANCE_COVERAGE", "")
COVERAGE_ROLES = ROLES if _COVERAGE == "all" else [r for r in _COVERAGE.split(",") if r]
MAX_TIME = os.environ.get("ONGI_CONFORMANCE_MAX_TIME")


def phases(role: str) -> str:
    return "examples,coverage,fuzzing,stateful" if role in COVERAGE_ROLES else "examples,fuzzing,stateful"


def _integration_client(base: str) -> tuple[str, str]:
    """An integration client with every integration scope, made by the demo admin through the API."""
    token = httpx.post(
        base + "/v1/auth/token", data={"grant_type": "password", "username": "admin", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(base + "/v1/me", headers=headers).json()
    r = httpx.post(
        base + "/v1/users",
        headers=headers,
        json={
            "organization_id": me["organization"]["id"],
            "username": "conformance-client",
            "display_name": "적합성 시험 연계 시스템",
            "role": "integration",
            "scopes": list(INTEGRATION_SCOPES),
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["username"], r.json()["client_secret"]


def _throwaway_admin(base: str) -> dict[str, str]:
    """An administrator of the demo organization made for the run: its fuzzing may disable, demote or revoke it
    (it administers users and devices, itself included), and the hooks restore it as the demo ``admin``, whose
    own session the run never touches."""
    token = httpx.post(
        base + "/v1/auth/token", data={"grant_type": "password", "username": "admin", "password": DEMO_PASSWORD}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = httpx.get(base + "/v1/me", headers=headers).json()
    r = httpx.post(
        base + "/v1/users",
        headers=headers,
        json={
            "organization_id": me["organization"]["id"],
            "username": "conformance-admin",
            "display_name": "적합성 시험 관리자",
            "role": "admin",
            "password": DEMO_PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    return {
        "ONGI_CONFORMANCE_USERNAME": "conformance-admin",
        "ONGI_CONFORMANCE_PASSWORD": DEMO_PASSWORD,
        "ONGI_CONFORMANCE_USER_ID": r.json()["id"],
        "ONGI_CONFORMANCE_RESTORE_USERNAME": "admin",
        "ONGI_CONFORMANCE_RESTORE_PASSWORD": DEMO_PASSWORD,
    }


def summarize(report: dict[str, Any]) -> dict[str, int]:
    """Distinct failures by check, as schemathesis' own summary counts them."""
    return {f"{f['code']} {f['title']}": int(f["count"]) for f in report["failures"]}


async def run_schemathesis(
    server: LiveServer, caller: dict[str, str], out_dir: Path, role: str = "coordinator"
) -> tuple[dict[str, Any], str]:
    report_path = out_dir / "schemathesis.json"
    env = {
        **server.env,
        "SCHEMATHESIS_HOOKS": "tests.support.conformance_hooks",
        "ONGI_CONFORMANCE_BASE": server.base,
        **caller,
    }
    cmd = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        server.base + "/openapi.json",
        "--checks",
        "all",
        "--phases",
        phases(role),
        "--max-examples",
        str(MAX_EXAMPLES),
        *(["--max-time", MAX_TIME] if MAX_TIME else []),
        "--generation-deterministic",
        "--no-shrink",
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--max-failures",
        "100000",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
    ]
    with anyio.fail_after(600):
        done = await anyio.run_process(cmd, cwd=ROOT, env=env, check=False)
    stdout = done.stdout.decode("utf-8", "replace")
    assert report_path.exists(), stdout[-3000:] + done.stderr.decode("utf-8", "replace")[-3000:]
    return json.loads(report_path.read_text()), stdout


@asynccontextmanager
async def demo_server(db_kind: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """uvicorn on 127.0.0.1 over a database of its own holding the demo district (``python -m app seed-demo``)."""
    async with live_database(db_kind, tmp_path) as url:
        server = LiveServer(url, tmp_path / "data")
        with anyio.fail_after(120):
            seeded = await anyio.run_process(
                [sys.executable, "-m", "app", "seed-demo"], cwd=ROOT, env=server.env, check=False
            )
        assert seeded.returncode == 0, seeded.stderr.decode()[-2000:]
        await anyio.to_thread.run_sync(server.start)
        try:
            # the document is built on its first request (seconds on a busy machine): not within the run's
            # request timeout
            await anyio.to_thread.run_sync(lambda: httpx.get(server.base + "/openapi.json", timeout=120))
            yield server
        finally:
            await anyio.to_thread.run_sync(server.stop)


@pytest.mark.skipif(
    os.environ.get("ONGI_TEST_CONFORMANCE") != "1",
    reason="schemathesis, about a minute a role: ONGI_TEST_CONFORMANCE=1 runs it (.ci/run does, on both databases)",
)
@pytest.mark.parametrize("role", ROLES)
async def test_schemathesis_all_checks(role: str, db_kind: str, tmp_path: Path) -> None:
    async with demo_server(db_kind, tmp_path) as server:
        if role == "integration":
            client_id, secret = await anyio.to_thread.run_sync(_integration_client, server.base)
            caller = {"ONGI_CONFORMANCE_CLIENT_ID": client_id, "ONGI_CONFORMANCE_CLIENT_SECRET": secret}
        elif role == "admin":
            caller = await anyio.to_thread.run_sync(_throwaway_admin, server.base)
        else:
            caller = {"ONGI_CONFORMANCE_USERNAME": role, "ONGI_CONFORMANCE_PASSWORD": DEMO_PASSWORD}
        started = time.monotonic()
        report, output = await run_schemathesis(server, caller, tmp_path, role)
        elapsed = time.monotonic() - started
    summary = summarize(report)
    failures = sum(summary.values())
    detail = output[output.find("=== FAILURES ===") :][:12000] if failures else ""
    print(f"schemathesis {role}: {failures} distinct failures {summary}, {report['test_cases']}, {elapsed:.0f}s")
    assert report["operations"]["tested"] >= 100, report["operations"]
    assert not summary, f"{role}: {failures} distinct failures {summary}\n{detail}"
    assert not report["errors"], f"{role}: errors {report['errors']}\n{output[-6000:]}"
    # about a minute per role on a quiet 2-core machine; the bound is the subprocess' own (10 minutes)


# --- behaviour the runs found --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/v1/visits", "GET, POST"),
        ("DELETE", "/v1/webhooks", "GET, POST"),
        ("PUT", "/v1/visits/9a2c7d2e-9b35-4c8e-8f4a-0d6a5d6f0c11", "GET, PATCH"),
    ],
)
async def test_405_allow_lists_every_method_of_the_path(
    method: str, path: str, allow: str, factory: Factory, client: httpx.AsyncClient
) -> None:
    """Starlette named only the methods of the first route that matched (``Allow: GET`` on /v1/visits)."""
    planner = await factory.actor(Role.planner)
    r = await client.request(method, path, headers=planner.headers)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("path", "allow"), [("/v1/monitoring/due", "GET"), ("/v1/households/search", "POST")])
async def test_undeclared_method_on_a_literal_path_is_405(
    path: str, allow: str, factory: Factory, client: httpx.AsyncClient
) -> None:
    """``PATCH /v1/monitoring/due`` was taken by ``PATCH /v1/monitoring/{plan_id}`` and answered 422."""
    coordinator = await factory.actor(Role.coordinator)
    r = await client.patch(path, json={}, headers=coordinator.headers)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow


async def test_visits_from_today_to_today(factory: Factory, client: httpx.AsyncClient) -> None:
    """The list's own summary names ``assignee=me&from=today&to=today``; it answered 422."""
    from datetime import UTC, datetime, timedelta

    planner = await factory.actor(Role.planner)
    today = await make_visit(factory, await make_household(factory), [planner.user])
    now = datetime.now(UTC)
    await make_visit(
        factory,
        await make_household(factory),
        [planner.user],
        window_start=now + timedelta(days=3),
        window_end=now + timedelta(days=3, hours=2),
    )
    day = {"assignee": "me", "from": "today", "to": "today"}
    r = await client.get("/v1/visits", params=day, headers=planner.headers)
    assert r.status_code == 200, r.text
    assert [v["id"] for v in r.json()["items"]] == [str(today.id)]


@pytest.mark.parametrize(("name", "value"), [("to", "9999-12-31"), ("from", "not-a-day"), ("to", "2027-01-12T09:00")])
async def test_visits_bounds_out_of_range_or_unreadable_are_422(
    name: str, value: str, factory: Factory, client: httpx.AsyncClient
) -> None:
    """``to=9999-12-31`` reckoned the day after it and failed with a 500."""
    planner = await factory.actor(Role.planner)
    r = await client.get("/v1/visits", params={name: value}, headers=planner.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == f"query.{name}"


async def test_allow_of_a_literal_path_is_its_own(factory: Factory, client: httpx.AsyncClient) -> None:
    """``OPTIONS /v1/households/search`` advertised ``…/{household_id}``'s GET and PATCH too."""
    coordinator = await factory.actor(Role.coordinator)
    r = await client.options("/v1/households/search", headers=coordinator.headers)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "POST"


async def test_body_that_is_not_utf8_is_422_json_invalid(factory: Factory, client: httpx.AsyncClient) -> None:
    """FastAPI answered 400 (a status the document does not list) where malformed JSON answers 422."""
    coordinator = await factory.actor(Role.coordinator)
    headers = {**coordinator.headers, "Content-Type": "application/json"}
    r = await client.post("/v1/households/search", content=b"\xef\xbb", headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "body"
    assert r.json()["errors"][0]["code"] == "json_invalid"


async def test_a_number_is_not_a_boolean(factory: Factory, client: httpx.AsyncClient) -> None:
    """``recurrence: 0`` in a household search and ``required: 0`` in a checklist item were read as false."""
    coordinator = await factory.actor(Role.coordinator)
    r = await client.post("/v1/households/search", json={"q": "김", "recurrence": 0}, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.recurrence"
    item = {"key": "a", "type": "date", "label": {"ko": "날짜", "en": "Date"}, "required": 0}
    template = {"key": "strict_bool", "title": {"ko": "점검", "en": "Check"}, "items": [item]}
    r = await client.post("/v1/checklist-templates", json=template, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.items.0.required"
    item["required"] = True
    r = await client.post("/v1/checklist-templates", json=template, headers=coordinator.headers)
    assert r.status_code == 201, r.text


async def test_refresh_documents_its_401(app: Any, factory: Factory, client: httpx.AsyncClient) -> None:
    """``POST /v1/auth/refresh`` answers a spent token with 401, which its entry did not list."""
    r = await client.post("/v1/auth/refresh", data={"refresh_token": "x" * 40})
    assert r.status_code == 401, r.text
    assert "401" in app.openapi()["paths"]["/v1/auth/refresh"]["post"]["responses"]


async def test_a_pulled_resource_is_the_documented_resource(
    app: Any, factory: Factory, client: httpx.AsyncClient
) -> None:
    """A pulled ``resource`` lacked ``provider_name`` and ``active``, which ``ResourceChange.data``
    (``ResourcePublic``) requires: schemathesis' response check failed on ``GET /v1/sync/pull``."""
    from tests.support.care import make_resource

    coordinator = await factory.actor(Role.coordinator, await factory.org(jurisdiction=["11990"]))
    created = await make_resource(client, coordinator)
    r = await client.get("/v1/sync/pull", params={"limit": 2000}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    pulled = [c["data"] for c in r.json()["changes"] if c["entity"] == "resource" and c["id"] == created["id"]]
    assert len(pulled) == 1
    required = app.openapi()["components"]["schemas"]["ResourcePublic"]["required"]
    assert set(required) <= pulled[0].keys(), set(required) - pulled[0].keys()
    assert pulled[0]["provider_name"] == coordinator.org.name
    assert pulled[0]["active"] is True


async def test_a_problem_keeps_its_http_status(factory: Factory, client: httpx.AsyncClient) -> None:
    """An illegal support move answered ``"status": "provided"`` (the support's status, an extension member,
    replaced RFC 9457's ``status``): schemathesis' response check failed on the 409."""
    from tests.support.care import coordinator_and_planner, make_resource, move, propose

    coordinator, planner = await coordinator_and_planner(factory)
    resource = await make_resource(client, coordinator)
    sid = (await propose(client, planner, (await make_household(factory)).id, resource["id"])).json()["id"]
    r = await move(client, coordinator, sid, "approved")
    assert r.status_code == 409, r.text
    assert r.json()["status"] == 409
    assert r.json()["current_status"] == "proposed"
    assert r.json()["allowed"] == ["requested", "declined"]


async def test_a_day_in_a_query_is_yyyy_mm_dd(factory: Factory, client: httpx.AsyncClient) -> None:
    """``GET /v1/monitoring/due?on=0`` was read as 1970-01-01 (pydantic takes a number for a Unix time), which
    the document's ``format: date`` does not allow."""
    coordinator = await factory.actor(Role.coordinator)
    for path in ("/v1/monitoring/due", "/v1/campaigns"):
        r = await client.get(path, params={"on": "0"}, headers=coordinator.headers)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "query.on"
        r = await client.get(path, params={"on": "2026-12-02"}, headers=coordinator.headers)
        assert r.status_code == 200, r.text


async def test_the_tus_headers_are_documented(app: Any) -> None:
    """Schemathesis sent tus requests without ``Tus-Resumable`` (412, undocumented as a header) and with an
    ``If-Match`` the uploads never read (their 412 is the tus version's)."""
    paths = app.openapi()["paths"]
    for path, method in [
        ("/v1/uploads/", "post"),
        ("/v1/uploads/{upload_id}", "head"),
        ("/v1/uploads/{upload_id}", "patch"),
        ("/v1/uploads/{upload_id}", "delete"),
    ]:
        params = {p["name"]: p for p in paths[path][method]["parameters"] if p["in"] == "header"}
        assert params["Tus-Resumable"]["required"] is True
        assert params["Tus-Resumable"]["schema"]["enum"] == ["1.0.0"]
        assert "If-Match" not in params
        assert "412" in paths[path][method]["responses"]
    create = {p["name"]: p for p in paths["/v1/uploads/"]["post"]["parameters"]}
    assert create["Upload-Length"]["required"]
    assert create["Upload-Metadata"]["required"]
    patch = paths["/v1/uploads/{upload_id}"]["patch"]
    assert "application/offset+octet-stream" in patch["requestBody"]["content"]
    assert "Upload-Offset" in {p["name"] for p in patch["parameters"]}
    assert "parameters" not in paths["/v1/uploads/"]["options"]


async def test_a_required_if_match_is_required_in_the_document(app: Any) -> None:
    """``PATCH /v1/notes/{id}`` answers 428 without If-Match; the document called the header optional."""
    op = app.openapi()["paths"]["/v1/notes/{note_id}"]["patch"]
    [if_match] = [p for p in op["parameters"] if p["name"] == "If-Match"]
    assert if_match["required"] is True
    assert "428" in op["responses"]


async def test_pulled_cases_and_supports_are_what_the_document_says(
    app: Any, factory: Factory, client: httpx.AsyncClient
) -> None:
    """A pulled case or support carries the record as the phone keeps it, not REST's ``CasePublic`` /
    ``SupportPublic`` (which the document named): schemathesis' response check failed on ``GET /v1/sync/pull``."""
    from jsonschema import Draft202012Validator

    from tests.support.care import coordinator_and_planner, make_resource, propose
    from tests.support.checklists import make_case

    coordinator, planner = await coordinator_and_planner(factory)
    household = await make_household(factory)
    await make_visit(factory, household, [planner.user])
    await make_case(factory, household, planner.user, [planner.user])
    resource = await make_resource(client, coordinator)
    assert (await propose(client, planner, household.id, resource["id"])).status_code == 201
    r = await client.get("/v1/sync/pull", params={"limit": 2000}, headers=planner.headers)
    assert r.status_code == 200, r.text
    doc = app.openapi()
    pulled = {c["entity"]: c for c in r.json()["changes"]}
    assert {"case", "support"} <= pulled.keys()
    for entity in ("case", "support"):
        schema = {"$ref": f"#/components/schemas/{entity.title()}Change", "components": doc["components"]}
        errors = [e.message for e in Draft202012Validator(schema).iter_errors(pulled[entity])]
        assert not errors, (entity, errors)


def _request_models(app: Any) -> list[type]:
    """Every pydantic model a request body holds, nested ones included."""
    import typing

    from fastapi import routing
    from pydantic import BaseModel

    iterate = getattr(routing, "iter_route_contexts", None)
    routes = [c.original_route for c in iterate(app.routes)] if iterate else list(app.routes)
    found: list[type] = []

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in found:
                return
            found.append(tp)
            for field in tp.model_fields.values():
                visit(field.annotation)
            return
        for arg in typing.get_args(tp):
            visit(arg)

    for route in routes:
        body = getattr(route, "body_field", None)
        if body is not None:
            visit(body.field_info.annotation)
    return found


async def test_no_request_field_reads_a_number_as_a_boolean_or_a_time(app: Any) -> None:
    """``{"internal": 0}`` was a false note flag, ``{"period_end": 0}`` 1970-01-01 and ``{"amount": false}`` an
    amount of 0 (pydantic's lax mode): the document says boolean, date, date-time, integer, and schemathesis'
    negative check found such fields (about 75)."""
    from datetime import date

    from pydantic import TypeAdapter, ValidationError

    lax = []
    models = _request_models(app)
    assert len(models) > 50
    for model in models:
        for name, field in model.model_fields.items():
            adapter = TypeAdapter(Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation)
            for value in (0, 1, "0", "yes", True, False):
                try:
                    read = adapter.validate_python(value)
                except ValidationError:
                    continue
                except Exception:  # a field type that cannot be validated alone (a forward reference)
                    break
                if isinstance(value, bool):
                    wrong = isinstance(read, int | float) and not isinstance(read, bool)  # false read as 0
                else:
                    wrong = isinstance(read, bool | date)  # 0 read as false or as 1970-01-01
                if wrong:
                    lax.append(f"{model.__name__}.{name} <- {value!r}")
    assert not lax, lax


async def test_the_document_writes_bounds_as_json_schema(app: Any) -> None:
    """A ``BeforeValidator`` under ``Field(ge=…)`` made pydantic write ``ge``/``le`` (no JSON Schema keywords):
    the document lost every bound of those fields and schemathesis sent 0 where 1 is the least."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("integer", "number") and {"ge", "le", "gt", "lt"} & node.keys():
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(app.openapi(), "")
    assert not found, found


async def test_a_map_with_key_pattern_takes_no_other_key(app: Any, factory: Factory, client: httpx.AsyncClient) -> None:
    """``PUT /v1/areas`` with ``{"names": {"0": {}}}`` is a 422 (the key is no area code); the document's
    ``patternProperties`` let any other key through (schemathesis ST202)."""
    names = app.openapi()["components"]["schemas"]["AreaNames"]["properties"]["names"]
    assert names["additionalProperties"] is False
    admin = await factory.actor(Role.admin)
    r = await client.put("/v1/areas", json={"names": {"0": "x"}}, headers=admin.headers)
    assert r.status_code == 422, r.text
