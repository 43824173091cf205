"""Streaming exports of visits, supports and campaign summaries (DESIGN §6), as NDJSON or CSV.

An export pages through the database by an immutable key (``created_at``, ``id``), a page at a time, each
page in a short transaction of its own (the request's session has closed by the time the body streams):
a slow reader never holds a transaction open, every row that existed when the export started is sent
exactly once, and memory stays bounded by one page. Each page is scoped by the access policy and shaped by
the owning domain's view function (the same redaction as the REST API), and audited (one event per record
with its household) before it is sent.

Who may export: coordinators (their jurisdiction), and integration clients holding ``exports:read`` plus
the read scope of the kind (``visits:read``, ``supports:read``). Campaign summaries are for coordinators
(the campaign summary itself is).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import codes_clause, visit_filter
from app.audit import service as audit
from app.auth.models import Role
from app.auth.principal import Principal
from app.core.db import open_session
from app.core.errors import Problem
from app.core.i18n import t
from app.core.state import AppState
from app.core.times import rfc3339

PAGE_SIZE = 500
KINDS = ("visits", "supports", "campaign-summaries")
FORMATS = ("ndjson", "csv")
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
#: The scope an integration client needs, besides exports:read, for each kind (None: not for clients).
KIND_SCOPES: dict[str, str | None] = {"visits": "visits:read", "supports": "supports:read", "campaign-summaries": None}


def field_problem(field: str, key: str, **params: Any) -> Problem:
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": 1},
        extra={"errors": [{"field": field, "code": "value_error", "message": t(key, **params)}]},
    )


# --- filters ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    dong_code: str | None = None
    status: str | None = None
    campaign_id: uuid.UUID | None = None

    def describe(self) -> dict[str, Any]:
        """For the audit trail: codes and bounds only."""
        return {
            k: (rfc3339(v) if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v)
            for k, v in (
                ("from", self.start),
                ("to", self.end),
                ("dong_code", self.dong_code),
                ("status", self.status),
                ("campaign_id", self.campaign_id),
            )
            if v is not None
        }


def parse_bound(value: str | None, *, field: str, end: bool, tz: Any) -> datetime | None:
    """A date (the whole day in the service's time zone; ``to`` inclusive) or an RFC 3339 date-time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=tz)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise field_problem(field, "exports.bad-bound") from exc
    if parsed.tzinfo is None:
        raise field_problem(field, "exports.bad-bound")
    return parsed


# --- who may export what ---------------------------------------------------------------------------------------


def check_allowed(principal: Principal, kind: str) -> None:
    """403 for roles that never export, and for clients without the scopes of this kind."""
    if principal.role == Role.coordinator:
        return
    if principal.role == Role.integration:
        needed = ["exports:read"]
        extra = KIND_SCOPES[kind]
        if extra is None:
            raise Problem(403, "forbidden", "exports.coordinators-only", params={"kind": kind})
        needed.append(extra)
        missing = [s for s in needed if s not in principal.scopes]
        if missing:
            raise Problem(403, "forbidden", "detail.scope-forbidden", params={"scope": " ".join(missing)})
        return
    raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "coordinator, integration"})


# --- kinds -----------------------------------------------------------------------------------------------------


@dataclass
class Kind:
    name: str
    columns: list[str]
    #: One page after ``after`` (created_at, id): rows to send, the new ``after``, and audit items.
    page: Callable[..., Any]
    statuses: tuple[str, ...] = ()
    #: The page function writes (campaign summaries audit themselves): read it in a writing transaction.
    writes: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


VISIT_COLUMNS = [
    "id",
    "version",
    "household_id",
    "facility_id",
    "dong_code",
    "purpose",
    "status",
    "window_start",
    "window_end",
    "assignees",
    "campaign_id",
    "checklists",
    "outcome",
    "checked_in_at",
    "checked_out_at",
    "overdue",
    "cancel_reason",
    "created_at",
    "updated_at",
]


def _after_clause(created_col: Any, id_col: Any, after: tuple[datetime, uuid.UUID] | None) -> Any:
    if after is None:
        return true()
    return or_(created_col > after[0], and_(created_col == after[0], id_col > after[1]))


async def _visits_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    from app.visits.models import Visit
    from app.visits.service import visit_views

    stmt = select(Visit).where(
        Visit.deleted_at.is_(None), visit_filter(principal), _after_clause(Visit.created_at, Visit.id, after)
    )
    if filters.start is not None:
        stmt = stmt.where(Visit.window_start >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Visit.window_start < filters.end)
    if filters.dong_code:
        stmt = stmt.where(codes_clause(Visit.dong_code, [filters.dong_code]))
    if filters.status:
        stmt = stmt.where(Visit.status == filters.status)
    if filters.campaign_id:
        stmt = stmt.where(Visit.campaign_id == filters.campaign_id)
    visits = list((await session.execute(stmt.order_by(Visit.created_at, Visit.id).limit(limit))).scalars())
    if not visits:
        return [], None, []
    views = await visit_views(session, principal, visits)
    rows = []
    items = []
    for visit, view in zip(visits, views, strict=True):
        data = view.model_dump(mode="json", exclude={"team", "view"})
        rows.append({c: data.get(c) for c in VISIT_COLUMNS})
        if visit.household_id is not None and data.get("household_id") is not None:
            items.append((visit.id, visit.household_id))
    return rows, (visits[-1].created_at, visits[-1].id), items


SUPPORT_COLUMNS = [
    "id",
    "version",
    "household_id",
    "resource_id",
    "resource_name",
    "resource_kind",
    "category",
    "case_id",
    "visit_id",
    "district_code",
    "dong_code",
    "status",
    "amount",
    "period_start",
    "period_end",
    "provider_organization_id",
    "reason",
    "status_changed_at",
    "requested_at",
    "approved_at",
    "provided_at",
    "declined_at",
    "decline_reason",
    "created_at",
    "updated_at",
]


async def _supports_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    from app.care.models import Support
    from app.care.supports import support_view, to_public_many

    view = await support_view(session, principal)
    stmt = select(Support).where(view.clause, _after_clause(Support.created_at, Support.id, after))
    if filters.start is not None:
        stmt = stmt.where(Support.created_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Support.created_at < filters.end)
    if filters.dong_code:
        stmt = stmt.where(codes_clause(Support.dong_code, [filters.dong_code]))
    if filters.status:
        stmt = stmt.where(Support.status == filters.status)
    supports = list((await session.execute(stmt.order_by(Support.created_at, Support.id).limit(limit))).scalars())
    if not supports:
        return [], None, []
    views = await to_public_many(session, principal, supports, view)
    rows = []
    for pub in views:
        data = pub.model_dump(mode="json")
        rows.append({c: data.get(c) for c in SUPPORT_COLUMNS})
    items = [(s.id, s.household_id) for s in supports]
    return rows, (supports[-1].created_at, supports[-1].id), items


CAMPAIGN_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "starts_on",
    "ends_on",
    "as_of",
    "dimension",
    "key",
    "identified",
    "visited",
    "supported",
    "monitored",
    "visits_completed",
    "facilities_inspected",
    "supports",
]


async def _campaigns_page(
    session: AsyncSession,
    principal: Principal,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[datetime, uuid.UUID] | None, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    """A few campaigns per page (a summary is computed for each): rows ``total``, then one per dong and one
    per source (``dimension``/``key``). Aggregates only; ``summarize`` audits each summary."""
    from app.care.campaigns import summarize, visible
    from app.care.models import Campaign

    stmt = select(Campaign).where(_after_clause(Campaign.created_at, Campaign.id, after))
    if filters.start is not None:
        stmt = stmt.where(Campaign.ends_on >= filters.start.date())
    if filters.end is not None:
        stmt = stmt.where(Campaign.starts_on < filters.end.date() + timedelta(days=1))
    if filters.status:
        stmt = stmt.where(Campaign.active.is_(filters.status == "active"))
    if filters.campaign_id:
        stmt = stmt.where(Campaign.id == filters.campaign_id)
    campaigns = list(
        (await session.execute(stmt.order_by(Campaign.created_at, Campaign.id).limit(max(1, limit // 25)))).scalars()
    )
    if not campaigns:
        return [], None, []
    rows: list[dict[str, Any]] = []
    for campaign in campaigns:
        if not visible(principal, campaign):
            continue
        summary = await summarize(session, principal, campaign)
        base = {
            "campaign_id": str(campaign.id),
            "campaign_name": campaign.name,
            "starts_on": summary.starts_on.isoformat(),
            "ends_on": summary.ends_on.isoformat(),
            "as_of": summary.as_of.isoformat(),
        }
        groups: list[tuple[str, str, dict[str, Any]]] = []
        if not filters.dong_code:
            extra = {
                "visits_completed": summary.visits_completed,
                "facilities_inspected": summary.facilities_inspected,
                "supports": summary.supports,
            }
            groups.append(("total", "", {**summary.totals.model_dump(), **extra}))
        for d in summary.by_dong:
            if filters.dong_code and not d.dong_code.startswith(filters.dong_code):
                continue
            groups.append(("dong", d.dong_code, d.model_dump(exclude={"dong_code"})))
        if not filters.dong_code:
            groups.extend(("source", s.source, s.model_dump(exclude={"source"})) for s in summary.by_source)
        for dimension, key, counts in groups:
            row = dict.fromkeys(CAMPAIGN_COLUMNS)
            row.update(base)
            row.update({"dimension": dimension, "key": key, **counts})
            rows.append(row)
    return rows, (campaigns[-1].created_at, campaigns[-1].id), []


KIND_DEFS: dict[str, Kind] = {
    "visits": Kind(
        "visits",
        VISIT_COLUMNS,
        _visits_page,
        statuses=("scheduled", "in_progress", "completed", "no_contact", "refused", "cancelled"),
    ),
    "supports": Kind(
        "supports",
        SUPPORT_COLUMNS,
        _supports_page,
        statuses=("proposed", "requested", "approved", "provided", "declined"),
    ),
    "campaign-summaries": Kind(
        "campaign-summaries", CAMPAIGN_COLUMNS, _campaigns_page, statuses=("active", "inactive"), writes=True
    ),
}


def available(kind: str) -> bool:
    """Whether the tables the kind reads exist in this build (supports and campaigns come from app.care)."""
    try:
        if kind == "supports":
            import app.care.supports
        elif kind == "campaign-summaries":
            import app.care.campaigns
        else:
            import app.visits.service  # noqa: F401
    except ImportError:
        return False
    return True


# --- writers ---------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """One CSV cell: lists of scalars joined by ``;``, other structures as JSON; text that a spreadsheet
    would run as a formula is prefixed with ``'`` (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        value = ";".join(str(v) for v in value)
    elif isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_chunk(rows: list[dict[str, Any]], columns: list[str], header: bool) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue().encode()


def ndjson_chunk(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows).encode()


async def stream_export(
    state: AppState,
    principal: Principal,
    kind: str,
    fmt: str,
    filters: Filters,
    *,
    export_id: uuid.UUID,
    bom: bool = False,
    page_size: int | None = None,
    reason: str | None = None,
) -> AsyncIterator[bytes]:
    """The export's body, a page at a time. Each page is read and redacted in a short read transaction, then
    audited in a short writing one (so SQLite's single write lock is held only for the audit rows), and
    only then sent."""
    spec = KIND_DEFS[kind]
    limit = page_size or PAGE_SIZE
    after: tuple[datetime, uuid.UUID] | None = None
    if fmt == "csv":
        yield (b"\xef\xbb\xbf" if bom else b"") + csv_chunk([], spec.columns, header=True)
    for _ in range(10_000_000):  # bounded: one round per page
        async with open_session(state.sessionmaker, write=spec.writes) as session:
            rows, after, items = await spec.page(session, principal, filters, after, limit)
        if items:
            async with open_session(state.sessionmaker, write=True) as session:
                await audit.record_many(
                    session,
                    principal,
                    "export.read",
                    entity="visit" if kind == "visits" else "support",
                    items=items,
                    purpose=reason,
                    details={"export_id": str(export_id), "kind": kind},
                )
        if rows:
            yield csv_chunk(rows, spec.columns, header=False) if fmt == "csv" else ndjson_chunk(rows)
        if after is None:
            return


#: The request header that carries why personal data is downloaded (DESIGN §3.6; docs/integrations.md).
REASON_HEADER = "Ongi-Reason"


def download_reason(raw: str | None) -> str:
    """The reason a download of personal data gives (``Ongi-Reason``: UTF-8, percent-encoded, since header
    values are Latin-1), or a 422 naming ``header.ongi-reason``. Never in the URL: URLs end up in logs."""
    from urllib.parse import unquote

    text = " ".join(unquote(raw or "", errors="strict").split()) if raw else ""
    if not 2 <= len(text) <= 500 or any(ord(c) < 32 for c in text):
        raise field_problem("header.ongi-reason", "exports.reason-required")
    return text
