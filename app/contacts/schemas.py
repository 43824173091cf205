"""API shapes of contact attempts (the same in REST bodies and sync ``data``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from app.contacts.models import ContactMethod, ContactOutcome
from app.core.schemas import Input, Public
from app.core.times import AwareInstant

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ContactAttemptCreate(Input):
    id: uuid.UUID | None = Field(
        default=None, description="The client's id for the attempt (a retry with the same id and data is answered 200)"
    )
    method: ContactMethod
    outcome: ContactOutcome
    at: AwareInstant | None = Field(default=None, description="When it was made (default: now)")
    note: Note | None = None


class ContactAttemptData(Input):
    """The ``data`` of a ``contact_attempt`` ``upsert`` pushed by a phone."""

    household_id: uuid.UUID
    method: ContactMethod
    outcome: ContactOutcome
    at: AwareDatetime | None = Field(default=None, description="Default: the mutation's `at`, else now")
    note: Note | None = None


class ContactAttemptPublic(Public):
    id: uuid.UUID
    version: int
    household_id: uuid.UUID
    method: ContactMethod
    outcome: ContactOutcome
    at: datetime
    by_id: uuid.UUID
    organization_id: uuid.UUID
    note: str | None
    created_at: datetime
    updated_at: datetime


class Reachability(Public):
    """The household's reachability after the attempt."""

    household_id: uuid.UUID
    household_version: int
    contact_failures: int
    unreachable: bool
    unreachable_at: datetime | None
    next_contact_step: str | None = Field(description="registered_mail, then fact_check, then review")
    next_contact_step_text: str | None = None


class ContactAttemptRecorded(Public):
    attempt: ContactAttemptPublic
    reachability: Reachability
