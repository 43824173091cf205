"""A household's risk level and priority score (docs/data-model.md): how they roll up from signals, members and the
latest assessment, and order the triage queue (``GET /v1/triage``).

The rule
========

1. **Signal points.** Every indicator of the signals observed in the last 365 days counts *once* (a second
   power-cut signal does not add again), with the weights of :data:`INDICATOR_WEIGHTS`:

   ===========================  ==  ===========================  ==
   abuse_suspected, homeless     4  power_cut, water_cut           3
   medical_crisis                3  benefit_terminated             3
   food_insecurity, heating_lack 3  gas_cut, rent_overdue          2
   health_insurance_arrears      2  unemployment, business_closure 2
   isolation, hoarding           2  benefit_rejected               2
   management_fee_overdue        1  telecom_arrears, debt          1
   national_pension_arrears      1
   ===========================  ==  ===========================  ==

   Signal points are capped at 20.
2. **Corroboration.** +2 for each distinct signal *source* beyond the first among those signals (a utility
   cut from the big-data feed confirmed by an honorary official's report weighs more than either).
3. **Vulnerability.** The tags of the household and of its members count once each
   (:data:`TAG_WEIGHTS`: homeless 3; elderly, disability, child, single_person, chronic_illness 2;
   single_parent, grandparent_family, young_adult_carer, unemployed 1; multicultural 0). A member born 65
   or more years ago counts as ``elderly``, one born less than 18 years ago as ``child``. An elderly person
   living alone (``elderly`` and ``single_person``: the lonely-death profile) adds 2 more. Capped at 10.
4. **Score** = signal points + corroboration + vulnerability (0–36).
   **Computed level**: score ≥ 18 critical, ≥ 11 high, ≥ 5 moderate, else low. An ``abuse_suspected`` or
   ``homeless`` indicator lifts the computed level to at least high.
5. **Assessment.** The latest on-site assessment (a scored checklist, :func:`apply_assessment`) outranks
   data: while no signal is newer than the assessment, the level *is* the assessed level (an assessment may
   lower a level that data raised); a signal observed after it can only raise the level:
   ``max(assessed, computed)``.
6. **Priority** (0–100) orders the triage queue: level base (low 0, moderate 25, high 50, critical 75)
   + min(score, 20) + 3 when a signal was observed in the last 30 days + 2 when the household has recurred
   (reopened by a new signal after it was closed). The queue breaks ties by age (the oldest household first).

Whenever the level changes, ``household.risk_changed`` is emitted with the old and new level.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import utcnow
from app.households.models import Household, RiskLevel, Signal
from app.journal.outbox import emit

SIGNAL_WINDOW = timedelta(days=365)
RECENT_WINDOW = timedelta(days=30)
SIGNAL_CAP = 20
VULNERABILITY_CAP = 10

INDICATOR_WEIGHTS: dict[str, int] = {
    "abuse_suspected": 4,
    "homeless": 4,
    "power_cut": 3,
    "water_cut": 3,
    "medical_crisis": 3,
    "benefit_terminated": 3,
    "food_insecurity": 3,
    "heating_lack": 3,
    "gas_cut": 2,
    "rent_overdue": 2,
    "health_insurance_arrears": 2,
    "unemployment": 2,
    "business_closure": 2,
    "isolation": 2,
    "hoarding": 2,
    "benefit_rejected": 2,
    "management_fee_overdue": 1,
    "telecom_arrears": 1,
    "debt": 1,
    "national_pension_arrears": 1,
}

TAG_WEIGHTS: dict[str, int] = {
    "homeless": 3,
    "elderly": 2,
    "disability": 2,
    "child": 2,
    "single_person": 2,
    "chronic_illness": 2,
    "single_parent": 1,
    "grandparent_family": 1,
    "young_adult_carer": 1,
    "unemployed": 1,
    "multicultural": 0,
}

#: Indicators that lift the computed level to at least ``high``.
FLOOR_HIGH = frozenset({"abuse_suspected", "homeless"})

LEVELS = (RiskLevel.low, RiskLevel.moderate, RiskLevel.high, RiskLevel.critical)
LEVEL_BASE = {RiskLevel.low: 0, RiskLevel.moderate: 25, RiskLevel.high: 50, RiskLevel.critical: 75}


def _rank(level: RiskLevel) -> int:
    return LEVELS.index(level)


def max_level(a: RiskLevel, b: RiskLevel) -> RiskLevel:
    return a if _rank(a) >= _rank(b) else b


def level_for_score(score: int) -> RiskLevel:
    if score >= 18:
        return RiskLevel.critical
    if score >= 11:
        return RiskLevel.high
    if score >= 5:
        return RiskLevel.moderate
    return RiskLevel.low


@dataclass(frozen=True)
class SignalFact:
    source: str
    indicators: tuple[str, ...]
    observed_at: datetime


@dataclass(frozen=True)
class Score:
    signal_points: int
    corroboration: int
    vulnerability: int
    score: int
    computed_level: RiskLevel
    level: RiskLevel
    priority: int


def vulnerability_tags(tags: Iterable[str], members: Iterable[dict[str, object]], now: datetime) -> set[str]:
    out = set(tags)
    for member in members:
        out.update(str(t) for t in (member.get("tags") or []))  # type: ignore[union-attr]
        year = member.get("birth_year")
        if isinstance(year, int):
            age = now.year - year
            if age >= 65:
                out.add("elderly")
            elif 0 <= age < 18:
                out.add("child")
    return out


def compute(
    signals: Iterable[SignalFact],
    tags: set[str],
    *,
    now: datetime,
    assessed_risk: RiskLevel | None = None,
    assessed_at: datetime | None = None,
    recurred: bool = False,
) -> Score:
    """The rule of this module's docstring, as a pure function."""
    recent = [s for s in signals if s.observed_at >= now - SIGNAL_WINDOW]
    indicators = {i for s in recent for i in s.indicators}
    signal_points = min(SIGNAL_CAP, sum(INDICATOR_WEIGHTS.get(i, 1) for i in indicators))
    sources = {s.source for s in recent}
    corroboration = 2 * max(0, len(sources) - 1)
    vulnerability = sum(TAG_WEIGHTS.get(t, 0) for t in tags)
    if "elderly" in tags and "single_person" in tags:
        vulnerability += 2
    vulnerability = min(VULNERABILITY_CAP, vulnerability)
    score = signal_points + corroboration + vulnerability

    computed = level_for_score(score)
    if indicators & FLOOR_HIGH:
        computed = max_level(computed, RiskLevel.high)

    level = computed
    if assessed_risk is not None:
        latest_signal = max((s.observed_at for s in recent), default=None)
        if assessed_at is None or latest_signal is None or latest_signal <= assessed_at:
            level = assessed_risk
        else:
            level = max_level(assessed_risk, computed)

    priority = LEVEL_BASE[level] + min(score, 20)
    if any(s.observed_at >= now - RECENT_WINDOW for s in recent):
        priority += 3
    if recurred:
        priority += 2
    return Score(
        signal_points=signal_points,
        corroboration=corroboration,
        vulnerability=vulnerability,
        score=score,
        computed_level=computed,
        level=level,
        priority=min(100, priority),
    )


async def score_household(session: AsyncSession, household: Household, *, now: datetime | None = None) -> Score:
    now = now or utcnow()
    rows = await session.execute(
        select(Signal.source, Signal.indicators, Signal.observed_at).where(
            Signal.household_id == household.id, Signal.observed_at >= now - SIGNAL_WINDOW
        )
    )
    facts = [
        SignalFact(
            source=str(getattr(source, "value", source)),
            indicators=tuple(indicators or ()),
            observed_at=min(observed_at, now),
        )
        for source, indicators, observed_at in rows
    ]
    return compute(
        facts,
        vulnerability_tags(household.tags or [], household.members or [], now),
        now=now,
        assessed_risk=household.assessed_risk,
        assessed_at=household.assessed_at,
        recurred=household.recurrence_count > 0,
    )


async def recompute(
    session: AsyncSession, household: Household, *, reason: str, now: datetime | None = None, quiet: bool = False
) -> bool:
    """Recompute and store the household's risk level and priority; emits ``household.risk_changed`` when
    the level changes (``quiet``: not for a household being created). Returns whether the level changed."""
    await session.flush()
    result = await score_household(session, household, now=now)
    previous = household.risk_level
    if household.priority != result.priority:
        household.priority = result.priority
    if previous == result.level:
        return False
    household.risk_level = result.level
    if quiet:
        return True
    emit(
        session,
        "household.risk_changed",
        {
            "household_id": str(household.id),
            "from": previous.value if previous is not None else None,
            "to": result.level.value,
            "priority": result.priority,
            "reason": reason,
        },
        household_id=household.id,
        district_code=household.district_code,
    )
    return True


async def apply_assessment(
    session: AsyncSession, household: Household, level: RiskLevel, *, at: datetime, source: str
) -> None:
    """Record an assessment's risk on the household (when it is the latest one) and recompute its level and
    priority (``household.risk_changed`` when the level changes). An assessment older than the one on
    record (a phone syncing late) changes nothing."""
    level = RiskLevel(level)
    if household.assessed_at is not None and at < household.assessed_at:
        return
    household.assessed_risk = level
    household.assessed_at = at
    household.assessed_source = source[:120]
    await recompute(session, household, reason="assessment")
