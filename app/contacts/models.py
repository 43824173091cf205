"""Contact attempts (docs/data-model.md): every try to reach a household, by any means, as a record.

A household's reachability (``contact_failures``, ``unreachable_at``, ``next_contact_step``) lives on the
household itself (``app.households.models.Household``) so that REST and the phones see it with the household;
``app.contacts.service`` keeps it current from these records.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field

from app.core.db import BaseTable, UTCDateTime, enum_type


class ContactMethod(StrEnum):
    phone = "phone"
    visit = "visit"
    letter = "letter"
    registered_mail = "registered_mail"
    neighbour = "neighbour"
    fact_check = "fact_check"  # 주민등록 사실조사


class ContactOutcome(StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    moved = "moved"
    wrong_number = "wrong_number"
    refused = "refused"


#: Outcomes in which nobody of the household was reached. ``refused`` is a contact: someone answered.
FAILED = frozenset({ContactOutcome.no_answer, ContactOutcome.moved, ContactOutcome.wrong_number})


class ContactAttempt(BaseTable, table=True):
    __tablename__ = "contact_attempt"
    __sync_entity__ = "contact_attempt"
    __table_args__ = (
        Index("ix_contact_attempt_household_at", "household_id", "at"),
        Index("ix_contact_attempt_dong", "dong_code"),
    )

    household_id: uuid.UUID = Field(foreign_key="household.id")
    #: The household's dong when the attempt was made (jurisdiction filters need no join).
    dong_code: str = Field(max_length=10)
    method: ContactMethod = Field(sa_type=enum_type(ContactMethod, 16))
    outcome: ContactOutcome = Field(sa_type=enum_type(ContactOutcome, 16))
    #: When the attempt was made (device time for an attempt recorded offline).
    at: datetime = Field(sa_type=UTCDateTime)
    by_id: uuid.UUID = Field(foreign_key="user_account.id")
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
