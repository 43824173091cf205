"""``GET /v1/exports/{kind}``: households, visits, supports and campaign summaries as streaming NDJSON (for
machines), CSV or XLSX (for people: names instead of ids) (§6; issue 18, item 6)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from app.access import exports as access
from app.audit.reason import REASON_HEADER, download_reason
from app.auth.deps import CurrentPrincipal
from app.core import tabular
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import FieldInvalid, Problem
from app.exports import messages as _messages  # noqa: F401 - registers the messages
from app.exports.filters import Filters, parse_bound
from app.exports.kinds import KIND_DEFS, available
from app.exports.service import MEDIA_TYPES, stream_export
from app.journal import audit

router = APIRouter(tags=["exports"])

ExportKind = Literal["households", "visits", "supports", "campaign-summaries"]


def negotiate(fmt: str | None, accept: str | None) -> str:
    """``?format=`` wins; else the best of NDJSON, CSV and XLSX that ``Accept`` names; else NDJSON."""
    return tabular.negotiate(fmt, accept, offers=("ndjson", "csv", "xlsx"), default="ndjson")


@router.get(
    "/v1/exports/{kind}",
    summary="Export households, visits, supports or campaign summaries (streaming NDJSON, CSV or XLSX)",
    description="NDJSON: one record per line with its fields and ids. CSV (UTF-8 with a byte order mark) and "
    "XLSX: a header row in your language, then one row per record with names of dongs, resources, providers, "
    "workers and campaigns instead of ids. Households are redacted as REST lists them (never a registration "
    "number nor another sensitive field). Every download gives its reason in `Ongi-Reason` and is audited "
    "(the start, and each record sent with its household).",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One record per line (NDJSON) or per row (CSV or XLSX, with a header row)",
            "content": {"application/x-ndjson": {}, "text/csv": {}, tabular.XLSX_MEDIA_TYPE: {}},
        },
        401: {"description": "No valid token"},
        403: {
            "description": "Not a coordinator, or a client without exports:read and the kind's read scope "
            "(households:read, visits:read, supports:read)"
        },
        406: {"description": "Accept names no format we have"},
        422: {"description": "Invalid filter, or no Ongi-Reason header"},
    },
)
async def export(
    kind: ExportKind,
    request: Request,
    principal: CurrentPrincipal,
    state: StateDep,
    session: SessionDep,
    format: Annotated[Literal["ndjson", "csv", "xlsx"] | None, Query(description="Overrides Accept")] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="From this date (YYYY-MM-DD, service time zone) or date-time")
    ] = None,
    to: Annotated[str | None, Query(description="To this date (inclusive) or date-time (exclusive)")] = None,
    dong_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$", description="District or dong code (prefix)")] = None,
    status: Annotated[str | None, Query(max_length=32, description="Status of the kind's records")] = None,
    campaign_id: Annotated[uuid.UUID | None, Query(description="Visits of, or the summary of, one campaign")] = None,
    bom: Annotated[
        bool, Query(description="CSV: start with a UTF-8 byte order mark (Excel needs it to read Korean)")
    ] = True,
    ongi_reason: Annotated[
        str | None,
        Header(
            alias=REASON_HEADER,
            max_length=1600,
            description="Why personal data is downloaded (required; UTF-8, percent-encoded, 2-500 characters). "
            "Audited with every record sent.",
        ),
    ] = None,
) -> StreamingResponse:
    access.require_exporter(principal, kind)
    reason = download_reason(ongi_reason)
    if not available(kind):
        raise Problem(501, "not-implemented", "exports.unavailable", params={"kind": kind})
    fmt = negotiate(format, request.headers.get("accept"))
    tz = state.settings.tz
    filters = Filters(
        start=parse_bound(from_, field="query.from", end=False, tz=tz),
        end=parse_bound(to, field="query.to", end=True, tz=tz),
        dong_code=dong_code,
        status=status,
        campaign_id=campaign_id,
    )
    spec = KIND_DEFS[kind]
    if status is not None and status not in spec.statuses:
        raise FieldInvalid.one("query.status", "exports.bad-status", allowed=", ".join(spec.statuses))
    export_id = uuid.uuid4()
    details: dict[str, Any] = {"export_id": str(export_id), "kind": kind, "format": fmt, **filters.describe()}
    await audit.record(
        session, principal, "export.start", entity="export", entity_id=export_id, purpose=reason, details=details
    )
    stamp = utcnow().astimezone(tz).strftime("%Y%m%dT%H%M")
    filename = f"ongi-{kind}-{stamp}.{tabular.EXTENSIONS[fmt]}"
    return StreamingResponse(
        stream_export(
            state, principal, kind, fmt, filters, export_id=export_id, bom=bom and fmt == "csv", reason=reason
        ),
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Export-Id": str(export_id),
        },
    )
