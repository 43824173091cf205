"""The winter district (docs/winter.md, docs/performance.md): a deterministic, generated dataset of the
invented district 온기구 (code 11990), in two sizes.

* ``small`` — what ``scripts/serve`` seeds on first start: four dongs, 160 households and a real working
  day for the demo logins (``planner`` has today's visits in Asia/Seoul, two of them joint with
  ``partner``, whose households gave consent; ``coordinator`` has a triage queue of new reports and
  identified households, cases, supports and a monitoring list; ``reporter`` has reports in every state).
* ``full`` — the benchmark dataset (docs/performance.md): 12 dongs, 3,000 households, 60 field staff (40
  planners, 20 partners), 9,000 visits (about 150 open per worker), 3 templates of 30 items, 20,000 notes and
  6,000 photos' metadata.

Everything comes from ``random.Random(seed)`` and ``today`` (no wall clock, no uuid4): the same seed and
day give the same rows, ids included. Names, addresses and phone numbers are generated from syllable
tables (:mod:`app.demo.names`); no real person's data. Rows go in with bulk ``INSERT``s, and the change
log that phones sync from gets one ``upsert`` per synced record, numbered from the shared change counter
by :mod:`app.journal.changes`. Generating is skipped when the district already has households.

This module puts the district together; its parts, one job each, are in :mod:`app.demo.district` (``sizes``,
``rows``, ``people``, ``winter``, ``households``, ``visits``, ``care``, ``photos``).
"""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Organization, User
from app.core.config import get_settings
from app.core.security import Security
from app.core.uow import open_session
from app.demo.district.care import CareRows
from app.demo.district.households import HouseholdRows
from app.demo.district.people import PeopleRows
from app.demo.district.photos import PhotoRows, demo_images, store_images
from app.demo.district.rows import Gen, insert_all, log_changes
from app.demo.district.sizes import DEFAULT_SEED, SIZES, SizeSpec, Stats
from app.demo.district.visits import VisitRows
from app.demo.district.winter import WinterRows
from app.demo.seed import DEMO_PASSWORD, DISTRICT, seed_demo_logins
from app.demo.templates import BENCH_KEYS, bench_template
from app.households.models import Household
from app.households.search import refresh_search_keys

__all__ = ["DEFAULT_SEED", "SIZES", "Gen", "SizeSpec", "Stats", "World", "generate", "seed_demo"]

log = structlog.get_logger("ongi.demo")


class World(PeopleRows, WinterRows, HouseholdRows, VisitRows, CareRows, PhotoRows):
    """Builds every row of the district in memory, in dependency order (the photos come after, once the
    images are made: :meth:`photos`)."""

    def build(self) -> None:
        self.people()
        self.campaigns_and_facilities()
        self.households_and_signals()
        self.visits()
        self.consents()
        self.responses()
        self.resources()
        self.cases_()
        self.supports_()
        self.notes()
        self.reports()
        self.statuses()
        for household in self.households:
            for key in [k for k in household if k.startswith("_")]:
                del household[key]


async def generate(
    session_maker_or_session: async_sessionmaker[AsyncSession] | AsyncSession,
    size: str,
    *,
    security: Security,
    today: date | None = None,
    seed: int = DEFAULT_SEED,
    storage: Any | None = None,
) -> Stats:
    """Generate the winter district (``size`` ``small`` or ``full``). Given a session maker it commits;
    given a session it only flushes (the caller commits). ``storage`` (an ``app.media.storage.Storage``)
    receives the few real images the photos point at; without it photo rows are metadata only."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    settings = get_settings()
    tz = settings.tz
    today = today or datetime.now(UTC).astimezone(tz).date()
    if isinstance(session_maker_or_session, AsyncSession):
        return await _generate(session_maker_or_session, size, security, today, seed, storage, tz)
    async with open_session(session_maker_or_session, write=True) as session:
        return await _generate(session, size, security, today, seed, storage, tz)


async def _generate(
    session: AsyncSession,
    size: str,
    security: Security,
    today: date,
    seed: int,
    storage: Any | None,
    tz: ZoneInfo,
) -> Stats:
    started = clock.perf_counter()
    stats = Stats(size=size, seed=seed, today=today)
    stats.logins = await seed_demo_logins(session, security)
    present = (await session.execute(select(Household.id).where(Household.district_code == DISTRICT).limit(1))).first()
    if present is not None:
        stats.skipped = True
        return stats
    spec = SIZES[size]
    g = Gen(spec, seed, today, tz)
    password_hash = await security.hash_password(DEMO_PASSWORD)

    demo_users = {
        u.username: u
        for u in (await session.execute(select(User).where(User.username.in_([n for n, *_ in stats.logins])))).scalars()
    }
    demo_orgs = {o.id: o for o in (await session.execute(select(Organization))).scalars()}
    templates, missing = await _templates(session, spec, g)
    world = World(g, spec, demo_users, demo_orgs, password_hash, templates, security)
    world.build()

    images = demo_images(6) if world.photo_count else []
    world.photos(images)
    stats.missing = missing + world.missing
    if storage is not None and images:
        await store_images(storage, images)

    counts = await insert_all(session, g.t)
    counts["household_search_key"] = await refresh_search_keys(session, [h["id"] for h in world.households])
    counts["change_log"] = await log_changes(session, g.t, g.anchor)
    await session.flush()
    stats.counts = counts
    stats.seconds = clock.perf_counter() - started
    log.info("demo_generated", size=size, seed=seed, seconds=round(stats.seconds, 2), **counts)
    return stats


async def _templates(session: AsyncSession, spec: SizeSpec, g: Gen) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The checklist templates visits pin: the shipped ones, and for the full size the three 30-item
    district templates. Returns {key: {id, version, items, bands}} and what could not be had."""
    missing: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    try:
        from app.checklists.models import ChecklistTemplate, TemplateStatus
        from app.checklists.templates import ensure_builtin_templates
    except ImportError:
        return {}, ["checklists (app.checklists.templates.ensure_builtin_templates)"]
    for row in await ensure_builtin_templates(session):
        out[row.key] = {"id": row.id, "version": row.template_version, "items": row.items, "bands": row.bands}
    if spec.bench_templates:
        for index, (key, *_rest) in enumerate(BENCH_KEYS):
            spec_t = bench_template(index)
            row = (
                await session.execute(
                    select(ChecklistTemplate).where(
                        ChecklistTemplate.key == key, ChecklistTemplate.template_version == spec_t["version"]
                    )
                )
            ).scalar_one_or_none()
            if row is None:
                row = ChecklistTemplate(
                    id=g.uid(),
                    key=key,
                    template_version=spec_t["version"],
                    status=TemplateStatus.published,
                    title=spec_t["title"],
                    items=spec_t["items"],
                    bands=spec_t["bands"],
                    builtin=False,
                    published_at=g.anchor - timedelta(days=30),
                )
                session.add(row)
                await session.flush()
            out[key] = {"id": row.id, "version": row.template_version, "items": row.items, "bands": row.bands}
    return out, missing


async def seed_demo(
    session_maker_or_session: Any,
    security: Security,
    *,
    today: date | None = None,
    storage: Any | None = None,
) -> Stats:
    """What ``scripts/serve`` seeds on first start (``python -m app seed-demo``): the demo logins and the small
    winter district around them. Idempotent: a district that has households is left as it is (the logins are
    still ensured). Returns the ``Stats`` (``.logins`` for printing)."""
    return await generate(session_maker_or_session, "small", security=security, today=today, storage=storage)
