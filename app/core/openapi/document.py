"""The document FastAPI generates, completed: problem responses and schemas, security, servers, names, the tus
headers, binary and line-format bodies (docs/api.md). :func:`install` makes ``app.openapi()`` answer it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.core.openapi.names import operation_id, page_renames, pascal, walk_refs
from app.core.openapi.problems import IF_MATCH_PARAMETER, PROBLEM_SCHEMAS, own_content, problem_response, statuses
from app.core.openapi.security import route_security, secure, security_schemes
from app.core.openapi.tus import TUS_BODIES, TUS_RESUMABLE, tus_parameters

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
    rename = {name: pascal(name.removeprefix("Body_")) + "Form" for name in schemas if name.startswith("Body_")}
    rename |= page_renames(schemas)
    for old, new in rename.items():
        body = schemas.pop(old)
        body["title"] = new
        schemas[new] = body
    doc["components"]["schemas"] = schemas = dict(sorted(schemas.items()))
    if rename:
        doc["paths"] = walk_refs(doc["paths"], rename)
        doc["components"]["schemas"] = schemas = walk_refs(schemas, rename)

    seen: dict[str, str] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            op_id = op.get("operationId", "")
            if op_id in seen:
                raise RuntimeError(f"operationId {op_id!r} of {method} {path} is also {seen[op_id]}")
            seen[op_id] = f"{method} {path}"
            secure(op, scopes or {})
            _describe_bodies(op)
            responses = op["responses"]
            omit = {int(c) for c in op.pop("x-ongi-omit-problems", [])}
            for code in omit:
                responses.pop(str(code), None)
            for code in sorted(statuses(path, method, op, doc) - omit):
                existing = responses.get(str(code))
                if existing and own_content(existing):
                    continue
                responses[str(code)] = problem_response(code, existing)
            if path.startswith("/v1/uploads"):
                _add_parameters(op, tus_parameters(op_id, upload_max_bytes))
                if any(p["name"] == "Tus-Resumable" for p in op.get("parameters", [])) and "412" not in responses:
                    responses["412"] = problem_response(412, {"description": TUS_RESUMABLE["description"]})
                if op_id == "overrideUploadMethod":  # it answers as the PATCH, DELETE or HEAD it stands for
                    for code in (400, 409, 410, 413, 415, 460):
                        responses.setdefault(str(code), problem_response(code, None))
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
