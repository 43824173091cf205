"""Serving a stored file over HTTP: ``ETag`` (its sha256), ``If-None-Match``, one ``Range`` and ``If-Range``
(RFC 9110), streamed from storage. Photos (:mod:`app.media.routes`) and signed consent forms use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from app.core.errors import Problem
from app.media.storage import ObjectMissing, Storage, StorageError

log = structlog.get_logger("ongi.media")


def _etag(sha256: str) -> str:
    return f'"{sha256}"'


def _matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range → (start, length); ``None`` to serve the whole file (no, several or malformed
    ranges: RFC 9110 lets a server ignore those). Raises 416 for a range outside the file."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    first, last = first.strip(), last.strip()
    if (first and not first.isdigit()) or (last and not last.isdigit()) or not (first or last):
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        start = max(0, size - suffix)
        return start, size - start
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    end = min(end, size - 1)
    return start, end - start + 1


def _unsatisfiable(size: int) -> Problem:
    return Problem(
        416,
        "range-not-satisfiable",
        "photos.range-not-satisfiable",
        params={"size": size},
        headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
    )


async def serve(
    request: Request,
    storage: Storage,
    *,
    key: str,
    size: int,
    sha256: str,
    content_type: str,
    filename: str,
) -> Response:
    etag = _etag(sha256)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    wanted = parse_range(request.headers.get("range"), size)
    if_range = request.headers.get("if-range")
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None
    start, length = wanted if wanted is not None else (0, size)
    chunks = storage.get_range(key, start, length)
    try:
        first = await anext(chunks, b"")
    except ObjectMissing as exc:
        log.error("photo_content_missing", key=key)
        raise Problem(500, "internal", "photos.content-missing") from exc
    except StorageError as exc:
        raise Problem(503, "unavailable", "uploads.storage-unavailable", headers={"Retry-After": "5"}) from exc

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    headers["Content-Length"] = str(length)
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
        return StreamingResponse(body(), status_code=206, media_type=content_type, headers=headers)
    return StreamingResponse(body(), status_code=200, media_type=content_type, headers=headers)
