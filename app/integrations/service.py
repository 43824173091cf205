"""Importing one household of a crisis list (docs/integrations.md §2: ``PUT /v1/integrations/households/{source}/
{external_id}``), and the same line by line when a batch is done again (:mod:`app.integrations.bulk`).

A payload whose digest equals the key's record is ``unchanged`` and writes nothing; a different one goes through
:func:`app.households.service.ingest_signal` (matching against open and closed households, the signal, risk,
recurrence) and the record takes the new digest. The signal's ``external_ref`` is the external id, so the
households service also recognises a repeated observation (same source, reference and time).

Statuses
    first payload for a key: ``created`` (a new household), ``matched`` (an existing open household) or
    ``reopened`` (a closed household reopened: a recurrence); a new payload for a known key: ``updated``, or
    ``reopened`` when it reopened a closed household; the same payload again: ``unchanged``; a line that
    cannot be imported: ``rejected`` with ``errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.integrations import may_import_into
from app.core.db import utcnow
from app.core.errors import Problem
from app.core.principal import Principal
from app.core.state import AppState
from app.households.models import SignalSource
from app.households.service import ingest_signal
from app.integrations.lines import line_error, payload_digest
from app.integrations.models import ImportRecord
from app.integrations.schemas import ImportPayload


def outside_jurisdiction(prefix: str) -> Problem:
    error = line_error(f"{prefix}household.dong_code", "integrations.outside-jurisdiction")
    return Problem(422, "validation", "detail.validation", params={"count": 1}, extra={"errors": [error.model_dump()]})


@dataclass
class Applied:
    status: str
    record: ImportRecord
    created_record: bool


async def apply_import(
    state: AppState,
    session: AsyncSession,
    principal: Principal,
    source: SignalSource,
    external_id: str,
    payload: ImportPayload,
    *,
    record: ImportRecord | None,
    digest: str | None = None,
    prefix: str = "body.",
    flush: bool = True,
) -> Applied:
    """Import one payload (raises :class:`Problem` when it cannot). ``record`` is the key's current record."""
    if not may_import_into(principal, payload.household.dong_code):
        raise outside_jurisdiction(prefix)
    digest = digest or payload_digest(source.value, external_id, payload)
    if record is not None and record.payload_sha256 == digest:
        return Applied("unchanged", record, False)
    result = await ingest_signal(
        session,
        principal,
        source=source,
        indicators=list(payload.indicators),
        observed_at=payload.observed_at,
        external_ref=external_id,
        details=dict(payload.details),
        target=payload.household,
        security=state.security,
    )
    now = utcnow()
    if record is None:
        status = result.outcome
        record = ImportRecord(
            source=source.value,
            external_id=external_id,
            payload_sha256=digest,
            household_id=result.household.id,
            signal_id=result.signal.id,
            last_result=status,
            client_id=principal.user_id,
            accepted=1,
            last_imported_at=now,
        )
        session.add(record)
        created = True
    else:
        status = "reopened" if result.outcome == "reopened" else "updated"
        record.payload_sha256 = digest
        record.household_id = result.household.id
        record.signal_id = result.signal.id
        record.last_result = status
        record.client_id = principal.user_id
        record.accepted = (record.accepted or 0) + 1
        record.last_imported_at = now
        created = False
    if flush:
        await session.flush()
    return Applied(status, record, created)
