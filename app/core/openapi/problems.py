"""The error responses of the document: the RFC 9457 ``Problem`` and ``ValidationProblem`` schemas, what each
status means, and which statuses an operation can answer (docs/api.md).

Every operation answers each error status it can as ``application/problem+json``: 401 (with ``wipe`` for a
revoked device) and 403 for authenticated operations, 404 for records named in the path, 422 for parameters and
bodies, 413 for bodies, 429/503 with ``Retry-After``, 500 everywhere. Routes declare the extra statuses only they
can answer with :func:`app.core.http.problems`.
"""

from __future__ import annotations

from typing import Any

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


def problem_ref(code: int) -> str:
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


def _has_security(op: dict[str, Any], doc: dict[str, Any]) -> bool:
    sec = op.get("security", doc.get("security")) or []
    return bool(sec) and any(req for req in sec)


def statuses(path: str, method: str, op: dict[str, Any], doc: dict[str, Any]) -> set[int]:
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


def own_content(response: dict[str, Any]) -> bool:
    """A route's own error body that is not a problem (the OAuth2 token endpoint's RFC 6749 errors)."""
    content = response.get("content") or {}
    return any(
        media != PROBLEM_MEDIA_TYPE and (body or {}).get("schema") and "HTTPValidationError" not in str(body["schema"])
        for media, body in content.items()
    )


def problem_response(code: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": (existing or {}).get("description") or DESCRIPTIONS.get(code, "Error")}
    # FastAPI's own default texts say nothing: prefer ours.
    if response["description"] in {"Validation Error", "Successful Response", "Error"}:
        response["description"] = DESCRIPTIONS.get(code, "Error")
    schema: dict[str, Any] = {"$ref": problem_ref(code)}
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
