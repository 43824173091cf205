"""Helpers for tests/api/test_security_fuzz.py: schemathesis cases generated from the app's own OpenAPI document,
sent in-process through httpx (inside the per-test rolled-back transaction) and judged by schemathesis'
checks plus ours. No tests here.

Schemathesis' own runner calls an ASGI app through a synchronous client on another event loop, which cannot
share the test's database connection (the outer transaction every test rolls back). So schemathesis only
*generates* the cases (hypothesis, derandomized, bounded) and *validates* the responses; the requests go
through the test's own ``httpx.AsyncClient``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)
from schemathesis.core.failures import FailureGroup

#: Generated cases per operation and mode. Small: the point is breadth (every operation, every role).
POSITIVE_EXAMPLES = 2
NEGATIVE_EXAMPLES = 2

#: What a response must never show: a traceback, an exception's class name, a database driver's name.
LEAK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+"
    r"|\b[A-Z][A-Za-z]*(?:Error|Exception)\b"
    r"|\b(?:sqlalchemy|asyncpg|aiosqlite|psycopg)\b",
)
#: Problem documents are the only acceptable undocumented answers (and then only 4xx).
PROBLEM_JSON = "application/problem+json"


@dataclass
class Generated:
    cases: list[Any]
    #: operation label → why no case could be generated
    skipped: dict[str, str] = field(default_factory=dict)
    operations: int = 0


_CACHE: dict[str, Generated] = {}


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """``POST /v1/integrations/households:bulk`` documents its body as a string of JSON lines."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list):
        return "\n".join(json.dumps(v) for v in value).encode()
    return json.dumps(value).encode()


@schemathesis.serializer("application/offset+octet-stream")
def _tus_chunk(ctx: Any, value: Any) -> bytes:
    """A tus chunk (``PATCH /v1/uploads/{id}``, creation-with-upload): the generated value as raw bytes."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


def label(op: Any) -> str:
    return f"{op.method.upper()} {op.path}"


def _collect(op: Any, mode: GenerationMode, n: int) -> list[Any]:
    out: list[Any] = []

    @given(op.as_strategy(generation_mode=mode))
    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def run(case: Any) -> None:
        out.append(case)

    run()
    return out


def generate(doc: dict[str, Any]) -> Generated:
    """Cases for every operation of ``doc`` (cached per document: both databases' runs share the app's
    document, and generation is the slow part)."""
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    if key in _CACHE:
        return _CACHE[key]
    schema = schemathesis.openapi.from_dict(doc)
    result = Generated(cases=[])
    for item in schema.get_all_operations():
        op = item.ok()
        result.operations += 1
        for mode, n in ((GenerationMode.POSITIVE, POSITIVE_EXAMPLES), (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)):
            try:
                result.cases.extend(_collect(op, mode, n))
            except Exception as exc:  # generation limits: nothing to negate, unknown media types
                if mode == GenerationMode.POSITIVE:
                    result.skipped[label(op)] = type(exc).__name__
    _CACHE[key] = result
    return result


def with_path_ids(case: Any, ids: dict[str, uuid.UUID]) -> Any:
    """A copy of ``case`` whose UUID path parameters name real records where the world has one."""
    params = dict(case.path_parameters or {})
    changed = False
    for name in params:
        if name in ids:
            params[name] = str(ids[name])
            changed = True
    if not changed:
        return None
    clone = case.derive()
    clone.path_parameters = params
    return clone


def _as_bytes(content: Any) -> Any:
    return content if isinstance(content, (bytes, str)) or hasattr(content, "read") else str(content).encode()


def _file_part(part: Any) -> Any:
    """A multipart part as httpx takes it: generated contents that are no bytes (``0``) go as their text."""
    name, value = part
    if isinstance(value, tuple):
        return (name, (value[0], _as_bytes(value[1]), *value[2:]))
    return (name, _as_bytes(value))


async def send(client: httpx.AsyncClient, case: Any, token: str) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"}
    headers["Authorization"] = f"Bearer {token}"
    request: dict[str, Any] = {"headers": headers, "params": kwargs.get("params") or None}
    if "json" in kwargs:
        request["content"] = json.dumps(kwargs["json"]).encode()
    elif "data" in kwargs:
        request["data" if isinstance(kwargs["data"], dict) else "content"] = kwargs["data"]
    elif "content" in kwargs:
        request["content"] = kwargs["content"]
    if kwargs.get("files"):
        request["files"] = [_file_part(part) for part in kwargs["files"]]
    if kwargs.get("cookies"):
        client.cookies.clear()
        for k, v in kwargs["cookies"].items():
            client.cookies.set(k, v)
    try:
        response = await client.request(kwargs["method"], kwargs["url"], **request)
    finally:
        client.cookies.clear()
    if request.get("files"):
        response.request.read()  # a multipart body is streamed: read it (in memory) so that checks can see it
    return response


def documented_statuses(op: Any) -> set[str]:
    return {str(code).upper() for code in (op.definition.raw.get("responses") or {})}


def is_documented(status: int, documented: set[str]) -> bool:
    return str(status) in documented or f"{str(status)[0]}XX" in documented or "DEFAULT" in documented


def _oauth_error(case: Any, status: int, content_type: str, response: httpx.Response) -> bool:
    """The token endpoint answers its own errors as RFC 6749 §5.2 says (JSON with ``error``), not problems."""
    if case.operation.path != "/v1/auth/token" or status not in (400, 401) or content_type != "application/json":
        return False
    body = response.json()
    return isinstance(body, dict) and isinstance(body.get("error"), str)


def judge(case: Any, response: httpx.Response, *, positive: bool) -> list[str]:
    """Everything wrong with ``response``; empty when it is fine."""
    problems: list[str] = []
    status = response.status_code
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if status >= 500:
        problems.append(f"server error {status}: {response.text[:500]}")
    textual = content_type.startswith(("text/", "application/")) and "octet-stream" not in content_type
    if textual and response.content:
        found = LEAK.search(response.text)
        if found:
            problems.append(f"leak {found.group(0)!r} in body: {response.text[:300]}")
    documented = documented_statuses(case.operation)
    problem_doc = 400 <= status < 500 and content_type == PROBLEM_JSON
    if problem_doc:
        # Every 4xx answers RFC 9457 (problem+json), whatever FastAPI's default 422 entry documents.
        body = response.json() if response.content else {"status": status, "type": "", "title": ""}
        if not (isinstance(body, dict) and body.get("status") == status and {"type", "title"} <= body.keys()):
            problems.append(f"malformed problem document for {status}: {response.text[:300]}")
    elif not is_documented(status, documented):
        problems.append(f"undocumented status {status} ({content_type or 'no content type'})")
    elif 400 <= status < 500 and response.content and not _oauth_error(case, status, content_type, response):
        problems.append(f"error {status} is {content_type}, not {PROBLEM_JSON}")
    checks = [not_a_server_error]
    if is_documented(status, documented) and not problem_doc and status != 304:
        checks += [content_type_conformance, response_headers_conformance]
        if positive or status < 400:
            checks.append(response_schema_conformance)
    try:
        case.validate_response(response, checks=checks)
    except FailureGroup as exc:
        problems.append(f"schemathesis: {str(exc).strip()[:800]}")
    return problems
