"""The care domain's rules, by module: :mod:`app.care.resources`, :mod:`app.care.supports`,
:mod:`app.care.cases`, :mod:`app.care.monitoring`, :mod:`app.care.campaigns`. This module gathers what other
packages call (the worker: ``schedule_due_followups``)."""

from __future__ import annotations

from app.care import messages as _messages  # noqa: F401  (registers the domain's messages)
from app.care.campaigns import winter_period
from app.care.monitoring import schedule_due_followups, schedule_due_followups_detail

__all__ = ["schedule_due_followups", "schedule_due_followups_detail", "winter_period"]
