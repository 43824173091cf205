"""``ETag`` on single records and ``If-Match`` on updates (DESIGN §7)."""

from __future__ import annotations

from fastapi import Request, Response

from app.core.errors import Problem


def etag_for(version: int) -> str:
    return f'"v{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


def check_if_match(request: Request, version: int) -> None:
    """412 when ``If-Match`` names another version. Absent means the caller accepts last-writer-wins."""
    header = request.headers.get("if-match")
    if header is None:
        return
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" in wanted or etag_for(version) in wanted:
        return
    raise Problem(412, "precondition-failed", "detail.precondition-failed", params={"etag": etag_for(version)})
