"""The rules table of legal clocks (docs/winter.md), in one place, and the clock a household shows.

The table lives with the households, the lowest domain the clocks hang on: households, visits and cases show
their clock with it (:func:`deadline_fields` here, ``app.visits.views``, ``app.cases.service``), and
:mod:`app.winter.deadlines` computes, announces and lists the clocks by it.

Every intake gets a clock by its source (the household's signals); each rule and when its clock stops:

* ``crisis_report.first_counselling`` — a report from the 복지위기 알림 channel or a neighbour (sources
  ``resident_report``, ``honorary_official``): first counselling within 14 business days of assignment (the first
  visit created after the report; the report itself until one is). Stops once the household is contacted.
* ``bigdata.round`` — a big-data list row (``bigdata``): by the end of its round (the import's ``round_ends_at``);
  30 business days when the import carries none. Stops once contacted.
* ``intake.default`` — any other source (agency referral, lonely-death screening, benefit rejected): 14 business
  days from the signal. Stops once contacted.
* ``urgent.reach`` — a signal marked urgent (``details.urgent``), or a household in an active alert: reached within
  24 hours of the signal (or of the alert's start). Stops once contacted.
* ``urgent.decide`` — the same households: decided (assessed) within 48 hours. Stops once assessed.
* ``case.stage`` — integrated cases: the stage due dates of ``app.cases.service`` as they are (10 / 5 / 15 days).
* ``visit.window`` — open visits: the end of the visit's window.

A rule counted in ``business_days`` skips Saturdays, Sundays and Korean public holidays (``holidays.KR``, including
substitute holidays; 민원처리법 시행령 §19 counts periods of days that way), and ends at the end of the last business
day (local time). ``at_risk_before`` is how long before the due time a record is ``at_risk``.

Configuration: ``ONGI_DEADLINE_RULES`` — JSON, either inline or ``@/path/to/file.json`` — overrides any rule's
fields by its key, e.g.
``{"crisis_report.first_counselling": {"amount": 10}, "urgent.reach": {"at_risk_before_hours": 4}}``.
Unknown keys or fields are refused (a ValueError) when the table is first read.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays

from app.core.config import get_settings
from app.core.db import utcnow
from app.households.models import Household

Unit = Literal["hours", "days", "business_days"]


@dataclass(frozen=True)
class Rule:
    key: str
    amount: int
    unit: Unit
    at_risk_before_hours: float
    #: Household statuses from which the clock stops (it is met).
    stops_at: tuple[str, ...] = ()

    @property
    def at_risk_before(self) -> timedelta:
        return timedelta(hours=self.at_risk_before_hours)


_AFTER_CONTACT = ("contacted", "assessed", "supported", "monitoring", "closed")
_AFTER_ASSESSMENT = ("assessed", "supported", "monitoring", "closed")

DEFAULT_RULES: dict[str, Rule] = {
    r.key: r
    for r in (
        Rule("crisis_report.first_counselling", 14, "business_days", 72, _AFTER_CONTACT),
        Rule("bigdata.round", 30, "business_days", 72, _AFTER_CONTACT),
        Rule("intake.default", 14, "business_days", 72, _AFTER_CONTACT),
        Rule("urgent.reach", 24, "hours", 6, _AFTER_CONTACT),
        Rule("urgent.decide", 48, "hours", 12, _AFTER_ASSESSMENT),
        Rule("case.stage", 0, "days", 48),
        Rule("visit.window", 0, "hours", 2),
    )
}

#: Which rule a signal source starts (urgent signals and alerts start ``urgent.*`` instead).
SOURCE_RULES: dict[str, str] = {
    "resident_report": "crisis_report.first_counselling",
    "honorary_official": "crisis_report.first_counselling",
    "bigdata": "bigdata.round",
    "agency_referral": "intake.default",
    "lonely_death_screening": "intake.default",
    "benefit_rejected": "intake.default",
}


def _overrides(raw: str | None) -> dict[str, dict[str, object]]:
    if not raw:
        return {}
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("ONGI_DEADLINE_RULES must be a JSON object of rule key → fields")
    return data


def load_rules(raw: str | None) -> dict[str, Rule]:
    """The default table with the overrides of ``raw`` (see the module's docstring) applied."""
    rules = dict(DEFAULT_RULES)
    allowed = {"amount", "unit", "at_risk_before_hours"}
    for key, fields in _overrides(raw).items():
        if key not in rules:
            raise ValueError(f"unknown deadline rule {key!r}")
        if not isinstance(fields, dict) or set(fields) - allowed:
            raise ValueError(f"deadline rule {key!r}: only {sorted(allowed)} may be set")
        if "unit" in fields and fields["unit"] not in ("hours", "days", "business_days"):
            raise ValueError(f"deadline rule {key!r}: unit must be hours, days or business_days")
        rules[key] = replace(rules[key], **fields)  # type: ignore[arg-type]
    return rules


@functools.cache
def rules() -> dict[str, Rule]:
    return load_rules(os.environ.get("ONGI_DEADLINE_RULES"))


def _tz() -> ZoneInfo:
    return get_settings().tz


@functools.cache
def _kr_holidays(year: int) -> holidays.HolidayBase:
    return holidays.KR(years=year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _kr_holidays(day.year)


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself is not counted)."""
    while count > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def local_date(at: datetime, tz: ZoneInfo | None = None) -> date:
    return at.astimezone(tz or _tz()).date()


def end_of_day(day: date, tz: ZoneInfo | None = None) -> datetime:
    """The end of ``day`` in the service's time zone (the next midnight), as an aware datetime."""
    from datetime import UTC

    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz or _tz()).astimezone(UTC)


def due_after(rule: Rule, start: datetime, tz: ZoneInfo | None = None) -> datetime:
    """When ``rule``'s clock started at ``start`` runs out."""
    if rule.unit == "hours":
        return start + timedelta(hours=rule.amount)
    local = start.astimezone(tz or _tz()).date()
    if rule.unit == "days":
        return end_of_day(local + timedelta(days=rule.amount), tz)
    return end_of_day(add_business_days(local, rule.amount), tz)


DeadlineState = Literal["on_track", "at_risk", "overdue"]


def state_of(due_at: datetime | None, now: datetime, rule_key: str | None) -> DeadlineState | None:
    """``overdue`` past the due time, ``at_risk`` within the rule's warning time before it, else ``on_track``."""
    if due_at is None:
        return None
    if now >= due_at:
        return "overdue"
    rule = rules().get(rule_key or "", None)
    before = rule.at_risk_before if rule is not None else timedelta(hours=24)
    return "at_risk" if now >= due_at - before else "on_track"


def deadline_fields(household: Household, now: datetime | None = None) -> dict[str, Any]:
    """``due_at`` and ``deadline_state`` of a household as REST and sync show them."""
    rule = rules().get(household.deadline_rule or "")
    if household.due_at is None or (rule is not None and household.status.value in rule.stops_at):
        return {"due_at": None, "deadline_state": None}
    state = state_of(household.due_at, now or utcnow(), rule.key if rule else None)
    return {"due_at": household.due_at, "deadline_state": state}
