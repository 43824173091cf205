"""A batch of import lines applied with a handful of statements, whatever its size (docs/performance.md: a crisis list
of 200,000 rows at ≥ 2,000 rows/s on PostgreSQL; docs/integrations.md §2).

:func:`ingest_batch` does for a whole batch what :func:`app.households.service.ingest_signal` and
:func:`app.integrations.service.apply_import` do for one line, with the same outcome row for row:

* **reads**, one query each for the batch: the households the lines' match keys name (open ones first, then
  the most recently changed, within the principal's jurisdiction), the signals already stored for the same
  (household, source, external reference, observation time), and the signals of the last 365 days that
  the risk score counts;
* **rules**, in memory and in line order (a line sees what the lines before it in the batch did): the
  household is matched or created, staff-curated fields are filled but never overwritten, the signal is
  added (a repeated observation is recognized), a closed household is reopened (a recurrence, with its
  ``household.recurrence`` event), risk and priority are recomputed with the pure
  :func:`app.households.scoring.compute` (``household.risk_changed`` when the level of a household that
  existed before the line changes), the import record takes the payload's digest;
* **writes**: new households, their search keys, signals and import records as multi-row Core inserts;
  households and import records that existed before through the ORM (so the change journal, the search keys
  and the version counter see them as any write); change notes of the new households through
  :func:`app.journal.changes.note_change` (phones pull them like any household); events queue in the
  transaction's outbox. The batch writes no audit rows of its own: the importer audits each line once
  (``integrations.import``, naming the household and whether it was created; docs/access.md#audit), where
  one line through the households service leaves ``household.create`` and ``household.signal.create`` too.

Everything runs in the caller's transaction. A line the batch cannot apply (a key imported concurrently by
another process) fails the whole batch with the database's error; the caller then runs it again line by
line, each in a savepoint (:class:`app.integrations.bulk.BulkImporter`).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access.households import signal_author
from app.access.integrations import importable_filter
from app.core.db import among, utcnow
from app.core.inserts import insert_rows
from app.core.principal import Principal
from app.core.security import Security
from app.households.matching import match_key
from app.households.models import Household, HouseholdSearchKey, HouseholdStatus, RiskLevel, Signal
from app.households.schemas import HouseholdInput
from app.households.scoring import SIGNAL_WINDOW, SignalFact, compute, vulnerability_tags
from app.households.search import household_keys
from app.households.service import _member_dicts, _merge_into
from app.integrations.models import ImportRecord
from app.integrations.schemas import ImportLine
from app.journal.changes import note_change
from app.journal.outbox import emit


class NewHousehold:
    """A household created by this batch, before it is inserted (attribute names as on :class:`Household`, so
    that the households service's rules apply to it unchanged)."""

    __sync_entity__ = "household"

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class NewRecord:
    """An import record created by this batch, before it is inserted."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


@dataclass
class Outcome:
    """What one line did: ``status`` as the import answers it, the household and the signal."""

    status: str
    household_id: uuid.UUID
    signal_id: uuid.UUID | None
    record: Any
    #: The household when this batch created it (its ``search_keys`` once the batch is written).
    created: NewHousehold | None = None


@dataclass
class _Batch:
    now: datetime
    principal: Principal
    session: AsyncSession
    candidates: dict[str, list[Any]] = field(default_factory=dict)
    seen_signals: dict[tuple[uuid.UUID, str, str, datetime], uuid.UUID] = field(default_factory=dict)
    facts: dict[uuid.UUID, list[SignalFact]] = field(default_factory=lambda: defaultdict(list))
    new_households: list[NewHousehold] = field(default_factory=list)
    new_signals: list[dict[str, Any]] = field(default_factory=list)
    new_records: list[NewRecord] = field(default_factory=list)


def _signal_key(household_id: uuid.UUID, source: str, ref: str, observed_at: datetime) -> tuple[Any, ...]:
    return (household_id, source, ref, observed_at)


async def _load(batch: _Batch, keys: set[str], refs: set[str]) -> None:
    session, principal = batch.session, batch.principal
    if not keys:
        return
    found = (
        (
            await session.execute(
                select(Household).where(
                    among(session.get_bind().dialect.name, Household.match_key, sorted(keys)),
                    Household.deleted_at.is_(None),
                    importable_filter(principal),
                )
            )
        )
        .scalars()
        .all()
    )
    by_key: dict[str, list[Household]] = defaultdict(list)
    for h in found:
        by_key[h.match_key or ""].append(h)
    for key, households in by_key.items():
        # the most recently changed first; find_match's order (open first) is applied when picking
        households.sort(key=lambda h: h.updated_at, reverse=True)
        batch.candidates[key] = list(households)
    ids = [h.id for h in found]
    if not ids:
        return
    since = batch.now - SIGNAL_WINDOW
    rows = await session.execute(
        select(Signal.household_id, Signal.source, Signal.indicators, Signal.observed_at).where(
            Signal.household_id.in_(ids), Signal.observed_at >= since
        )
    )
    for hid, source, indicators, observed_at in rows:
        batch.facts[hid].append(
            SignalFact(str(getattr(source, "value", source)), tuple(indicators or ()), min(observed_at, batch.now))
        )
    if refs:
        rows = await session.execute(
            select(Signal.id, Signal.household_id, Signal.source, Signal.external_ref, Signal.observed_at).where(
                Signal.household_id.in_(ids), Signal.external_ref.in_(refs)
            )
        )
        for sid, hid, source, ref, observed_at in rows:
            batch.seen_signals[_signal_key(hid, str(getattr(source, "value", source)), ref, observed_at)] = sid


def _pick(candidates: list[Any]) -> Any | None:
    """find_match's choice: an open household first (most recently changed), else the latest closed one."""
    for h in candidates:
        if h.status != HouseholdStatus.closed:
            return h
    return candidates[0] if candidates else None


def _new_household(batch: _Batch, target: HouseholdInput, key: str) -> NewHousehold:
    now = batch.now
    household = NewHousehold(
        id=uuid.uuid4(),
        version=1,
        created_at=now,
        updated_at=now,
        district_code=target.district_code,
        dong_code=target.dong_code,
        address=target.address,
        address_detail=target.address_detail,
        head_name=target.head_name,
        contact_phone=target.contact_phone,
        members=_member_dicts(target.members),
        tags=list(target.tags),
        living_situation=target.living_situation,
        risk_level=RiskLevel.low,
        priority=0,
        status=HouseholdStatus.identified,
        status_changed_at=now,
        recurrence_at=None,
        recurrence_count=0,
        coordinator_id=None,
        assessed_risk=None,
        assessed_at=None,
        match_key=key,
        deleted_at=None,
    )
    batch.new_households.append(household)
    return household


def _reopen(batch: _Batch, household: Any, signal_id: uuid.UUID, source: str) -> None:
    """app.households.service._reopen, for a household of the batch."""
    now = batch.now
    household.status = HouseholdStatus.identified
    household.status_changed_at = now
    household.recurrence_at = now
    household.recurrence_count = (household.recurrence_count or 0) + 1
    emit(
        batch.session,
        "household.recurrence",
        {
            "household_id": str(household.id),
            "signal_id": str(signal_id),
            "source": source,
            "recurrence_count": household.recurrence_count,
            "coordinator_id": str(household.coordinator_id) if household.coordinator_id else None,
        },
        household_id=household.id,
        district_code=household.district_code,
    )


def _recompute(batch: _Batch, household: Any, *, quiet: bool) -> None:
    """app.households.scoring.recompute, from the signal facts the batch holds."""
    now = batch.now
    result = compute(
        batch.facts.get(household.id, ()),
        vulnerability_tags(household.tags or [], household.members or [], now),
        now=now,
        assessed_risk=household.assessed_risk,
        assessed_at=household.assessed_at,
        recurred=(household.recurrence_count or 0) > 0,
    )
    previous = household.risk_level
    if household.priority != result.priority:
        household.priority = result.priority
    if previous == result.level:
        return
    household.risk_level = result.level
    if quiet:
        return
    emit(
        batch.session,
        "household.risk_changed",
        {
            "household_id": str(household.id),
            "from": previous.value if previous is not None else None,
            "to": result.level.value,
            "priority": result.priority,
            "reason": "signal",
        },
        household_id=household.id,
        district_code=household.district_code,
    )


def _apply(batch: _Batch, m: ImportLine, key: str, digest: str, record: Any) -> Outcome:
    """One line: ingest_signal then apply_import's record keeping, on the batch's state."""
    now = batch.now
    source = m.source.value
    candidates = batch.candidates.setdefault(key, [])
    household = _pick(candidates)
    created = household is None
    if household is None:
        household = _new_household(batch, m.household, key)
        candidates.insert(0, household)
    else:
        _merge_into(household, m.household)  # type: ignore[arg-type]
        candidates.remove(household)
        candidates.insert(0, household)  # now the most recently changed
    hid = household.id
    skey = _signal_key(hid, source, m.external_id, m.observed_at)
    existing = batch.seen_signals.get(skey)
    outcome = "matched"
    if existing is not None:
        signal_id = existing
    else:
        signal_id = uuid.uuid4()
        indicators = list(dict.fromkeys(m.indicators))
        batch.new_signals.append(
            {
                "id": signal_id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "household_id": hid,
                "source": m.source,
                "indicators": indicators,
                "observed_at": m.observed_at,
                "external_ref": m.external_id,
                "details": dict(m.details or {}),
                "recorded_by_id": signal_author(batch.principal),
            }
        )
        batch.seen_signals[skey] = signal_id
        if m.observed_at >= now - SIGNAL_WINDOW:
            batch.facts[hid].append(SignalFact(source, tuple(indicators), min(m.observed_at, now)))
        if household.status == HouseholdStatus.closed:
            _reopen(batch, household, signal_id, source)
            outcome = "reopened"
        _recompute(batch, household, quiet=created)
    if record is None:
        status = "created" if created else outcome
        record = NewRecord(
            id=uuid.uuid4(),
            version=1,
            created_at=now,
            updated_at=now,
            source=source,
            external_id=m.external_id,
            payload_sha256=digest,
            household_id=hid,
            signal_id=signal_id,
            last_result=status,
            client_id=batch.principal.user_id,
            accepted=1,
            last_imported_at=now,
        )
        batch.new_records.append(record)
    else:
        status = "reopened" if outcome == "reopened" else "updated"
        record.payload_sha256 = digest
        record.household_id = hid
        record.signal_id = signal_id
        record.last_result = status
        record.client_id = batch.principal.user_id
        record.accepted = (record.accepted or 0) + 1
        record.last_imported_at = now
    return Outcome(status, hid, signal_id, record, household if created else None)


_HOUSEHOLD_COLUMNS = (
    "id",
    "version",
    "created_at",
    "updated_at",
    "district_code",
    "dong_code",
    "address",
    "address_detail",
    "head_name",
    "contact_phone",
    "members",
    "tags",
    "living_situation",
    "risk_level",
    "priority",
    "status",
    "status_changed_at",
    "recurrence_at",
    "recurrence_count",
    "coordinator_id",
    "match_key",
)
_RECORD_COLUMNS = (
    "id",
    "version",
    "created_at",
    "updated_at",
    "source",
    "external_id",
    "payload_sha256",
    "household_id",
    "signal_id",
    "last_result",
    "client_id",
    "accepted",
    "last_imported_at",
)


async def _search_keys(session: AsyncSession, households: list[NewHousehold]) -> None:
    """The search keys of the new households (app.households.search keeps them for ORM writes itself), kept on
    each (``search_keys``) for the duplicate search that follows the batch."""
    rows = []
    for h in households:
        keys = household_keys(h.__dict__)
        h.search_keys = keys
        hid = h.id
        rows += [{"household_id": hid, "kind": kind, "key": key} for kind, key in keys]
    await insert_rows(session, HouseholdSearchKey.__table__, rows)


async def ingest_batch(
    session: AsyncSession,
    principal: Principal,
    security: Security,
    lines: Sequence[tuple[ImportLine, str]],
    records: dict[tuple[str, str], Any],
) -> list[Outcome]:
    """Apply ``lines`` (each a validated line in the principal's jurisdiction and its payload digest) in the
    session's transaction; ``records`` maps (source, external id) to the keys' current import records and is
    updated. Returns one :class:`Outcome` per line, in order."""
    batch = _Batch(now=utcnow(), principal=principal, session=session)
    keys: list[str | None] = []
    for m, digest in lines:
        record = records.get((m.source.value, m.external_id))
        if record is not None and record.payload_sha256 == digest:
            keys.append(None)
        else:
            t = m.household
            keys.append(match_key(security, t.address, t.address_detail, t.head_name))
    await _load(batch, {k for k in keys if k}, {m.external_id for (m, _), k in zip(lines, keys, strict=True) if k})

    outcomes: list[Outcome] = []
    for (m, digest), key in zip(lines, keys, strict=True):
        rkey = (m.source.value, m.external_id)
        record = records.get(rkey)
        if record is not None and record.payload_sha256 == digest:
            outcomes.append(Outcome("unchanged", record.household_id, record.signal_id, record))
            continue
        if key is None:  # the key's record changed earlier in this batch
            t = m.household
            key = match_key(security, t.address, t.address_detail, t.head_name)
            if key not in batch.candidates:
                await _load(batch, {key}, {m.external_id})
        outcome = _apply(batch, m, key, digest, record)
        records[rkey] = outcome.record
        outcomes.append(outcome)

    await _write(batch)
    return outcomes


async def _write(batch: _Batch) -> None:
    session = batch.session
    if batch.new_households:
        await insert_rows(
            session,
            Household.__table__,
            [{name: getattr(h, name) for name in _HOUSEHOLD_COLUMNS} for h in batch.new_households],
        )
        for h in batch.new_households:
            note_change(session, h)
        await _search_keys(session, batch.new_households)
    if batch.new_signals:
        await insert_rows(session, Signal.__table__, batch.new_signals)
    # households and records that existed before the batch changed through the ORM: flushed here, after the
    # signals they now name
    await session.flush()
    if batch.new_records:
        await insert_rows(
            session,
            ImportRecord.__table__,
            [{name: getattr(r, name) for name in _RECORD_COLUMNS} for r in batch.new_records],
        )


__all__ = ["Outcome", "ingest_batch"]
