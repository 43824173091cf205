"""``ETag`` on single records, ``If-Match`` on updates, ``If-None-Match`` on reads (docs/api.md, RFC 9110 §13).

A route names the record's version with :func:`set_etag`; :class:`RepresentationETag` (installed in
``create_app``) then makes the tag name the representation the caller got: ``"v4-<digest of the body>"``.
A redacted view and the full one, or the Korean and the English one, of version 4 have different tags, and
``Vary: Accept-Language, Authorization`` says so to caches. A GET whose ``If-None-Match`` names the tag it
would get answers 304.

``If-Match`` (:func:`check_if_match`) compares strongly: a weak tag (``W/"…"``) never matches; a strong tag
matches when it names the record's current version, whichever view or language it was read in (each is
the same state of the record).

:func:`problems` is the one way a route declares, for the OpenAPI document, the error statuses only it can
answer (``app.core.openapi`` derives the rest).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import PROBLEM_MEDIA_TYPE, Problem
from app.core.openapi.problems import DESCRIPTIONS, problem_ref

#: What :func:`set_etag` writes and the middleware completes.
_VERSION_TAG = re.compile(r'^"v(\d+)"$')
#: A strong tag that names a version, with or without the representation digest.
_STRONG_VERSION = re.compile(r'^"v(\d+)(?:-[0-9a-f]+)?"$')

VARY = ("Accept-Language", "Authorization")


def etag_for(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def version_of(tag: str) -> int | None:
    """The version a strong tag names (``"v4"`` or ``"v4-…"``); ``None`` for weak or foreign tags."""
    match = _STRONG_VERSION.match(tag)
    return int(match.group(1)) if match else None


def check_if_match(request: Request, version: int) -> None:
    """412 when ``If-Match`` names no strong tag of the current version. Absent means the caller accepts
    last-writer-wins."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags = _tags(header)
    if "*" in tags or any(version_of(tag) == version for tag in tags):
        return
    raise Problem(412, "precondition-failed", "detail.precondition-failed", params={"etag": etag_for(version)})


def representation_tag(version_tag: str, body: bytes) -> str:
    return f'{version_tag[:-1]}-{hashlib.sha256(body).hexdigest()[:16]}"'


def none_match(header: str, tag: str) -> bool:
    """``If-None-Match`` compares weakly (RFC 9110 §13.1.2)."""
    tags = [t.removeprefix("W/") for t in _tags(header)]
    return "*" in tags or tag in tags


def _merge_vary(headers: MutableHeaders) -> None:
    present = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    for name in VARY:
        if name.lower() not in lowered:
            present.append(name)
    headers["Vary"] = ", ".join(present)


class RepresentationETag:
    """Completes ``"v<version>"`` tags with a digest of the body, adds ``Vary`` and answers 304 to a GET or
    HEAD whose ``If-None-Match`` names the tag. Other responses pass through untouched and unbuffered
    (single records are small; streams such as photo content carry their own tags)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if_none_match = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"if-none-match"), None)
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _merge_vary(headers)
                tag = headers.get("etag")
                if tag is None or not _VERSION_TAG.match(tag) or not 200 <= message["status"] < 300:
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(scope=start)
            tag = representation_tag(headers["etag"], body)
            headers["ETag"] = tag
            if method in ("GET", "HEAD") and if_none_match is not None and none_match(if_none_match, tag):
                not_modified = MutableHeaders()
                for name in ("etag", "vary", "cache-control", "x-request-id", "content-location"):
                    if name in headers:
                        not_modified[name] = headers[name]
                await send({"type": "http.response.start", "status": 304, "headers": not_modified.raw})
                await send({"type": "http.response.body", "body": b""})
                return
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)


# --- the OpenAPI responses of a route -------------------------------------------------------------------------

#: The error statuses of the case-work routes (resources, supports, cases, monitoring, campaigns), one text each
#: for all five: ``problems(403, 404, texts=CASEWORK_TEXTS)``.
CASEWORK_TEXTS: Mapping[int, str] = {
    403: "Your role can never do this (or you are not the approver, manager or coordinator it needs)",
    404: "No such record, or not visible to you",
    409: "Not allowed from the current status or stage (`allowed` lists the moves), exhausted, or a duplicate "
    "(`possible-duplicate-support` names the overlapping supports in `duplicates`: resend with confirm: true)",
    412: "If-Match does not match the current version",
    422: "Invalid input (field errors in `errors`)",
}


def problems(
    *codes: int, texts: Mapping[int, str] | None = None, **descriptions: str
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the statuses a route can answer beyond those derived centrally.

    ``problems(409, 412)``; a router's own texts per status as ``problems(403, 404, texts=_TEXT)``; one
    description as ``problems(409, s409="Already closed")`` (it wins over ``texts``).
    """
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        text = descriptions.get(f"s{code}") or (texts or {}).get(code) or DESCRIPTIONS.get(code, "Error")
        out[code] = {"description": text, "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": problem_ref(code)}}}}
    return out
