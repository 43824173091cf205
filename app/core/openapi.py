"""The OpenAPI document: what every operation can answer, written once here instead of on each route.

FastAPI describes success responses from the routes. This module adds what it cannot see:

- the RFC 9457 ``Problem`` and ``ValidationProblem`` schemas, and for every operation each error status it can
  answer as ``application/problem+json``: 401 (with ``wipe`` for a revoked device) and 403 for authenticated
  operations, 404 for records named in the path, 422 for parameters and bodies, 413 for bodies, 412/428 with
  an ``If-Match`` parameter where a route declares them, 429/503 with ``Retry-After``, 500 everywhere. Routes
  declare the extra statuses only they can answer with :func:`problems` (or any ``responses=`` entry of 400 and
  above: its content is rewritten to problem+json here);
- readable ``operationId`` values (:func:`operation_id`: the endpoint function's name in camelCase);
- ``servers`` and named request bodies instead of ``Body_…``.

FastAPI's ``HTTPValidationError`` and ``ValidationError`` never appear: the server never answers them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.core.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
VALIDATION_REF = "#/components/schemas/ValidationProblem"

#: What each error status means when a route does not say more.
DESCRIPTIONS: dict[int, str] = {
    400: "Bad request (a malformed cursor, header or body)",
    401: (
        "No, an expired or a revoked token. A revoked device answers type `…/problems/device-revoked` with "
        '`"wipe": true`: the app erases its local data'
    ),
    403: "Your role or scopes can never do this",
    404: "No such record, or not one you may see",
    405: "Method not allowed",
    406: "None of the accepted media types can be produced",
    409: "Conflicts with the record's current state (the problem's `type` says which)",
    410: "Gone: the cursor, upload or record can no longer be served",
    412: "If-Match does not match the current ETag (compared strongly: a weak ETag never matches)",
    413: "The request body is too large",
    415: "Unsupported Content-Type",
    416: "Range not satisfiable",
    422: "Invalid input: field errors in `errors`, in the caller's language",
    428: "If-Match is required",
    429: "Too many attempts; retry after `Retry-After` seconds",
    460: "Checksum mismatch (tus)",
    500: "Unexpected server error (the problem carries the request id)",
    503: "A dependency (database, storage) is unreachable; retry after `Retry-After` seconds",
}

#: Operations that need no database (they answer neither 503 nor 500 from a dependency).
_NO_DEPENDENCY_PATHS = frozenset({"/healthz", "/metrics"})

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'The authentication scheme (`Bearer realm="ongi"`)',
        "schema": {"type": "string"},
    }
}

IF_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The record's `ETag` as last read; a mismatch answers 412. Weak ETags never match.",
    "schema": {"type": "string"},
}


#: tus 1.0.0 (``/v1/uploads/``): the protocol's request headers, which the routes read themselves. ``Tus-Resumable``
#: on every request but discovery (``OPTIONS``): without it, or with another version, the answer is 412. A 412
#: there is never an ETag precondition, so these operations take no ``If-Match``.
TUS_RESUMABLE: dict[str, Any] = {
    "name": "Tus-Resumable",
    "in": "header",
    "required": True,
    "description": "The tus protocol version: `1.0.0` (anything else answers 412 with `Tus-Version`)",
    "schema": {"type": "string", "enum": ["1.0.0"]},
}
#: Operations that take the file's bytes (``application/offset+octet-stream``), and whether they must.
TUS_BODIES = {"appendUpload": True, "createUpload": False}


def tus_parameters(operation_id: str, max_bytes: int) -> list[dict[str, Any]]:
    """The tus headers of one upload operation (none for discovery)."""

    def header(name: str, description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
        return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}

    checksum = header(
        "Upload-Checksum",
        "tus checksum extension: `<algorithm> <base64 digest>` of this request's bytes (sha1, sha256); a "
        "mismatch answers 460",
        {"type": "string", "pattern": "^(sha1|sha256) [A-Za-z0-9+/]+={0,2}$"},
        required=False,
    )
    if operation_id == "createUpload":
        return [
            TUS_RESUMABLE,
            header(
                "Upload-Length",
                f"The file's size in bytes, 1 to Tus-Max-Size ({max_bytes}); more answers 413",
                {"type": "integer", "minimum": 1, "maximum": max_bytes},
            ),
            header(
                "Upload-Metadata",
                "Comma-separated `key base64(value)` pairs: photo_id, visit_id and sha256 are required (a "
                "visit you are on; values a schema cannot check answer 422)",
                {"type": "string", "minLength": 1, "maxLength": 8192},
            ),
            checksum,
        ]
    if operation_id == "appendUpload":
        return [
            TUS_RESUMABLE,
            header(
                "Upload-Offset",
                "Must equal the server's offset (else 409)",
                {"type": "integer", "minimum": 0, "maximum": max_bytes},
            ),
            checksum,
        ]
    if operation_id in ("getUploadStatus", "terminateUpload"):
        return [TUS_RESUMABLE]
    if operation_id == "overrideUploadMethod":
        return [
            header(
                "X-HTTP-Method-Override",
                "The tus method this POST stands for; its headers follow that method's rules",
                {"type": "string", "enum": ["PATCH", "DELETE", "HEAD"]},
            ),
            TUS_RESUMABLE,
        ]
    return []


def problems(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the statuses a route can answer beyond those derived centrally.

    ``problems(409, 412)``; a description per status as ``problems(409, s409="Already closed")``.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        text = descriptions.get(f"s{code}") or DESCRIPTIONS.get(code, "Error")
        out[code] = {"description": text, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _ref(code)}}}}
    return out


def _ref(code: int) -> str:
    return VALIDATION_REF if code == 422 else PROBLEM_REF


PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "type": "object",
        "description": (
            "RFC 9457 problem details. `type` is stable (a URI under " + PROBLEM_BASE + "); `title` and `detail` "
            "follow Accept-Language. Extension members depend on the type, e.g. `wipe` (device-revoked), "
            "`errors` (validation), `allowed` (illegal transitions), `current` (conflicts)."
        ),
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri", "description": "Stable problem type URI"},
            "title": {"type": "string", "description": "Short summary in the caller's language"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599, "description": "The HTTP status"},
            "detail": {"type": "string", "description": "What happened, in the caller's language"},
            "instance": {"type": "string", "description": "The request path"},
            "request_id": {"type": "string", "description": "The request id (also in X-Request-ID)"},
            "wipe": {
                "type": "boolean",
                "description": "Only on device-revoked: the app must erase its local data",
            },
        },
        "additionalProperties": True,
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {
                "type": "string",
                "description": "Where: dotted location such as `body.visit_id` or `query.limit`",
            },
            "code": {"type": "string", "description": "Stable error code (pydantic's error type, e.g. `missing`)"},
            "message": {"type": "string", "description": "What is wrong, in the caller's language"},
            "allowed": {
                "type": "array",
                "items": {"type": "string"},
                "description": "For enum and literal errors: the values the field accepts",
            },
        },
        "additionalProperties": True,
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "A 422 problem: `detail` is a sentence, the field errors are in `errors` (maybe empty).",
        "allOf": [
            {"$ref": PROBLEM_REF},
            {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
                },
            },
        ],
    },
}


def to_camel(name: str) -> str:
    head, *rest = [p for p in name.split("_") if p]
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


#: Endpoint function names that do not read as an operation (``token`` → ``createToken``).
OPERATION_NAMES: dict[str, str] = {
    "healthz": "getHealth",
    "readyz": "getReadiness",
    "metrics": "getMetrics",
    "token": "createToken",
    "refresh": "refreshToken",
    "logout": "logout",
    "me": "getMe",
    "pull": "pullChanges",
    "push": "pushMutations",
    "ack": "ackPurges",
    "export": "exportRecords",
    "reveal": "revealHousehold",
    "transition": "transitionVisit",
    "triage_queue": "getTriageQueue",
    "monthly_report": "getMonthlyAuditReport",
    "campaign_summary": "getCampaignSummary",
    "case_history": "listCaseHistory",
    "support_history": "listSupportHistory",
    "device_holdings": "getDeviceHoldings",
    "due_monitoring": "listDueMonitoring",
    "run_monitoring": "runMonitoring",
    "photo_content": "getPhotoContent",
    "photo_thumbnail": "getPhotoThumbnail",
    "remove_photo": "deletePhoto",
    "discover": "discoverUploads",
    "discover_upload": "discoverUpload",
    "upload_status": "getUploadStatus",
    "method_override": "overrideUploadMethod",
    "redeliver": "redeliverDelivery",
    "import_bulk": "importHouseholdsBulk",
    "get_import": "getImportedHousehold",
    "upsert_response": "upsertChecklistResponse",
    "list_responses": "listChecklistResponses",
    "get_response": "getChecklistResponse",
    "patch_response": "patchChecklistResponse",
}


def operation_id(route: APIRoute) -> str:
    """``generate_unique_id_function`` of the app: stable camelCase ids from the endpoint names."""
    return OPERATION_NAMES.get(route.name) or to_camel(route.name)


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _walk_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[1]
                out[key] = "#/components/schemas/" + rename.get(name, name)
            else:
                out[key] = _walk_refs(value, rename)
        return out
    if isinstance(node, list):
        return [_walk_refs(v, rename) for v in node]
    return node


_SUFFIXES = ("RestrictedOut", "Public", "Out")
_WORDS = re.compile(r"[A-Z][a-z0-9]*")


def _base_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            return name.removesuffix(suffix)
    return name


def page_name(item_names: list[str]) -> str:
    """A page's name from its items: ``VisitOut`` → ``VisitPage``; for a union of views the words their names
    share (``VisitOut | VisitRestrictedOut`` → ``VisitPage``, ``ReporterReportOut | StaffReportOut`` →
    ``ReportPage``)."""
    words = [_WORDS.findall(_base_name(n)) or [_base_name(n)] for n in item_names]
    shared = words[0]
    if len(words) > 1:
        prefix: list[str] = []
        for group in zip(*words, strict=False):
            if any(w != group[0] for w in group):
                break
            prefix.append(group[0])
        suffix: list[str] = []
        for group in zip(*(ws[::-1] for ws in words), strict=False):
            if any(w != group[0] for w in group):
                break
            suffix.append(group[0])
        shared = prefix or suffix[::-1] or words[0]
    return "".join(shared) + "Page"


def _page_items(schema: dict[str, Any]) -> list[str] | None:
    props = schema.get("properties", {})
    if set(props) != {"items", "next_cursor"}:
        return None
    items = props["items"].get("items", {})
    refs = (
        [items["$ref"]] if "$ref" in items else [m.get("$ref", "") for m in items.get("oneOf", items.get("anyOf", []))]
    )
    names = [r.rsplit("/", 1)[1] for r in refs if r]
    return names or None


def _page_renames(schemas: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, schema in schemas.items():
        if not name.startswith("Page_"):
            continue
        items = _page_items(schema)
        if items:
            out[name] = page_name(items)
    taken = set(schemas) - set(out)
    for old, new in list(out.items()):
        if new in taken:
            raise RuntimeError(f"page model {old} would be named {new}, which exists")
        taken.add(new)
    return out


_BINARY = {"type": "string", "format": "binary"}


def _is_text_stream(media: str) -> bool:
    return media in ("text/csv", "application/x-ndjson", "text/plain")


def _describe_bodies(op: dict[str, Any]) -> None:
    """Non-JSON bodies get a schema generators can call: files (``image/*``, octet streams) as binary strings,
    line formats (NDJSON, CSV) as strings; a 206 carries the same media types as the 200."""
    targets = [op.get("requestBody", {}).get("content", {})]
    responses = op.get("responses", {})
    if "206" in responses and "200" in responses and not responses["206"].get("content"):
        full = responses["200"].get("content", {})
        if full and not any(m.endswith("json") and not _is_text_stream(m) for m in full):
            responses["206"]["content"] = {m: dict(v) for m, v in full.items()}
    for response in responses.values():
        targets.append(response.get("content", {}))
    for content in targets:
        for media, body in content.items():
            if media.endswith("json") and media != "application/x-ndjson":
                continue
            if body.get("schema") and body["schema"].get("format") == "binary":
                continue
            if _is_text_stream(media):
                schema = {"type": "string", **{k: v for k, v in (body.get("schema") or {}).items() if k != "type"}}
                if "requestBody" in op and content is targets[0]:
                    schema["format"] = "binary"
                schema.setdefault("contentMediaType", media)
                body["schema"] = schema
            elif media.startswith(("image/", "application/octet-stream", "application/offset+octet-stream")):
                body["schema"] = {**_BINARY, **{k: v for k, v in (body.get("schema") or {}).items() if k != "type"}}


def _has_security(op: dict[str, Any], doc: dict[str, Any]) -> bool:
    sec = op.get("security", doc.get("security")) or []
    return bool(sec) and any(req for req in sec)


def _statuses(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> set[int]:
    declared = {int(code) for code in op.get("responses", {}) if code.isdigit() and int(code) >= 400}
    out = set(declared)
    params = op.get("parameters", [])
    if _has_security(op, doc):
        out |= {401, 403}
    if any(p.get("in") == "path" for p in params):
        out.add(404)
    if params or "requestBody" in op:
        out.add(422)
    if "requestBody" in op:
        out.add(413)
    if path not in _NO_DEPENDENCY_PATHS:
        out |= {500, 503}
    return out


def _own_content(response: dict[str, Any]) -> bool:
    """A route's own error body that is not a problem (the OAuth2 token endpoint's RFC 6749 errors)."""
    content = response.get("content") or {}
    return any(
        media != PROBLEM_MEDIA_TYPE and (body or {}).get("schema") and "HTTPValidationError" not in str(body["schema"])
        for media, body in content.items()
    )


def _problem_response(code: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": (existing or {}).get("description") or DESCRIPTIONS.get(code, "Error")}
    # FastAPI's own default texts say nothing: prefer ours.
    if response["description"] in {"Validation Error", "Successful Response", "Error"}:
        response["description"] = DESCRIPTIONS.get(code, "Error")
    schema: dict[str, Any] = {"$ref": _ref(code)}
    media: dict[str, Any] = {"schema": schema}
    if code == 401:
        media["examples"] = {
            "device-revoked": {
                "summary": "A revoked device: erase local data",
                "value": {
                    "type": PROBLEM_BASE + "device-revoked",
                    "title": "Device revoked",
                    "status": 401,
                    "detail": "This device was revoked by an administrator; its local data must be erased.",
                    "wipe": True,
                },
            }
        }
    response["content"] = {PROBLEM_MEDIA_TYPE: media}
    headers = dict((existing or {}).get("headers") or {})
    if code in (429, 503):
        headers.update(_RETRY_AFTER)
    if code == 401:
        headers.update(_WWW_AUTHENTICATE)
    if headers:
        response["headers"] = headers
    return response


#: Scopes an operation needs that no gate on its route names (checked inside the service).
SCOPE_OVERRIDES: dict[str, list[str]] = {"exportRecords": ["exports:read"]}

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "households:import": "Import households (REST and NDJSON bulk)",
    "households:read": "Read households of the organization's jurisdiction (public organizations only)",
    "visits:read": "Read visits (public organizations only)",
    "supports:read": "Read supports",
    "events:read": "Poll events and manage webhooks",
    "exports:read": "Stream exports",
}


def security_schemes() -> dict[str, Any]:
    from app.core.principal import INTEGRATION_SCOPES

    scopes = {name: SCOPE_DESCRIPTIONS.get(name, name) for name in INTEGRATION_SCOPES}
    return {
        "oauth2": {
            "type": "oauth2",
            "description": (
                "People log in with the password grant (the phone adds `device_id` and `device_name`); their "
                "tokens carry no scopes: what a person may do follows from the role, which the server checks. "
                "Integration clients use the client-credentials grant with scopes."
            ),
            "flows": {
                "password": {"tokenUrl": "/v1/auth/token", "refreshUrl": "/v1/auth/token", "scopes": {}},
                "clientCredentials": {"tokenUrl": "/v1/auth/token", "refreshUrl": "/v1/auth/token", "scopes": scopes},
            },
        }
    }


def _gates(call: Any) -> tuple[str | None, frozenset[Any] | None]:
    try:
        names = inspect.getclosurevars(call).nonlocals
    except (TypeError, ValueError):
        return None, None
    scope = names.get("scope")
    allowed = names.get("allowed")
    return (scope if isinstance(scope, str) else None), (allowed if isinstance(allowed, frozenset) else None)


def route_security(route: APIRoute) -> list[dict[str, list[str]]] | None:
    """The security requirement of a route from its gates (``app.access.gates``: ``role_gate``,
    ``Integration``): ``[]`` scopes for any token (the role is the server's business), the gate's scope for
    integration clients."""
    scopes: list[str] = []
    roles_too = False
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        stack.extend(dep.dependencies)
        if dep.call is None:
            continue
        scope, allowed = _gates(dep.call)
        if scope:
            scopes.append(scope)
            if allowed is not None:
                roles_too = roles_too or bool(allowed)
        elif allowed is not None and allowed:
            roles_too = True
    scopes = sorted(set(scopes) | set(SCOPE_OVERRIDES.get(operation_id(route), [])))
    if not scopes:
        return None
    requirement: list[dict[str, list[str]]] = [{"oauth2": scopes}]
    if roles_too:
        requirement.insert(0, {"oauth2": []})
    return requirement


def _secure(op: dict[str, Any], scopes: dict[str, list[dict[str, list[str]]]]) -> None:
    security = op.get("security")
    if not security:
        return
    if op.get("operationId") in scopes:
        op["security"] = scopes[op["operationId"]]
    else:
        op["security"] = [{"oauth2": []}]


def _close_pattern_maps(node: Any) -> None:
    """pydantic writes ``dict[PatternStr, X]`` as ``patternProperties`` only, which lets any other key pass; the
    server refuses a key that does not match (422), so the document says so (``additionalProperties: false``)."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_pattern_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_pattern_maps(value)


def _add_parameters(op: dict[str, Any], extra: list[dict[str, Any]]) -> None:
    params = op.setdefault("parameters", [])
    names = {(p.get("in"), p.get("name", "").lower()) for p in params}
    params.extend(dict(p) for p in extra if (p["in"], p["name"].lower()) not in names)
    if not params:
        op.pop("parameters")


def complete(
    doc: dict[str, Any],
    scopes: dict[str, list[dict[str, list[str]]]] | None = None,
    *,
    upload_max_bytes: int | None = None,
) -> dict[str, Any]:
    """Add the problem responses, schemas, security, servers and names to a document FastAPI generated."""
    if upload_max_bytes is None:
        from app.core.config import Settings

        upload_max_bytes = int(Settings.model_fields["upload_max_bytes"].default)
    components = doc.setdefault("components", {})
    components["securitySchemes"] = security_schemes()
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(PROBLEM_SCHEMAS)

    # Request bodies FastAPI names Body_<operationId>: name them for what they are.
    # …and pages Page_<item type>_: named by their items (VisitPage).
    rename = {name: _pascal(name.removeprefix("Body_")) + "Form" for name in schemas if name.startswith("Body_")}
    rename |= _page_renames(schemas)
    for old, new in rename.items():
        body = schemas.pop(old)
        body["title"] = new
        schemas[new] = body
    doc["components"]["schemas"] = schemas = dict(sorted(schemas.items()))
    if rename:
        doc["paths"] = _walk_refs(doc["paths"], rename)
        doc["components"]["schemas"] = schemas = _walk_refs(schemas, rename)

    seen: dict[str, str] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            op_id = op.get("operationId", "")
            if op_id in seen:
                raise RuntimeError(f"operationId {op_id!r} of {method} {path} is also {seen[op_id]}")
            seen[op_id] = f"{method} {path}"
            _secure(op, scopes or {})
            _describe_bodies(op)
            responses = op["responses"]
            omit = {int(c) for c in op.pop("x-ongi-omit-problems", [])}
            for code in omit:
                responses.pop(str(code), None)
            for code in sorted(_statuses(path, method, op, doc) - omit):
                existing = responses.get(str(code))
                if existing and _own_content(existing):
                    continue
                responses[str(code)] = _problem_response(code, existing)
            if path.startswith("/v1/uploads"):
                _add_parameters(op, tus_parameters(op_id, upload_max_bytes))
                if any(p["name"] == "Tus-Resumable" for p in op.get("parameters", [])) and "412" not in responses:
                    responses["412"] = _problem_response(412, {"description": TUS_RESUMABLE["description"]})
                if op_id == "overrideUploadMethod":  # it answers as the PATCH, DELETE or HEAD it stands for
                    for code in (400, 409, 410, 413, 415, 460):
                        responses.setdefault(str(code), _problem_response(code, None))
                if op_id in TUS_BODIES and "requestBody" not in op:
                    op["requestBody"] = {
                        "required": TUS_BODIES[op_id],
                        "description": "The file's bytes from Upload-Offset on",
                        "content": {"application/offset+octet-stream": {"schema": dict(_BINARY)}},
                    }
            elif "412" in responses:
                params = op.setdefault("parameters", [])
                if not any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in params):
                    params.append(dict(IF_MATCH_PARAMETER))
                if "428" in responses:  # the route refuses a write without If-Match
                    for p in params:
                        if p.get("in") == "header" and p.get("name", "").lower() == "if-match":
                            p["required"] = True
                            p["description"] = "Required: the record's `ETag` as last read (without it: 428)"
            op["responses"] = dict(sorted(responses.items(), key=lambda kv: kv[0]))
    _close_pattern_maps(doc["components"]["schemas"])
    doc["servers"] = [{"url": "/", "description": "This server"}]
    return doc


def _api_routes(app: FastAPI) -> list[Any]:
    """The app's API routes, also those of included routers (FastAPI 0.165 keeps them nested)."""
    from fastapi import routing

    iterate = getattr(routing, "iter_route_contexts", None)
    if iterate is None:
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [ctx for ctx in iterate(app.routes) if isinstance(ctx.original_route, APIRoute)]


DOCS_ASSETS_URL = "/docs/assets"


def install_docs(app: FastAPI, docs_url: str = "/docs") -> None:
    """Swagger UI at ``docs_url`` with its assets served by the app from the installed ``fastapi-offline``
    package (no CDN: the docs work on a network without internet)."""
    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=static), name="docs-assets")
    redirect_url = docs_url + "/oauth2-redirect"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def install(app: FastAPI, extend: Iterable[Callable[[dict[str, Any]], None]] = ()) -> None:
    """Make ``app.openapi()`` answer the completed document (built once, then cached)."""
    hooks = list(extend)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            for hook in hooks:
                hook(doc)
            scopes = {}
            for route in _api_routes(app):
                if route.include_in_schema:
                    requirement = route_security(route)
                    if requirement:
                        scopes[operation_id(route)] = requirement
            settings = getattr(getattr(app.state, "ongi", None), "settings", None)
            app.openapi_schema = complete(doc, scopes, upload_max_bytes=getattr(settings, "upload_max_bytes", None))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")


def is_camel(name: str) -> bool:
    return bool(_CAMEL.match(name))
