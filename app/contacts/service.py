"""Contact attempts and households nobody can reach (docs/data-model.md).

Each try to reach a household (phone, visit, letter, registered mail, a neighbour, a residence fact check) is
a record, made over REST or pushed from a phone that was offline (then its ``at`` is the phone's time, and
attempts may arrive out of order). A household's reachability is recomputed from its records on every new
one, in the order they were *made*:

* ``contact_failures``: failed attempts (no answer, moved, wrong number) made after the latest one that
  reached someone (``reached`` or ``refused``: someone answered);
* when they reach ``ONGI_CONTACT_UNREACHABLE_AFTER`` (3 by default) the household is **unreachable**
  (``unreachable_at``), with the next step the guidance expects: a registered letter, then a residence fact
  check (주민등록 사실조사), then the coordinator's review. A step counts as taken once an attempt by it
  failed since the last contact;
* an attempt that reaches someone clears it all.

A change of reachability bumps the household's version, so phones get it on their next pull. Events:
``contact_attempt.recorded`` for each attempt, ``household.unreachable`` when a household becomes unreachable
and ``household.reached`` when it stops being so. Who may record and read attempts is who may see the
household (``app.access.policy``); every write and read is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts import messages as _messages  # noqa: F401  (registers the messages)
from app.contacts.models import FAILED, ContactAttempt, ContactMethod, ContactOutcome
from app.contacts.repository import ContactAttemptRepository
from app.contacts.schemas import ContactAttemptPublic, Reachability
from app.core.db import utcnow
from app.core.errors import Conflict, field_problem
from app.core.i18n import t
from app.core.principal import Principal
from app.households.models import Household
from app.journal import audit
from app.journal.outbox import emit

#: The steps the guidance expects after the telephone and the door, in order.
STEPS = (ContactMethod.registered_mail.value, ContactMethod.fact_check.value)
FINAL_STEP = "review"
#: A device clock a little ahead is tolerated.
FUTURE_SLACK = timedelta(minutes=10)


def public(attempt: ContactAttempt) -> ContactAttemptPublic:
    return ContactAttemptPublic.model_validate(attempt)


def reachability(household: Household) -> Reachability:
    step = household.next_contact_step
    return Reachability(
        household_id=household.id,
        household_version=household.version,
        contact_failures=household.contact_failures or 0,
        unreachable=household.unreachable_at is not None,
        unreachable_at=household.unreachable_at,
        next_contact_step=step,
        next_contact_step_text=t(f"contacts.step.{step}") if step else None,
    )


def next_step(failed_methods: set[str]) -> str:
    for step in STEPS:
        if step not in failed_methods:
            return step
    return FINAL_STEP


async def refresh_reachability(session: AsyncSession, household: Household, threshold: int) -> str | None:
    """Recompute the household's reachability from its attempts; returns ``"unreachable"`` or ``"reached"``
    when that changed (and emits the event), else None."""
    rows = await ContactAttemptRepository(session).outcomes_in_order(household.id)
    failures: list[tuple[datetime, str]] = []
    for at, method, outcome in rows:
        if ContactOutcome(outcome) in FAILED:
            failures.append((at, str(getattr(method, "value", method))))
        else:
            failures = []
    count = len(failures)
    was = household.unreachable_at is not None
    if count >= threshold:
        step = next_step({m for _, m in failures})
        if household.unreachable_at is None:
            household.unreachable_at = utcnow()
        if household.next_contact_step != step:
            household.next_contact_step = step
    else:
        if household.unreachable_at is not None:
            household.unreachable_at = None
        if household.next_contact_step is not None:
            household.next_contact_step = None
    if household.contact_failures != count:
        household.contact_failures = count
    await session.flush()
    now_unreachable = household.unreachable_at is not None
    if was == now_unreachable:
        return None
    change = "unreachable" if now_unreachable else "reached"
    payload: dict[str, Any] = {"household_id": str(household.id), "contact_failures": count}
    if now_unreachable:
        payload["next_contact_step"] = household.next_contact_step
    emit(
        session,
        f"household.{change}",
        payload,
        household_id=household.id,
        district_code=household.district_code,
    )
    return change


def _same(attempt: ContactAttempt, household_id: uuid.UUID, method: str, outcome: str, at: datetime | None) -> bool:
    return (
        attempt.household_id == household_id
        and attempt.method.value == method
        and attempt.outcome.value == outcome
        and (at is None or attempt.at == at)
    )


async def record_attempt(
    session: AsyncSession,
    principal: Principal,
    household: Household,
    *,
    attempt_id: uuid.UUID | None,
    method: str,
    outcome: str,
    at: datetime | None,
    note: str | None,
    threshold: int,
    purpose: str | None = None,
) -> tuple[ContactAttempt, bool]:
    """Record an attempt on a household the caller may see (checked by the caller). With an ``attempt_id``
    that exists already: the same attempt again (retried) changes nothing, or only its note when its author
    edits it; anything else is a 409. Returns the attempt and whether it was created."""
    now = utcnow()
    if at is not None and at > now + FUTURE_SLACK:
        raise field_problem("body.at", "contacts.future")
    if attempt_id is not None:
        existing = await session.get(ContactAttempt, attempt_id)
        if existing is not None:
            if not _same(existing, household.id, method, outcome, at) or (
                note is not None and note != existing.note and existing.by_id != principal.user_id
            ):
                raise Conflict("contact-attempt-exists", "contacts.attempt-exists")
            if note is not None and note != existing.note:
                existing.note = note
                await session.flush()
            return existing, False
    attempt = ContactAttempt(
        household_id=household.id,
        dong_code=household.dong_code,
        method=ContactMethod(method),
        outcome=ContactOutcome(outcome),
        at=at or now,
        by_id=principal.user_id,
        organization_id=principal.organization_id,
        note=note,
    )
    if attempt_id is not None:
        attempt.id = attempt_id
    session.add(attempt)
    await session.flush()
    emit(
        session,
        "contact_attempt.recorded",
        {
            "contact_attempt_id": str(attempt.id),
            "household_id": str(household.id),
            "method": attempt.method.value,
            "outcome": attempt.outcome.value,
        },
        household_id=household.id,
        district_code=household.district_code,
    )
    change = await refresh_reachability(session, household, threshold)
    await audit.record(
        session,
        principal,
        "contact_attempt.create",
        entity="contact_attempt",
        entity_id=attempt.id,
        household_id=household.id,
        purpose=purpose,
        details={"method": attempt.method.value, "outcome": attempt.outcome.value, "change": change},
    )
    return attempt, True
