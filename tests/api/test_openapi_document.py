"""The OpenAPI document says what the server answers (issue 14): problems on every operation, readable names,
OAuth2 security, typed sync changes and mutations, binary and NDJSON bodies."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.core.openapi import is_camel
from app.core.principal import Role
from tests.support.factories import Factory

METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@pytest.fixture
async def doc(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items() if m in METHODS]


def find(doc: dict[str, Any], op_id: str) -> dict[str, Any]:
    for _, _, op in operations(doc):
        if op["operationId"] == op_id:
            return op
    raise AssertionError(f"no operation {op_id}")


async def test_no_fastapi_validation_error_schemas(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    assert "HTTPValidationError" not in text
    assert '"ValidationError"' not in text
    assert {"Problem", "ValidationProblem", "FieldError"} <= set(doc["components"]["schemas"])


#: The token endpoint's own errors are RFC 6749 §5.2 JSON, not problems.
OAUTH_ERRORS = {("post", "/v1/auth/token", "400"), ("post", "/v1/auth/token", "401")}


async def test_every_error_response_is_a_problem(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        for code, response in op["responses"].items():
            if int(code) < 400:
                continue
            if (method, path, code) in OAUTH_ERRORS:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OAuthErrorResponse"}
                continue
            content = response.get("content", {})
            assert list(content) == ["application/problem+json"], f"{method} {path} {code}"
            ref = content["application/problem+json"]["schema"]["$ref"]
            want = "ValidationProblem" if code == "422" else "Problem"
            assert ref == f"#/components/schemas/{want}", f"{method} {path} {code}"


async def test_derived_statuses(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        codes = set(op["responses"])
        if op.get("security"):
            assert {"401", "403"} <= codes, f"{method} {path}"
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in codes, f"{method} {path}"
        if (op.get("parameters") or "requestBody" in op) and op["operationId"] != "createToken":
            assert "422" in codes, f"{method} {path}"
        if "requestBody" in op:
            assert "413" in codes, f"{method} {path}"
        if "412" in codes:
            headers = {p["name"].lower() for p in op["parameters"] if p["in"] == "header"}
            # an ETag precondition, or on tus uploads the protocol version
            assert headers & {"if-match", "tus-resumable"}, f"{method} {path}"
        for code in ("429", "503"):
            if code in codes:
                assert "Retry-After" in op["responses"][code]["headers"], f"{method} {path}"
        if path not in ("/healthz", "/metrics"):
            assert {"500", "503"} <= codes, f"{method} {path}"


async def test_device_revoked_is_described(doc: dict[str, Any]) -> None:
    pull = find(doc, "pullChanges")
    media = pull["responses"]["401"]["content"]["application/problem+json"]
    assert media["examples"]["device-revoked"]["value"]["wipe"] is True
    assert "wipe" in doc["components"]["schemas"]["Problem"]["properties"]


async def test_operation_ids_are_readable_and_unique(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    assert all(is_camel(i) for i in ids), [i for i in ids if not is_camel(i)]
    for name in ("listVisits", "getVisit", "pullChanges", "pushMutations", "createToken", "listHouseholds"):
        find(doc, name)


async def test_named_pages_and_bodies(doc: dict[str, Any]) -> None:
    names = set(doc["components"]["schemas"])
    assert not [n for n in names if n.startswith(("Page_", "Body_"))]
    assert {"VisitPage", "ReportPage", "HouseholdPage", "CreateTokenForm"} <= names
    visits = find(doc, "listVisits")["responses"]["200"]["content"]["application/json"]["schema"]
    assert visits == {"$ref": "#/components/schemas/VisitPage"}
    assert doc["servers"] == [{"url": "/", "description": "This server"}]
    assert all(op.get("tags") for _, _, op in operations(doc))


async def test_a_422_at_run_time_is_the_documented_validation_problem(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    actor = await factory.actor(Role.coordinator)
    response = await client.get("/v1/visits", params={"limit": "many"}, headers=actor.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert isinstance(body["detail"], str)
    assert {"type", "title", "status", "errors"} <= set(body)
    [error] = body["errors"]
    assert {"field", "code", "message"} <= set(error)
    assert error["field"] == "query.limit"


async def test_a_422_without_field_errors_still_has_errors(client: httpx.AsyncClient, factory: Factory) -> None:
    from app.core.errors import Problem

    body = Problem(422, "invalid-data", "detail.invalid-data").body()
    assert body["errors"] == []


# --- OAuth2 (RFC 6749) -----------------------------------------------------------------------------------------


async def test_security_schemes_are_oauth2_with_scopes(doc: dict[str, Any]) -> None:
    from app.core.principal import INTEGRATION_SCOPES

    schemes = doc["components"]["securitySchemes"]
    assert list(schemes) == ["oauth2"]
    flows = schemes["oauth2"]["flows"]
    assert flows["password"]["tokenUrl"] == "/v1/auth/token"
    assert flows["password"]["refreshUrl"] == "/v1/auth/token"
    assert set(flows["clientCredentials"]["scopes"]) == set(INTEGRATION_SCOPES)
    assert find(doc, "listEvents")["security"] == [{"oauth2": ["events:read"]}]
    assert find(doc, "importHousehold")["security"] == [{"oauth2": ["households:import"]}]
    # staff by role, or an integration client holding the scope
    assert find(doc, "listVisits")["security"] == [{"oauth2": []}, {"oauth2": ["visits:read"]}]
    assert find(doc, "getMe")["security"] == [{"oauth2": []}]
    assert "security" not in find(doc, "createToken")
    form = doc["components"]["schemas"]["CreateTokenForm"]["properties"]
    assert {"grant_type", "refresh_token", "device_id", "device_name", "scope"} <= set(form)


def _oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error
    assert isinstance(body.get("error_description"), str)
    return body


async def test_token_endpoint_refresh_grant_rotates(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(Role.planner)
    first = await client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": actor.refresh})
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"] != actor.refresh
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    # the spent token again: RFC 6749 invalid_grant, and the family is revoked
    again = await client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": actor.refresh})
    _oauth_error(again, 400, "invalid_grant")
    rotated = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    _oauth_error(await client.post("/v1/auth/token", data=rotated), 400, "invalid_grant")


async def test_token_endpoint_errors_are_rfc6749(client: httpx.AsyncClient, factory: Factory) -> None:
    _oauth_error(await client.post("/v1/auth/token", data={}), 400, "invalid_request")
    _oauth_error(await client.post("/v1/auth/token", data={"grant_type": "implicit"}), 400, "unsupported_grant_type")
    _oauth_error(await client.post("/v1/auth/token", data={"grant_type": "password"}), 400, "invalid_request")
    _oauth_error(await client.post("/v1/auth/token", data={"grant_type": "refresh_token"}), 400, "invalid_request")
    _oauth_error(
        await client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 40}),
        400,
        "invalid_grant",
    )
    _oauth_error(
        await client.post("/v1/auth/token", data={"grant_type": "password", "username": "u" * 101, "password": "p"}),
        400,
        "invalid_request",
    )
    bad_client = await client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + __import__("base64").b64encode(b"nobody:wrong").decode()},
    )
    _oauth_error(bad_client, 401, "invalid_client")
    assert bad_client.headers["www-authenticate"].startswith("Basic")
    _oauth_error(await client.post("/v1/auth/token", data={"grant_type": "client_credentials"}), 401, "invalid_client")


# --- sync: typed changes and mutations ---------------------------------------------------------------------------


async def test_sync_change_and_mutation_are_discriminated_unions(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    change = schemas["Change"]
    assert change["discriminator"]["propertyName"] == "entity"
    assert set(change["discriminator"]["mapping"]) >= {"visit", "household", "note", "checklist_response", "photo"}
    visit = schemas["VisitChange"]["properties"]
    assert visit["entity"]["const"] == "visit"
    assert {"$ref": "#/components/schemas/VisitPublic"} in visit["data"]["anyOf"]
    mutation = schemas["Mutation"]
    assert mutation["discriminator"]["propertyName"] == "entity"
    note = schemas[mutation["discriminator"]["mapping"]["note"].rsplit("/", 1)[1]]
    assert note["discriminator"] == {
        "propertyName": "op",
        "mapping": {
            "upsert": "#/components/schemas/NoteUpsertMutation",
            "delete": "#/components/schemas/NoteDeleteMutation",
        },
    }
    transition = schemas["VisitTransitionMutation"]["properties"]["data"]
    assert transition["properties"]["to"]["enum"] == ["in_progress", "completed", "no_contact", "refused"]
    push = find(doc, "pushMutations")["requestBody"]["content"]["application/json"]["schema"]
    assert push == {"$ref": "#/components/schemas/PushRequest"}
    assert schemas["PushRequest"]["properties"]["mutations"]["items"] == {"$ref": "#/components/schemas/Mutation"}


async def test_push_stays_lenient_at_run_time(client: httpx.AsyncClient, factory: Factory) -> None:
    """The document's union is for clients; an entity it does not name is still one rejected result."""
    import uuid

    actor = await factory.actor(Role.planner)
    body = {
        "device_id": actor.device_id,
        "mutations": [
            {"mutation_id": str(uuid.uuid4()), "entity": "spaceship", "op": "launch", "id": str(uuid.uuid4())}
        ],
    }
    r = await client.post("/v1/sync/push", json=body, headers=actor.headers)
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert result["status"] == "rejected"


async def test_binary_and_line_bodies_have_schemas(doc: dict[str, Any]) -> None:
    content = find(doc, "getPhotoContent")["responses"]
    for code in ("200", "206"):
        assert content[code]["content"]["image/*"]["schema"] == {"type": "string", "format": "binary"}
    assert find(doc, "getPhotoThumbnail")["responses"]["200"]["content"]["image/*"]["schema"]["format"] == "binary"
    export = find(doc, "exportRecords")["responses"]["200"]["content"]
    assert export["text/csv"]["schema"]["type"] == "string"
    assert export["application/x-ndjson"]["schema"]["type"] == "string"
    bulk = find(doc, "importHouseholdsBulk")
    body = bulk["requestBody"]["content"]["application/x-ndjson"]["schema"]
    assert body["type"] == "string"
    assert body["format"] == "binary"
    assert bulk["responses"]["200"]["content"]["application/x-ndjson"]["schema"]["type"] == "string"
