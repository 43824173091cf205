"""Audit events after the fact: classification, retention, the monthly summary and review flags (recording
them, in the transaction of the access they record, is :mod:`app.journal.audit`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.core.db import utcnow

# --- classification, queries, retention ----------------------------------------------------------------------

#: The last segment of an action names how it touched the data: reads send data out, reveals decrypt a
#: registration number, everything else on a household is a write. (``sync.pull`` sends households to a
#: device; ``export`` streams them.)
READ_VERBS = frozenset({"read", "list", "pull", "export", "download", "view", "search"})
REVEAL_VERBS = frozenset({"reveal"})


def action_kind(action: str) -> str:
    """``read`` | ``reveal`` | ``write`` for an action name such as ``household.read``."""
    verb = action.rsplit(".", 1)[-1]
    if verb in REVEAL_VERBS:
        return "reveal"
    if verb in READ_VERBS:
        return "read"
    return "write"


async def purge_expired(session: AsyncSession, settings: Any, *, now: Any = None) -> int:
    """Delete audit events older than ``settings.audit_retention_days`` (docs/operations.md, Retention: two years by
    default). Returns how many were deleted. Run it daily (the CLI / worker calls it and commits)."""
    from datetime import timedelta

    from sqlalchemy import delete

    cutoff = (now or utcnow()) - timedelta(days=int(settings.audit_retention_days))
    result = await session.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


async def monthly_summary(
    session: AsyncSession, organization_ids: list[uuid.UUID], start: Any, end: Any
) -> dict[uuid.UUID, dict[str, Any]]:
    """Per actor of ``organization_ids``, between ``start`` and ``end``: household reads, writes and reveals
    (events that name a household and succeeded), distinct households, and denied attempts."""
    from sqlalchemy import func, select

    if not organization_ids:
        return {}
    scope = (
        AuditEvent.organization_id.in_(organization_ids),
        AuditEvent.actor_id.is_not(None),
        AuditEvent.at >= start,
        AuditEvent.at < end,
    )
    out: dict[uuid.UUID, dict[str, Any]] = {}

    def entry(actor: uuid.UUID) -> dict[str, Any]:
        return out.setdefault(
            actor,
            {
                "household_reads": 0,
                "household_writes": 0,
                "reveals": 0,
                "distinct_households": 0,
                "denied": 0,
                "events": 0,
                "first_at": None,
                "last_at": None,
            },
        )

    rows = await session.execute(
        select(
            AuditEvent.actor_id,
            AuditEvent.action,
            AuditEvent.result,
            AuditEvent.household_id.is_not(None),
            func.count(),
            func.min(AuditEvent.at),
            func.max(AuditEvent.at),
        )
        .where(*scope)
        .group_by(AuditEvent.actor_id, AuditEvent.action, AuditEvent.result, AuditEvent.household_id.is_not(None))
    )
    for actor, action, result, has_household, count, first, last in rows:
        e = entry(actor)
        e["events"] += count
        e["first_at"] = first if e["first_at"] is None or first < e["first_at"] else e["first_at"]
        e["last_at"] = last if e["last_at"] is None or last > e["last_at"] else e["last_at"]
        if result == "denied":
            e["denied"] += count
            continue
        if not has_household or result != "ok":
            continue
        kind = action_kind(action)
        e["reveals" if kind == "reveal" else "household_reads" if kind == "read" else "household_writes"] += count
    distinct = await session.execute(
        select(AuditEvent.actor_id, func.count(func.distinct(AuditEvent.household_id)))
        .where(*scope, AuditEvent.household_id.is_not(None), AuditEvent.result == "ok")
        .group_by(AuditEvent.actor_id)
    )
    for actor, count in distinct:
        entry(actor)["distinct_households"] = count
    return out


# --- the monthly review's flags (docs/access.md, Audit) ---------------------------------------------------------


def _touches(action: str) -> bool:
    return action_kind(action) in ("read", "write", "reveal")


async def _volumes(
    session: AsyncSession, organization_ids: list[uuid.UUID], start: Any, end: Any
) -> dict[uuid.UUID, int]:
    """Per actor: successful events on a household's data between ``start`` and ``end``."""
    from sqlalchemy import func, select

    rows = await session.execute(
        select(AuditEvent.actor_id, AuditEvent.action, func.count())
        .where(
            AuditEvent.organization_id.in_(organization_ids),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.household_id.is_not(None),
            AuditEvent.result == "ok",
            AuditEvent.at >= start,
            AuditEvent.at < end,
        )
        .group_by(AuditEvent.actor_id, AuditEvent.action)
    )
    out: dict[uuid.UUID, int] = {}
    for actor, action, count in rows:
        if _touches(action):
            out[actor] = out.get(actor, 0) + count
    return out


def _month_start(year: int, month: int, tz: Any) -> Any:
    from datetime import datetime

    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=tz)


async def review_flags(
    session: AsyncSession,
    organization_ids: list[uuid.UUID],
    start: Any,
    end: Any,
    settings: Any,
    summary: dict[uuid.UUID, dict[str, Any]],
) -> list[dict[str, Any]]:
    """What PIPA reviewers look for in a month: an actor's volume far above their usual (more than
    ``review_volume_factor`` × the median of their three months before, and at least
    ``review_volume_minimum``), access to households outside working hours (weekdays
    ``review_work_start_hour``–``review_work_end_hour``, service time zone) or on weekends, reveals of
    registration numbers, exports of ``review_large_export_rows`` records or more, and denied attempts."""
    from statistics import median

    from sqlalchemy import func, select

    if not organization_ids:
        return []
    tz = settings.tz
    flags: list[dict[str, Any]] = []
    # volume far above the usual
    current = await _volumes(session, organization_ids, start, end)
    local = start.astimezone(tz)
    previous = []
    for back in (1, 2, 3):
        lo = _month_start(local.year, local.month - back, tz)
        hi = _month_start(local.year, local.month - back + 1, tz)
        previous.append(await _volumes(session, organization_ids, lo, hi))
    for actor, count in current.items():
        baseline = float(median([p.get(actor, 0) for p in previous]))
        if count >= settings.review_volume_minimum and count > settings.review_volume_factor * baseline:
            flags.append({"kind": "volume_spike", "user_id": actor, "count": count, "baseline": baseline})
    # outside working hours: counted per UTC hour in the database, judged in the service time zone
    hour = (
        func.strftime("%Y-%m-%d %H", AuditEvent.at)
        if session.get_bind().dialect.name == "sqlite"
        else func.to_char(func.timezone("UTC", AuditEvent.at), "YYYY-MM-DD HH24")
    )
    rows = await session.execute(
        select(AuditEvent.actor_id, AuditEvent.action, hour, func.count())
        .where(
            AuditEvent.organization_id.in_(organization_ids),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.household_id.is_not(None),
            AuditEvent.at >= start,
            AuditEvent.at < end,
        )
        .group_by(AuditEvent.actor_id, AuditEvent.action, hour)
    )
    from datetime import UTC, datetime

    off: dict[uuid.UUID, int] = {}
    for actor, action, bucket, count in rows:
        if not _touches(action):
            continue
        at = datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(tz)
        if at.weekday() >= 5 or not settings.review_work_start_hour <= at.hour < settings.review_work_end_hour:
            off[actor] = off.get(actor, 0) + count
    flags += [{"kind": "off_hours", "user_id": a, "count": n} for a, n in off.items()]
    # reveals and denied attempts
    for actor, e in summary.items():
        if e.get("reveals"):
            flags.append({"kind": "reveals", "user_id": actor, "count": e["reveals"]})
        if e.get("denied"):
            flags.append({"kind": "denied", "user_id": actor, "count": e["denied"]})
    # large exports: records sent by one export
    export_id = AuditEvent.details["export_id"].as_string()
    rows = await session.execute(
        select(AuditEvent.actor_id, export_id, func.count(), func.max(AuditEvent.purpose))
        .where(
            AuditEvent.organization_id.in_(organization_ids),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.action == "export.read",
            AuditEvent.at >= start,
            AuditEvent.at < end,
        )
        .group_by(AuditEvent.actor_id, export_id)
        .having(func.count() >= settings.review_large_export_rows)
    )
    for actor, eid, count, reason in rows:
        flags.append({"kind": "large_export", "user_id": actor, "count": count, "export_id": eid, "reason": reason})
    order = {"volume_spike": 0, "large_export": 1, "reveals": 2, "off_hours": 3, "denied": 4}
    flags.sort(key=lambda f: (order[f["kind"]], -f["count"], str(f["user_id"])))
    return flags
