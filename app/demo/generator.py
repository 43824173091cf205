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
as :mod:`app.journal.changes` does. Generating is skipped when the district already has households.
"""

from __future__ import annotations

import hashlib
import io
import random
import time as clock
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from app.auth.models import Organization, User
from app.campaigns.models import Campaign
from app.campaigns.service import winter_period
from app.cases.models import CASE_CLOSED_STAGES, Case, CaseMember, CaseStage, CaseStageChange
from app.cases.service import recompute_due
from app.core.config import get_settings
from app.core.principal import OrgKind, Role
from app.core.security import Security
from app.core.uow import open_session
from app.demo import names
from app.demo.seed import DEMO_PASSWORD, DISTRICT, DONGS, seed_demo_logins
from app.demo.templates import BENCH_KEYS, bench_template
from app.households.models import Consent, Household, Signal
from app.households.search import refresh_search_keys
from app.journal import changes
from app.monitoring.models import MonitoringPlan
from app.reports.models import CrisisReport
from app.resources.models import Resource
from app.supports.models import Support, SupportHistory
from app.visits.models import Facility, Visit, VisitAssignee

log = structlog.get_logger("ongi.demo")

DEFAULT_SEED = 11990


@dataclass(frozen=True)
class SizeSpec:
    dongs: int
    households: int
    planners: int  # including the demo login
    partners: int  # including the demo login
    reporters: int  # including the demo login
    visits: int
    notes: int
    photos: int
    cases: int
    supports: int
    bench_templates: bool


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(
        dongs=4,
        households=160,
        planners=5,
        partners=4,
        reporters=3,
        visits=480,
        notes=800,
        photos=160,
        cases=10,
        supports=70,
        bench_templates=False,
    ),
    "full": SizeSpec(
        dongs=12,
        households=3000,
        planners=40,
        partners=20,
        reporters=13,
        visits=9000,
        notes=20000,
        photos=6000,
        cases=150,
        supports=1500,
        bench_templates=True,
    ),
}


@dataclass
class Stats:
    size: str
    seed: int
    today: date
    skipped: bool = False
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return f"winter district already present (size {self.size} not generated)"
        parts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"winter district {self.size} (seed {self.seed}, {self.today}) in {self.seconds:.1f}s: {parts}"


# --- helpers --------------------------------------------------------------------------------------------------


def _column_defaults(model: type[SQLModel]) -> dict[str, Callable[[], Any]]:
    """A zero-argument factory per column for what a row leaves out (the model's default, else NULL)."""
    from pydantic_core import PydanticUndefined

    out: dict[str, Callable[[], Any]] = {}
    fields = model.model_fields
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        info = fields.get(column.name)
        if info is not None and info.default_factory is not None:
            out[column.name] = info.default_factory  # type: ignore[assignment]
        elif info is not None and info.default is not PydanticUndefined:
            value = info.default
            out[column.name] = lambda value=value: value
        elif column.nullable:
            out[column.name] = lambda: None
        else:
            name = column.name
            out[column.name] = lambda name=name: (_ for _ in ()).throw(ValueError(f"{model.__name__}.{name}"))
    return out


def _hex(rng: random.Random, n: int = 64) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def _demo_images(count: int) -> list[dict[str, Any]]:
    """Small real JPEGs (and thumbnails) that the generated photos point at: identical content is stored
    once, as uploads are."""
    from PIL import Image, ImageDraw

    palette = ((196, 164, 132), (120, 144, 156), (205, 220, 57), (141, 110, 99), (176, 190, 197), (255, 204, 128))
    out = []
    for i in range(count):
        img = Image.new("RGB", (640, 480), palette[i % len(palette)])
        draw = ImageDraw.Draw(img)
        for k in range(0, 640, 40):
            shade = tuple(max(0, c - (k // 40) * 6) for c in palette[(i + 1) % len(palette)])
            draw.rectangle((k, 300 + (k * (i + 1)) % 120, k + 38, 480), fill=shade)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=80)
        thumb = img.copy()
        thumb.thumbnail((320, 240))
        tbuf = io.BytesIO()
        thumb.save(tbuf, "JPEG", quality=75)
        data, tdata = buf.getvalue(), tbuf.getvalue()
        out.append(
            {
                "bytes": data,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "width": 640,
                "height": 480,
                "thumb": tdata,
                "thumb_sha256": hashlib.sha256(tdata).hexdigest(),
                "thumb_size": len(tdata),
            }
        )
    return out


class _Tables:
    """Rows to insert, per model, with the change-log notes of synced records."""

    def __init__(self) -> None:
        self.rows: dict[type[SQLModel], list[dict[str, Any]]] = defaultdict(list)
        self.order: list[type[SQLModel]] = []

    def add(self, model: type[SQLModel], row: dict[str, Any]) -> dict[str, Any]:
        if model not in self.rows:
            self.order.append(model)
        self.rows[model].append(row)
        return row


# --- the generator --------------------------------------------------------------------------------------------


class _Gen:
    def __init__(self, spec: SizeSpec, seed: int, today: date, tz: ZoneInfo) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.today = today
        self.tz = tz
        #: "Now" for the generated history: the start of ``today`` (service time zone). Everything that
        #: happened is before it; today's visits are all still to come.
        self.anchor = datetime.combine(today, time(0, 0), tz).astimezone(UTC)
        self.t = _Tables()
        self.dongs = list(DONGS[: spec.dongs])

    # ids and times
    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz).astimezone(UTC)

    def before_anchor(self, at: datetime) -> datetime:
        return min(at, self.anchor - timedelta(minutes=1))

    def base(self, at: datetime, row_id: uuid.UUID | None = None) -> dict[str, Any]:
        at = self.before_anchor(at)
        return {"id": row_id or self.uid(), "version": 1, "created_at": at, "updated_at": at}


async def _reserve_and_log(session: AsyncSession, tables: _Tables, at: datetime) -> int:
    """One change-log upsert per synced row, numbered from the shared counter (:mod:`app.journal.changes`)."""
    notes = [
        changes.change_note(entity, row)
        for model in _dependency_order(tables)
        if (entity := getattr(model, "__sync_entity__", None)) is not None
        for row in tables.rows[model]
    ]
    return await changes.write_numbered(session, notes, at=at, chunk=2000)


def _dependency_order(tables: _Tables) -> list[type[SQLModel]]:
    """The models in foreign-key order (a table after the tables it references)."""
    rank = {t.name: i for i, t in enumerate(SQLModel.metadata.sorted_tables)}
    return sorted(tables.order, key=lambda m: rank[m.__table__.name])  # type: ignore[attr-defined]


async def _insert_all(session: AsyncSession, tables: _Tables) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in _dependency_order(tables):
        rows = tables.rows[model]
        if not rows:
            continue
        defaults = _column_defaults(model)
        columns = set(defaults)
        for row in rows:
            for name in columns - row.keys():
                row[name] = defaults[name]()
        table = model.__table__  # type: ignore[attr-defined]
        for i in range(0, len(rows), 1000):
            await session.execute(insert(table), rows[i : i + 1000])
        counts[table.name] = len(rows)
    return counts


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


SOURCE_WEIGHTS = (
    ("bigdata", 45),
    ("honorary_official", 15),
    ("resident_report", 10),
    ("agency_referral", 10),
    ("lonely_death_screening", 10),
    ("benefit_rejected", 10),
)
SOURCE_INDICATORS = {
    "bigdata": (
        "power_cut",
        "water_cut",
        "gas_cut",
        "health_insurance_arrears",
        "telecom_arrears",
        "national_pension_arrears",
        "rent_overdue",
        "management_fee_overdue",
    ),
    "lonely_death_screening": ("isolation", "heating_lack", "food_insecurity"),
    "agency_referral": ("medical_crisis", "abuse_suspected", "homeless", "debt", "hoarding"),
    "resident_report": ("isolation", "hoarding", "food_insecurity", "heating_lack"),
    "honorary_official": ("isolation", "food_insecurity", "heating_lack", "rent_overdue"),
    "benefit_rejected": ("benefit_rejected", "benefit_terminated", "unemployment"),
}
HOUSEHOLD_TYPES = (
    ("single_elderly", 40),
    ("elderly_couple", 12),
    ("single_middle", 18),
    ("single_parent", 10),
    ("grandparent", 5),
    ("disability_family", 8),
    ("young_adult", 7),
)
RESOURCES = (
    # name, kind, category, provider ("public" or private org index), capacity, default amount, eligibility
    (
        "긴급복지지원 생계지원",
        "public_benefit",
        "emergency_welfare",
        "public",
        None,
        1_832_000,
        "위기사유 발생, 기준중위소득 75% 이하",
    ),
    (
        "긴급복지지원 의료지원",
        "public_benefit",
        "emergency_welfare",
        "public",
        None,
        3_000_000,
        "중한 질병·부상, 기준중위소득 75% 이하",
    ),
    (
        "국민기초생활보장 생계급여",
        "public_benefit",
        "basic_livelihood",
        "public",
        None,
        765_444,
        "기준중위소득 32% 이하",
    ),
    ("의료급여", "public_benefit", "medical_aid", "public", None, None, "기초생활보장 수급자 등"),
    (
        "에너지바우처",
        "public_benefit",
        "energy_voucher",
        "public",
        None,
        304_000,
        "생계·의료급여 수급 가구 중 노인·장애인·영유아 등 포함",
    ),
    ("주거급여", "public_benefit", "housing_benefit", "public", None, 341_000, "기준중위소득 48% 이하"),
    ("노인맞춤돌봄서비스", "public_benefit", "care_service", "public", 120, None, "65세 이상 독거·취약 노인"),
    ("국민취업지원제도", "public_benefit", "employment", "public", None, 500_000, "15~69세 구직자, 소득 요건"),
    ("푸드뱅크 식료품 꾸러미", "private_resource", "food_bank", 3, 400, 50_000, "결식 우려 가구"),
    ("겨울철 난방유 지원", "private_resource", "heating_fuel", 1, 150, 300_000, "난방 취약 가구"),
    ("사랑의 연탄 나눔", "private_resource", "heating_fuel", 0, 200, 240_000, "연탄 사용 가구"),
    ("저소득 의료비 지원", "private_resource", "medical_expense", 0, 40, 1_000_000, "의료비 부담 가구, 사례회의 결정"),
    ("생활용품·방한용품 지원", "private_resource", "living_support", 0, 300, 100_000, "생활 위기 가구"),
    ("장애인 가구 생계비 지원", "private_resource", "living_support", 2, 60, 500_000, "장애인 가구"),
    ("자활 직업훈련", "private_resource", "education_training", 4, 50, None, "근로 능력 있는 저소득층"),
    ("주거환경 개선 (도배·장판)", "private_resource", "housing_repair", 0, 30, 1_500_000, "노후·위험 주거"),
)
PRIVATE_ORGS = ("온기노인종합복지관", "온기장애인복지관", "온기푸드뱅크", "한빛지역자활센터")
FACILITY_KINDS = (("senior_center", "경로당"), ("shelter", "한파쉼터"), ("community_child_center", "지역아동센터"))


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
    g = _Gen(spec, seed, today, tz)
    password_hash = await security.hash_password(DEMO_PASSWORD)

    demo_users = {
        u.username: u
        for u in (await session.execute(select(User).where(User.username.in_([n for n, *_ in stats.logins])))).scalars()
    }
    demo_orgs = {o.id: o for o in (await session.execute(select(Organization))).scalars()}
    templates, missing = await _templates(session, spec, g)
    world = _World(g, spec, demo_users, demo_orgs, password_hash, templates, security)
    world.build()

    images = _demo_images(6) if world.photo_count else []
    world.photos(images)
    stats.missing = missing + world.missing
    if storage is not None and images:
        from app.media.photos import content_key, thumbnail_key

        for image in images:
            for key, data in (
                (content_key(image["sha256"]), image["bytes"]),
                (thumbnail_key(image["thumb_sha256"]), image["thumb"]),
            ):
                if not await storage.exists(key):
                    await storage.put_stream(key, _once(data), content_type="image/jpeg")

    counts = await _insert_all(session, g.t)
    counts["household_search_key"] = await refresh_search_keys(session, [h["id"] for h in world.households])
    counts["change_log"] = await _reserve_and_log(session, g.t, g.anchor)
    await session.flush()
    stats.counts = counts
    stats.seconds = clock.perf_counter() - started
    log.info("demo_generated", size=size, seed=seed, seconds=round(stats.seconds, 2), **counts)
    return stats


async def _once(data: bytes) -> Any:
    yield data


async def _templates(session: AsyncSession, spec: SizeSpec, g: _Gen) -> tuple[dict[str, dict[str, Any]], list[str]]:
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


class _World:
    """Builds every row of the district in memory, in dependency order."""

    def __init__(
        self,
        g: _Gen,
        spec: SizeSpec,
        demo_users: dict[str, User],
        orgs: dict[uuid.UUID, Organization],
        password_hash: str,
        templates: dict[str, dict[str, Any]],
        security: Security,
    ) -> None:
        self.g = g
        self.security = security
        self.missing: list[str] = []
        self.rng = g.rng
        self.spec = spec
        self.demo = demo_users
        self.orgs = orgs
        self.password_hash = password_hash
        self.templates = templates
        self.photo_count = spec.photos
        self.user_org: dict[uuid.UUID, uuid.UUID] = {u.id: u.organization_id for u in demo_users.values()}
        self.dong_planners: dict[int, list[uuid.UUID]] = defaultdict(list)
        self.dong_coordinator: dict[int, uuid.UUID] = {}
        self.partners: list[uuid.UUID] = []
        self.partner_orgs: list[uuid.UUID] = []
        self.org_staff: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        self.households: list[dict[str, Any]] = []
        self.household_visits: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        self.visit_team: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.consented: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)  # household → organizations
        self.campaigns: list[tuple[uuid.UUID, date, date]] = []
        self.completed_visits: list[dict[str, Any]] = []
        self.open_visits: list[dict[str, Any]] = []
        self.cases: list[dict[str, Any]] = []
        self.case_team: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.supports: list[dict[str, Any]] = []
        self.plans: dict[uuid.UUID, dict[str, Any]] = {}

    # --- people ---------------------------------------------------------------------------------------------

    def _org(self, name: str, kind: OrgKind, jurisdiction: list[str]) -> uuid.UUID:
        row = self.g.t.add(
            Organization,
            {
                **self.g.base(self.g.anchor - timedelta(days=400)),
                "name": name,
                "kind": kind.value,
                "jurisdiction": jurisdiction,
                "active": True,
            },
        )
        return row["id"]  # type: ignore[no-any-return]

    def _user(self, org_id: uuid.UUID, username: str, role: Role, title: str) -> uuid.UUID:
        rng = self.rng
        row = self.g.t.add(
            User,
            {
                **self.g.base(self.g.anchor - timedelta(days=rng.randrange(30, 400))),
                "organization_id": org_id,
                "username": username,
                "display_name": f"{names.staff_name(rng)} ({title})",
                "role": role.value,
                "password_hash": self.password_hash,
                "phone": names.fake_office_phone(rng),
                "active": True,
                "jurisdiction": None,
                "scopes": [],
            },
        )
        self.user_org[row["id"]] = org_id
        self.org_staff[org_id].append(row["id"])
        return row["id"]  # type: ignore[no-any-return]

    def people(self) -> None:
        spec, g = self.spec, self.g
        planner, partner = self.demo["planner"], self.demo["partner"]
        for d in range(spec.dongs):
            org = self._org(f"온기구 {names.DONG_NAMES[d]} 행정복지센터", OrgKind.public, [g.dongs[d]])
            self.dong_coordinator[d] = self._user(org, f"coordinator-{d + 1:02d}", Role.coordinator, "맞춤형복지팀장")
            self.dong_planners[d].append(self._user(org, f"planner-{d + 1:03d}", Role.planner, "맞춤형복지팀 주무관"))
        for i in range(spec.dongs, spec.planners - 1):
            d = i % spec.dongs
            org_id = self.user_org[self.dong_planners[d][0]]
            self.dong_planners[d].append(self._user(org_id, f"planner-{i + 1:03d}", Role.planner, "복지플래너"))
        for d in (0, 1):
            self.dong_planners[d].insert(0, planner.id)
        self.org_staff[partner.organization_id].append(partner.id)
        self.partners.append(partner.id)
        self.partner_orgs = [partner.organization_id]
        for name in PRIVATE_ORGS:
            self.partner_orgs.append(self._org(name, OrgKind.private, [DISTRICT]))
        for i in range(spec.partners - 1):
            org_id = self.partner_orgs[(i + 1) % len(self.partner_orgs)]
            self.partners.append(self._user(org_id, f"partner-{i + 1:03d}", Role.partner, "사회복지사"))
        honorary = self.demo["reporter"].organization_id
        self.reporters = [self.demo["reporter"].id] + [
            self._user(honorary, f"reporter-{i + 1:02d}", Role.reporter, "명예사회복지공무원")
            for i in range(spec.reporters - 1)
        ]
        self.coordinator = self.demo["coordinator"].id
        self.public_org = self.demo["coordinator"].organization_id

    def dong_of_user_planner(self, d: int, *, avoid_demo: bool = False) -> uuid.UUID:
        planners = self.dong_planners[d]
        if avoid_demo:
            planners = [p for p in planners if p != self.demo["planner"].id] or planners
        return self.rng.choice(planners)

    # --- campaigns and facilities ---------------------------------------------------------------------------

    def campaigns_and_facilities(self) -> None:
        g, rng = self.g, self.rng
        start, end = winter_period(g.today)
        periods = [(start, end)]
        if g.today < start:
            periods.insert(0, winter_period(date(start.year - 1, 12, 20)))
        for s, e in periods:
            row = g.t.add(
                Campaign,
                {
                    **g.base(g.local(s, 9) - timedelta(days=20)),
                    "name": f"{s.year}~{e.year} 겨울철 복지위기가구 집중 발굴",
                    "starts_on": s,
                    "ends_on": e,
                    "district_codes": [DISTRICT],
                    "criteria": {},
                    "organization_id": self.public_org,
                    "active": True,
                    "description": "한파·난방비 부담 위기가구 집중 발굴 및 민관 합동 방문",
                    "created_by_id": self.coordinator,
                },
            )
            self.campaigns.append((row["id"], s, e))
        self.facilities: list[tuple[dict[str, Any], int]] = []
        for d in range(self.spec.dongs):
            kind, kind_ko = FACILITY_KINDS[d % len(FACILITY_KINDS)]
            row = g.t.add(
                Facility,
                {
                    **g.base(g.anchor - timedelta(days=500)),
                    "name": f"{names.DONG_NAMES[d]} {kind_ko}",
                    "kind": kind,
                    "district_code": DISTRICT,
                    "dong_code": g.dongs[d],
                    "address": names.address(rng, d)[0],
                    "contact_phone": names.fake_office_phone(rng),
                    "operator": "온기구" if kind != "community_child_center" else PRIVATE_ORGS[0],
                    "capacity": rng.randrange(15, 60),
                    "active": True,
                },
            )
            self.facilities.append((row, d))

    def campaign_on(self, day: date) -> uuid.UUID | None:
        for cid, s, e in self.campaigns:
            if s <= day <= e:
                return cid
        return None

    # --- households -----------------------------------------------------------------------------------------

    def _members(self, kind: str) -> tuple[list[dict[str, Any]], list[str]]:
        rng, year = self.rng, self.g.today.year
        members: list[dict[str, Any]] = []
        tags: set[str] = set()

        def add(relation: str, age: int, female: bool, member_tags: list[str]) -> None:
            birth = year - age
            members.append(
                {
                    "key": f"m{len(members) + 1}",
                    "name": names.person_name(rng, birth, female, year),
                    "birth_year": birth,
                    "relation": relation,
                    "tags": member_tags,
                }
            )

        if kind == "single_elderly":
            extra = ["chronic_illness"] if rng.random() < 0.5 else []
            add("head", rng.randrange(66, 93), rng.random() < 0.7, ["elderly", *extra])
            tags |= {"elderly", "single_person", *extra}
        elif kind == "elderly_couple":
            add("head", rng.randrange(68, 90), False, ["elderly"])
            add("spouse", rng.randrange(65, 88), True, ["elderly", "chronic_illness"])
            tags |= {"elderly", "chronic_illness"}
        elif kind == "single_middle":
            extra = rng.sample(["unemployed", "chronic_illness"], rng.randrange(1, 3))
            add("head", rng.randrange(40, 64), rng.random() < 0.35, extra)
            tags |= {"single_person", *extra}
        elif kind == "single_parent":
            add("head", rng.randrange(28, 50), rng.random() < 0.8, [])
            for _ in range(rng.randrange(1, 4)):
                add("child", rng.randrange(2, 17), rng.random() < 0.5, ["child"])
            tags |= {"single_parent", "child"}
        elif kind == "grandparent":
            add("head", rng.randrange(65, 82), rng.random() < 0.6, ["elderly"])
            for _ in range(rng.randrange(1, 3)):
                add("grandchild", rng.randrange(5, 17), rng.random() < 0.5, ["child"])
            tags |= {"grandparent_family", "elderly", "child"}
        elif kind == "disability_family":
            add("head", rng.randrange(45, 75), rng.random() < 0.5, [])
            add("child", rng.randrange(18, 45), rng.random() < 0.4, ["disability"])
            tags |= {"disability"}
        else:
            add("head", rng.randrange(19, 34), rng.random() < 0.5, ["unemployed"])
            if rng.random() < 0.4:
                add("parent", rng.randrange(55, 80), rng.random() < 0.5, ["disability", "chronic_illness"])
                tags |= {"young_adult_carer", "disability"}
            tags |= {"unemployed"} if len(members) == 1 else set()
            if len(members) == 1:
                tags.add("single_person")
        return members, sorted(tags)

    def households_and_signals(self) -> None:
        g, rng, spec = self.g, self.rng, self.spec
        try:
            from app.households import scoring
        except ImportError:  # pragma: no cover - the households package ships with the app
            scoring = None  # type: ignore[assignment]
        for i in range(spec.households):
            d = i % spec.dongs
            kind = _pick(rng, HOUSEHOLD_TYPES)
            members, tags = self._members(kind)
            main, detail, housing = names.address(rng, d)
            engaged = rng.random() >= 0.15
            first_seen = g.today - timedelta(days=rng.randrange(21, 400) if engaged else rng.randrange(0, 20))
            hid = g.uid()
            signals = []
            for k in range(rng.choices((1, 2, 3), (55, 30, 15))[0]):
                source = _pick(rng, SOURCE_WEIGHTS)
                span = max(0, (g.today - first_seen).days)
                day = first_seen if k == 0 else first_seen + timedelta(days=rng.randrange(span + 1))
                observed = g.before_anchor(g.local(day, rng.randrange(0, 24), rng.randrange(60)))
                indicators = sorted(rng.sample(SOURCE_INDICATORS[source], rng.randrange(1, 3)))
                if source == "bigdata":
                    details: dict[str, Any] = {"months_overdue": rng.randrange(2, 9)}
                    ref = f"NBD-{observed.year}-{rng.randrange(10**6):06d}"
                elif source == "benefit_rejected":
                    details, ref = {"program": "basic_livelihood"}, None
                else:
                    details, ref = {}, None
                signals.append(
                    g.t.add(
                        Signal,
                        {
                            **g.base(observed),
                            "household_id": hid,
                            "source": source,
                            "indicators": indicators,
                            "observed_at": observed,
                            "external_ref": ref,
                            "details": details,
                            "recorded_by_id": None,
                        },
                    )
                )
            head = members[0]["name"]
            risk, priority = "moderate", 30
            if scoring is not None:
                facts = [scoring.SignalFact(s["source"], tuple(s["indicators"]), s["observed_at"]) for s in signals]
                score = scoring.compute(facts, scoring.vulnerability_tags(tags, members, g.anchor), now=g.anchor)
                risk, priority = score.level.value, score.priority
            row = g.t.add(
                Household,
                {
                    **g.base(signals[0]["observed_at"], hid),
                    "district_code": DISTRICT,
                    "dong_code": g.dongs[d],
                    "address": main,
                    "address_detail": detail,
                    "head_name": head,
                    "contact_phone": names.fake_mobile(rng) if rng.random() < 0.85 else None,
                    "members": members,
                    "tags": tags,
                    "living_situation": rng.choice(names.LIVING[housing]),
                    "risk_level": risk,
                    "priority": priority,
                    "status": "identified",
                    "status_changed_at": signals[0]["observed_at"],
                    "recurrence_at": None,
                    "recurrence_count": 0,
                    "coordinator_id": self.dong_coordinator[d],
                    "match_key": _match_key(self.security, main, detail, head),
                    "deleted_at": None,
                },
            )
            row["_dong_index"] = d
            row["_engaged"] = engaged
            row["_first_seen"] = first_seen
            row["_elderly_single"] = "elderly" in tags and "single_person" in tags
            self.households.append(row)

    # --- visits ---------------------------------------------------------------------------------------------

    def _pins(self, purpose: str, household: dict[str, Any] | None) -> list[dict[str, Any]]:
        if self.spec.bench_templates:
            keys = {
                "identification": ["ongi_home_visit"],
                "assessment": ["ongi_home_visit"],
                "joint_consultation": ["ongi_home_visit"],
                "follow_up": ["ongi_follow_up"],
                "safety_inspection": ["ongi_cold_wave"],
            }[purpose]
        else:
            keys = {
                "identification": ["crisis_household_assessment"],
                "assessment": ["crisis_household_assessment"],
                "joint_consultation": ["lonely_death_screening"],
                "follow_up": ["lonely_death_screening"],
                "safety_inspection": ["winter_facility_safety"],
            }[purpose]
            if purpose in ("identification", "assessment") and household and household["_elderly_single"]:
                keys = [*keys, "lonely_death_screening"]
        return [{"key": k, "version": self.templates[k]["version"]} for k in keys if k in self.templates]

    def _visit(
        self,
        household: dict[str, Any] | None,
        team: list[uuid.UUID],
        purpose: str,
        day: date,
        start_hour: int,
        *,
        status: str,
        minute: int = 0,
        hours: int = 2,
        facility: dict[str, Any] | None = None,
        campaign: uuid.UUID | None = None,
        photos: bool | None = None,
    ) -> dict[str, Any]:
        g, rng = self.g, self.rng
        start = g.local(day, start_hour, minute)
        end = start + timedelta(hours=hours)
        created = g.before_anchor(start - timedelta(days=rng.randrange(1, 10), minutes=rng.randrange(600)))
        expects = photos if photos is not None else (rng.random() < 0.2)
        row: dict[str, Any] = {
            **g.base(created),
            "household_id": household["id"] if household else None,
            "facility_id": facility["id"] if facility else None,
            "dong_code": household["dong_code"] if household else facility["dong_code"],  # type: ignore[index]
            "purpose": purpose,
            "status": status,
            "campaign_id": campaign,
            "window_start": start,
            "window_end": end,
            "checklists": self._pins(purpose, household),
            "expected_photos": [{"key": "living_condition", "label": "주거 환경"}] if expects else [],
            "outcome": None,
            "checked_in_at": None,
            "checked_in_device_at": None,
            "checked_out_at": None,
            "checked_out_device_at": None,
            "created_by_id": team[0],
            "cancel_reason": None,
            "deleted_at": None,
        }
        if status in ("completed", "no_contact", "refused", "in_progress"):
            checked_in = start + timedelta(minutes=rng.randrange(0, 40))
            row["checked_in_at"] = g.before_anchor(checked_in) if status == "in_progress" else checked_in
            row["checked_in_device_at"] = row["checked_in_at"] + timedelta(seconds=rng.randrange(-90, 90))
        if status in ("completed", "no_contact", "refused"):
            out = row["checked_in_at"] + timedelta(minutes=rng.randrange(10, 80))
            row["checked_out_at"] = out
            row["checked_out_device_at"] = out + timedelta(seconds=rng.randrange(-90, 90))
            row["outcome"] = {
                "completed": rng.choice(names.OUTCOMES),
                "no_contact": "부재, 연락처 남김",
                "refused": "방문 거부, 추후 재시도",
            }[status]
            row["updated_at"] = g.before_anchor(out)
        g.t.add(Visit, row)
        self.visit_team[row["id"]] = team
        for i, user_id in enumerate(team):
            g.t.add(
                VisitAssignee,
                {
                    **g.base(created),
                    "visit_id": row["id"],
                    "user_id": user_id,
                    "organization_id": self.user_org[user_id],
                    "lead": i == 0,
                    "ended_at": None,
                },
            )
        if household is not None:
            self.household_visits[household["id"]].append(row)
            for user_id in team:
                if self.user_org[user_id] in self.partner_orgs:
                    household.setdefault("_partner_orgs", set()).add(self.user_org[user_id])
        if status == "completed":
            self.completed_visits.append(row)
        elif status in ("scheduled", "in_progress"):
            self.open_visits.append(row)
        return row

    def demo_day(self) -> int:
        """The demo planner's working day today, two visits of it joint with the demo partner, and the
        partner's other joint visits this week (one household without consent, to show redaction)."""
        g = self.g
        planner, partner = self.demo["planner"].id, self.demo["partner"].id
        pool = [h for h in self.households if h["_engaged"] and h["_dong_index"] in (0, 1)]
        day_plan = (
            ("identification", 9, 30, [planner]),
            ("joint_consultation", 10, 40, [planner, partner]),
            ("assessment", 13, 0, [planner]),
            ("joint_consultation", 14, 10, [planner, partner]),
            ("follow_up", 15, 30, [planner]),
            ("assessment", 16, 30, [planner]),
        )
        used = 0
        campaign = self.campaign_on(g.today)
        for i, (purpose, hour, minute, team) in enumerate(day_plan):
            household = pool[i]
            self._visit(
                household,
                team,
                purpose,
                g.today,
                hour,
                minute=minute,
                hours=1,
                status="scheduled",
                campaign=campaign if purpose in ("identification", "assessment") else None,
                photos=i == 1,
            )
            if partner in team:
                household["_demo_consent"] = True
            used += 1
        for k in range(3):
            household = pool[len(day_plan) + k]
            self._visit(
                household,
                [planner, partner],
                "joint_consultation",
                g.today + timedelta(days=k + 1),
                10 + 2 * k,
                hours=1,
                status="scheduled",
            )
            household["_demo_consent"] = k != 2
            household["_demo_no_consent"] = k == 2
            used += 1
        for k in range(3):  # a few of the planner's finished visits last week
            household = pool[len(day_plan) + 3 + k]
            self._visit(household, [planner], "assessment", g.today - timedelta(days=k + 2), 10, status="completed")
            used += 1
        return used

    def visits(self) -> None:
        g, rng, spec = self.g, self.rng, self.spec
        used = self.demo_day()
        for cid, s, e in self.campaigns:
            for facility, d in self.facilities:
                planner = self.dong_of_user_planner(d)
                if e < g.today:
                    day = s + timedelta(days=rng.randrange((e - s).days + 1))
                    self._visit(
                        None,
                        [planner],
                        "safety_inspection",
                        day,
                        10,
                        facility=facility,
                        campaign=cid,
                        status="completed",
                    )
                else:
                    day = max(s, g.today) + timedelta(days=rng.randrange(1, 14))
                    self._visit(
                        None,
                        [planner],
                        "safety_inspection",
                        day,
                        14,
                        facility=facility,
                        campaign=cid,
                        status="scheduled",
                    )
                used += 1
        engaged = [h for h in self.households if h["_engaged"]]
        rng.shuffle(engaged)
        remaining = max(0, spec.visits - used)
        for k in range(remaining):
            household = engaged[k % len(engaged)]
            d = household["_dong_index"]
            earlier = self.household_visits[household["id"]]
            first_seen = household["_first_seen"]
            is_open = rng.random() < 0.75 or (g.today - first_seen).days < 2
            if is_open:
                offset = rng.randrange(-3, 28)
                day = g.today + timedelta(days=offset)
                status = "scheduled"
            else:
                low = max((g.today - first_seen).days - 1, 1)
                day = g.today - timedelta(days=rng.randrange(1, min(low, 365) + 1))
                status = _pick(rng, (("completed", 85), ("no_contact", 10), ("refused", 5)))
            # the demo logins' day today is the one demo_day() planned
            today_ok = day != g.today
            partners = self.partners if today_ok else self.partners[1:] or self.partners
            if rng.random() < 0.15:
                team = [rng.choice(partners)]
                purpose = "follow_up"
            else:
                team = [self.dong_of_user_planner(d, avoid_demo=not today_ok)]
                if rng.random() < 0.33:
                    team.append(rng.choice(partners))
                if not earlier:
                    purpose = "identification"
                elif len(team) > 1 and rng.random() < 0.5:
                    purpose = "joint_consultation"
                else:
                    purpose = rng.choice(("assessment", "follow_up", "assessment"))
            campaign = None
            if purpose in ("identification", "assessment", "joint_consultation") and rng.random() < 0.8:
                campaign = self.campaign_on(day)
            start_hour = rng.choice((9, 10, 11, 13, 14, 15, 16))
            self._visit(household, team, purpose, day, start_hour, status=status, campaign=campaign)

    def consents(self) -> None:
        g, rng = self.g, self.rng
        demo_org = self.demo["partner"].organization_id
        for household in self.households:
            orgs = sorted(household.get("_partner_orgs", set()), key=str)
            if not orgs:
                continue
            if household.get("_demo_no_consent"):
                orgs = [o for o in orgs if o != demo_org]
                if not orgs:
                    continue
            roll = rng.random()
            if not household.get("_demo_consent") and roll >= 0.85:
                if roll < 0.92:  # refused
                    orgs, status = orgs[:1], "refused"
                else:
                    continue
            else:
                status = "given"
            d = household["_dong_index"]
            valid_from = g.anchor - timedelta(days=rng.randrange(1, 300))
            all_partners = status == "given" and rng.random() < 0.4 and not household.get("_demo_no_consent")
            targets: list[uuid.UUID | None] = [None] if all_partners else list(orgs)
            for org in targets:
                g.t.add(
                    Consent,
                    {
                        **g.base(valid_from),
                        "household_id": household["id"],
                        "status": status,
                        "given_by": rng.choice(("세대주 본인", "세대주 본인", "배우자", "자녀")),
                        "recorded_by_id": self.dong_of_user_planner(d),
                        "recipient_kind": "all_partners" if org is None else "organization",
                        "recipient_organization_id": org,
                        "purposes": [
                            "identification",
                            "assessment",
                            "joint_consultation",
                            "follow_up",
                            "service_linkage",
                            "case_management",
                        ],
                        "valid_from": valid_from,
                        "valid_until": g.anchor + timedelta(days=365),
                        "withdrawn_at": None,
                    },
                )
                if status == "given":
                    self.consented[household["id"]].update(self.partner_orgs if org is None else [org])

    # --- checklists, notes, photos ----------------------------------------------------------------------------

    def _value(self, item: dict[str, Any], day: date) -> Any:
        rng = self.rng
        kind = item["type"]
        if kind == "boolean":
            return rng.random() < 0.4
        if kind == "single_choice":
            return rng.choice(item["options"])["value"]
        if kind == "multi_choice":
            options = [o["value"] for o in item["options"]]
            return rng.sample(options, rng.randrange(1, min(3, len(options)) + 1))
        if kind == "number":
            low = item.get("min", 0) if item.get("min") is not None else 0
            high = item.get("max", 100) if item.get("max") is not None else max(low, 0) + 100
            return rng.randrange(int(low), int(high) + 1)
        if kind == "date":
            return (day - timedelta(days=rng.randrange(0, 200))).isoformat()
        if kind == "text":
            return rng.choice(names.OBSERVATIONS)
        return None  # photos are answered by uploads

    def responses(self) -> None:
        try:
            from app.checklists.models import ChecklistResponse
            from app.checklists.rules import evaluate
        except ImportError:
            return
        g = self.g
        for visit in self.completed_visits:
            author = self.visit_team[visit["id"]][0]
            at = visit["checked_out_at"]
            day = at.astimezone(g.tz).date()
            for pin in visit["checklists"]:
                template = self.templates[pin["key"]]
                values = {item["key"]: self._value(item, day) for item in template["items"]}
                values = {k: v for k, v in values.items() if v is not None}
                result = evaluate(template["items"], template["bands"], values)
                kept = {k: v for k, v in values.items() if result.visible.get(k)}
                stamp = at.isoformat()
                g.t.add(
                    ChecklistResponse,
                    {
                        **g.base(at),
                        "visit_id": visit["id"],
                        "household_id": visit["household_id"],
                        "template_id": template["id"],
                        "template_key": pin["key"],
                        "template_version": pin["version"],
                        "answers": {
                            k: {"value": v, "answered_by": str(author), "answered_at": stamp} for k, v in kept.items()
                        },
                        "item_versions": dict.fromkeys(kept, 1),
                        "score": result.score,
                        "band": result.band_key,
                        "risk_level": result.risk_level,
                        "completed": not result.missing_required,
                        "completed_at": at if not result.missing_required else None,
                        "completed_by_id": author if not result.missing_required else None,
                        "created_by_id": author,
                        "deleted_at": None,
                    },
                )

    def notes(self) -> None:
        try:
            from app.notes.models import Note
        except ImportError:
            self.missing.append("notes (app.notes.models.Note)")
            return
        g, rng = self.g, self.rng
        household_visits = [v for v in self.completed_visits + self.open_visits if v["household_id"] is not None]
        finished = [v for v in household_visits if v["checked_out_at"] is not None]
        for k in range(self.spec.notes):
            roll = rng.random()
            if roll < 0.72 and household_visits:
                visit = rng.choice(finished) if finished and rng.random() < 0.85 else rng.choice(household_visits)
                author = rng.choice(self.visit_team[visit["id"]])
                base_at = visit["checked_out_at"] or visit["created_at"]
                at = g.before_anchor(base_at + timedelta(minutes=rng.randrange(1, 600)))
                target = {"visit_id": visit["id"], "household_id": visit["household_id"], "case_id": None}
                kind = "consultation" if rng.random() < 0.4 else "observation"
            elif roll < 0.9 or not self.cases:
                household = self.households[k % len(self.households)]
                author = (
                    household["coordinator_id"]
                    if rng.random() < 0.3
                    else self.dong_of_user_planner(household["_dong_index"])
                )
                at = g.before_anchor(household["created_at"] + timedelta(days=rng.randrange(0, 30)))
                target = {"visit_id": None, "household_id": household["id"], "case_id": None}
                kind = "observation"
            else:
                case = rng.choice(self.cases)
                author = rng.choice(self.case_team[case["id"]])
                at = g.before_anchor(case["opened_at"] + timedelta(days=rng.randrange(0, 20)))
                target = {"visit_id": None, "household_id": None, "case_id": case["id"]}
                kind = "case_conference" if rng.random() < 0.5 else "consultation"
            body = {
                "observation": names.OBSERVATIONS,
                "consultation": names.CONSULTATIONS,
                "case_conference": names.CONFERENCE,
            }[kind]
            g.t.add(
                Note,
                {
                    **g.base(at),
                    **target,
                    "author_id": author,
                    "author_organization_id": self.user_org[author],
                    "body": rng.choice(body),
                    "kind": kind,
                    "internal": rng.random() < 0.1,
                    "deleted_at": None,
                    "deleted_by_id": None,
                },
            )

    def photos(self, images: list[dict[str, Any]]) -> None:
        if not images:
            return
        try:
            from app.media.models import Photo
            from app.media.photos import content_key, thumbnail_key
        except ImportError:
            self.missing.append("photos (app.media.models.Photo)")
            return
        g, rng = self.g, self.rng
        targets = [v for v in self.completed_visits if v["household_id"] is not None]
        expecting = [v for v in targets if v["expected_photos"]]
        photo_items = {
            "lonely_death_screening": "home_condition_photo",
            "crisis_household_assessment": "living_condition_photo",
        }
        photo_items |= {key: "home_photo" for key, *_ in BENCH_KEYS}
        if not targets:
            return
        for k in range(self.spec.photos):
            visit = expecting[k % len(expecting)] if expecting and k < 2 * len(expecting) else rng.choice(targets)
            if visit["expected_photos"] and rng.random() < 0.7:
                item_key: str | None = visit["expected_photos"][0]["key"]
            else:
                pins = [p["key"] for p in visit["checklists"] if p["key"] in photo_items]
                item_key = photo_items[pins[0]] if pins else None
            image = images[k % len(images)]
            taken = visit["checked_in_at"] + timedelta(minutes=rng.randrange(1, 30))
            g.t.add(
                Photo,
                {
                    **g.base(visit["checked_out_at"] + timedelta(minutes=rng.randrange(1, 120))),
                    "visit_id": visit["id"],
                    "household_id": visit["household_id"],
                    "item_key": item_key,
                    "caption": rng.choice(("주거 환경", "난방 상태", "냉장고 내부", "현관 앞", None)),
                    "taken_at": taken,
                    "sha256": image["sha256"],
                    "original_sha256": _hex(rng),
                    "size": image["size"],
                    "width": image["width"],
                    "height": image["height"],
                    "content_type": "image/jpeg",
                    "storage_key": content_key(image["sha256"]),
                    "thumbnail_key": thumbnail_key(image["thumb_sha256"]),
                    "thumbnail_sha256": image["thumb_sha256"],
                    "thumbnail_size": image["thumb_size"],
                    "uploaded_by_id": self.visit_team[visit["id"]][0],
                    "upload_id": None,
                    "deleted_at": None,
                    "deleted_by_id": None,
                },
            )

    # --- care -------------------------------------------------------------------------------------------------

    def resources(self) -> None:
        g, rng = self.g, self.rng
        self.resource_rows: list[dict[str, Any]] = []
        staffed = [o for o in self.partner_orgs if self.org_staff.get(o)]
        for name, kind, category, provider, capacity, amount, eligibility in RESOURCES:
            if provider == "public":
                provider_id = self.public_org
            else:
                provider_id = self.partner_orgs[int(provider) % len(self.partner_orgs)]
                if provider_id not in staffed:
                    provider_id = staffed[int(provider) % len(staffed)]
            self.resource_rows.append(
                g.t.add(
                    Resource,
                    {
                        **g.base(g.anchor - timedelta(days=rng.randrange(200, 500))),
                        "name": name,
                        "kind": kind,
                        "category": category,
                        "description": None,
                        "provider_organization_id": provider_id,
                        "district_code": DISTRICT,
                        "eligibility": eligibility,
                        "capacity": capacity,
                        "remaining": capacity,
                        "unit": "household",
                        "default_amount": amount,
                        "contact": names.fake_office_phone(rng),
                        "active": True,
                        "created_by_id": self.coordinator,
                        "deleted_at": None,
                    },
                )
            )

    def cases_(self) -> None:
        g, rng = self.g, self.rng
        with_partner = [h for h in self.households if h.get("_partner_orgs") and self.consented.get(h["id"])]
        chosen = {h["id"] for h in with_partner}
        others = [h for h in self.households if h["_engaged"] and h["id"] not in chosen]
        pool = with_partner[: self.spec.cases] + others
        stages = (
            (CaseStage.intake, 10),
            (CaseStage.assessment, 15),
            (CaseStage.conference, 10),
            (CaseStage.planning, 10),
            (CaseStage.service, 25),
            (CaseStage.monitoring, 10),
            (CaseStage.closed, 15),
            (CaseStage.follow_up, 5),
        )
        order = list(CaseStage)
        for household in pool[: self.spec.cases]:
            d = household["_dong_index"]
            stage = _pick(rng, stages)
            opened = g.anchor - timedelta(days=rng.randrange(2, 150), hours=rng.randrange(10))
            manager = self.dong_of_user_planner(d)
            case = Case(
                household_id=household["id"],
                dong_code=household["dong_code"],
                manager_id=manager,
                stage=stage,
                stage_started_at=opened,
                opened_at=opened,
            )
            reached = order.index(stage)
            moments: list[tuple[CaseStage, datetime]] = [(CaseStage.intake, opened)]
            at = opened
            for step in order[1 : reached + 1]:
                at = g.before_anchor(at + timedelta(days=rng.randrange(1, 12), hours=rng.randrange(8)))
                moments.append((step, at))
            done = dict(moments)
            case.assessment_done_at = done.get(CaseStage.conference)
            case.conference_done_at = done.get(CaseStage.planning)
            case.plan_done_at = done.get(CaseStage.service)
            case.stage_started_at = moments[-1][1]
            if stage in CASE_CLOSED_STAGES:
                case.closed_at = done[CaseStage.closed]
                case.close_reason = rng.choice(("욕구 해소", "타 기관 이관", "전출", "본인 거부"))
            recompute_due(case)
            row = {
                **g.base(opened),
                "household_id": household["id"],
                "dong_code": household["dong_code"],
                "manager_id": manager,
                "stage": stage.value,
                "stage_started_at": case.stage_started_at,
                "opened_at": opened,
                "closed_at": case.closed_at,
                "close_reason": case.close_reason,
                "goals": [
                    {"key": "g1", "text": "생계 안정", "status": "open", "due_on": None},
                    {
                        "key": "g2",
                        "text": rng.choice(("난방비 부담 해소", "의료 지원 연계", "사회적 관계 회복")),
                        "status": "open",
                        "due_on": None,
                    },
                ],
                "summary": household["living_situation"],
                "assessment_due_on": case.assessment_due_on,
                "conference_due_on": case.conference_due_on,
                "plan_due_on": case.plan_due_on,
                "assessment_done_at": case.assessment_done_at,
                "conference_done_at": case.conference_done_at,
                "plan_done_at": case.plan_done_at,
                "next_due_on": case.next_due_on,
                "created_by_id": manager,
                "deleted_at": None,
                "updated_at": moments[-1][1],
            }
            g.t.add(Case, row)
            self.cases.append(row)
            team = [manager]
            partner_orgs = sorted(self.consented.get(household["id"], set()), key=str)
            partner_staff = [p for p in self.partners if self.user_org[p] in partner_orgs]
            members = [(manager, "manager")]
            if partner_staff:
                partner = rng.choice(partner_staff)
                members.append((partner, "복지관 사례관리"))
                team.append(partner)
            self.case_team[row["id"]] = team
            for user_id, note in members:
                private = self.user_org[user_id] in self.partner_orgs
                g.t.add(
                    CaseMember,
                    {
                        **g.base(opened),
                        "case_id": row["id"],
                        "user_id": user_id,
                        "organization_id": self.user_org[user_id],
                        "ended_at": case.closed_at if private else None,
                        "role_note": note,
                    },
                )
            previous: str | None = None
            for step, moment in moments:
                g.t.add(
                    CaseStageChange,
                    {
                        **g.base(moment),
                        "case_id": row["id"],
                        "from_stage": previous,
                        "to_stage": step.value,
                        "actor_id": manager,
                        "at": moment,
                        "reason": None,
                    },
                )
                previous = step.value
            if case.closed_at is not None:
                self._plan(household, manager, "case_closure", case.closed_at, case_id=row["id"])

    def supports_(self) -> None:
        g, rng = self.g, self.rng
        engaged = [h for h in self.households if h["_engaged"] and self.household_visits.get(h["id"])]
        used: set[tuple[uuid.UUID, uuid.UUID]] = set()
        taken: dict[uuid.UUID, int] = defaultdict(int)
        statuses = (("proposed", 10), ("requested", 15), ("approved", 15), ("provided", 50), ("declined", 10))
        flow = ("proposed", "requested", "approved", "provided")
        for _ in range(self.spec.supports):
            household = rng.choice(engaged)
            resource = rng.choice(self.resource_rows)
            if (household["id"], resource["id"]) in used:
                continue
            used.add((household["id"], resource["id"]))
            d = household["_dong_index"]
            status = _pick(rng, statuses)
            if status == "declined":
                path = [*flow[: rng.randrange(1, 4)], "declined"]
            else:
                path = list(flow[: flow.index(status) + 1])
            visits = self.household_visits[household["id"]]
            start = g.anchor - timedelta(days=rng.randrange(1, 300))
            proposer = self.dong_of_user_planner(d)
            public = resource["kind"] == "public_benefit"
            decider = self.coordinator if public else rng.choice(self.org_staff[resource["provider_organization_id"]])
            moments: list[tuple[str, datetime]] = []
            at = start
            for step in path:
                moments.append((step, g.before_anchor(at)))
                at = at + timedelta(days=rng.randrange(1, 8), hours=rng.randrange(8))
            times = dict(moments)
            capacity_taken = resource["capacity"] is not None and "approved" in times and status != "declined"
            if capacity_taken:
                taken[resource["id"]] += 1
            period_start = times.get("approved", start).astimezone(g.tz).date()
            row = g.t.add(
                Support,
                {
                    **g.base(start),
                    "household_id": household["id"],
                    "resource_id": resource["id"],
                    "case_id": None,
                    "visit_id": rng.choice(visits)["id"] if visits and rng.random() < 0.5 else None,
                    "district_code": DISTRICT,
                    "dong_code": household["dong_code"],
                    "status": status,
                    "amount": resource["default_amount"],
                    "period_start": period_start if "approved" in times else None,
                    "period_end": period_start + timedelta(days=rng.choice((30, 90, 180)))
                    if "approved" in times
                    else None,
                    "provider_organization_id": resource["provider_organization_id"],
                    "reason": rng.choice(names.CONSULTATIONS),
                    "proposed_by_id": proposer,
                    "status_changed_at": moments[-1][1],
                    "requested_at": times.get("requested"),
                    "approved_at": times.get("approved"),
                    "approved_by_id": decider if "approved" in times else None,
                    "provided_at": times.get("provided"),
                    "declined_at": times.get("declined"),
                    "decline_reason": "지원 기준 미충족" if status == "declined" else None,
                    "capacity_taken": capacity_taken,
                    "deleted_at": None,
                    "updated_at": moments[-1][1],
                },
            )
            previous: str | None = None
            for step, moment in moments:
                actor = proposer if step in ("proposed", "requested") else decider
                g.t.add(
                    SupportHistory,
                    {
                        **g.base(moment),
                        "support_id": row["id"],
                        "from_status": previous,
                        "to_status": step,
                        "actor_id": actor,
                        "at": moment,
                        "reason": row["decline_reason"] if step == "declined" else None,
                    },
                )
                previous = step
            self.supports.append(row)
            if status == "provided" and rng.random() < 0.6:
                self._plan(household, proposer, "support", times["provided"], support_id=row["id"])
        for resource in self.resource_rows:
            if resource["capacity"] is not None:
                used_units = taken[resource["id"]]
                resource["capacity"] = max(resource["capacity"], used_units + rng.randrange(3, 20))
                resource["remaining"] = resource["capacity"] - used_units

    def _plan(
        self,
        household: dict[str, Any],
        owner: uuid.UUID,
        source: str,
        started: datetime,
        *,
        support_id: uuid.UUID | None = None,
        case_id: uuid.UUID | None = None,
    ) -> None:
        if household["id"] in self.plans:
            return
        g, rng = self.g, self.rng
        interval = rng.choice((30, 30, 60, 90))
        starts_on = started.astimezone(g.tz).date()
        due = starts_on + timedelta(days=interval)
        while due < g.today - timedelta(days=rng.randrange(0, 6)):
            due += timedelta(days=interval)
        self.plans[household["id"]] = g.t.add(
            MonitoringPlan,
            {
                **g.base(started),
                "household_id": household["id"],
                "district_code": DISTRICT,
                "dong_code": household["dong_code"],
                "owner_id": owner,
                "interval_days": interval,
                "next_due_on": due,
                "starts_on": starts_on,
                "ends_on": None,
                "active": True,
                "source": source,
                "support_id": support_id,
                "case_id": case_id,
                "last_visit_id": None,
                "last_scheduled_at": None,
                "visits_created": 0,
                "note": None,
                "created_by_id": owner,
                "ended_at": None,
            },
        )

    def reports(self) -> None:
        g, rng = self.g, self.rng
        demo_reporter = self.demo["reporter"]
        plan = [("new", 3), ("triaged", 2), ("dismissed", 1)]
        jobs: list[tuple[uuid.UUID, str]] = [(demo_reporter.id, s) for s, n in plan for _ in range(n)]
        for reporter in self.reporters[1:]:
            for _ in range(rng.randrange(2, 5)):
                jobs.append((reporter, _pick(rng, (("new", 25), ("triaged", 60), ("dismissed", 15)))))
        for reporter, status in jobs:
            d = rng.randrange(self.spec.dongs)
            at = g.anchor - timedelta(days=0 if status == "new" else rng.randrange(3, 90), hours=rng.randrange(1, 20))
            household = None
            if status == "triaged":
                candidates = [h for h in self.households if h["_dong_index"] == d]
                household = rng.choice(candidates)
            main, detail, _kind = names.address(rng, d)
            birth = g.today.year - rng.randrange(60, 90)
            g.t.add(
                CrisisReport,
                {
                    **g.base(at),
                    "reporter_id": reporter,
                    "reporter_organization_id": self.user_org[reporter],
                    "observation": rng.choice(names.REPORT_OBSERVATIONS),
                    "address": household["address"] if household else f"{main} {detail or ''}".strip(),
                    "district_code": DISTRICT,
                    "dong_code": g.dongs[d],
                    "subject_name": household["head_name"]
                    if household
                    else names.person_name(rng, birth, rng.random() < 0.6, g.today.year),
                    "subject_phone": None,
                    "indicators": sorted(rng.sample(SOURCE_INDICATORS["honorary_official"], 2)),
                    "observed_at": at - timedelta(days=rng.randrange(0, 3)),
                    "status": status,
                    "household_id": household["id"] if household else None,
                    "triaged_by_id": self.dong_coordinator[d] if status != "new" else None,
                    "triaged_at": at + timedelta(hours=rng.randrange(2, 48)) if status != "new" else None,
                    "outcome_message": {
                        "new": None,
                        "triaged": "담당 공무원이 확인하여 방문 예정입니다. 제보해 주셔서 감사합니다.",
                        "dismissed": "확인 결과 추가 지원이 필요하지 않은 것으로 판단되었습니다.",
                    }[status],
                    "dismiss_reason": "이미 관리 중인 가구" if status == "dismissed" else None,
                    "source": "honorary_official",
                },
            )

    def statuses(self) -> None:
        """Each household's status from what happened to it."""
        g, rng = self.g, self.rng
        supported = {s["household_id"] for s in self.supports if s["status"] in ("approved", "provided")}
        for household in self.households:
            visits = self.household_visits.get(household["id"], [])
            finished = [v for v in visits if v["status"] in ("completed", "no_contact", "refused")]
            completed = [v for v in visits if v["status"] == "completed"]
            is_open = any(v["status"] in ("scheduled", "in_progress") for v in visits)
            if household["id"] in self.plans:
                status = "monitoring"
            elif household["id"] in supported:
                status = "supported"
            elif any(v["purpose"] in ("assessment", "joint_consultation") for v in completed):
                status = "assessed"
            elif finished:
                status = "contacted"
            else:
                status = "identified"
            if status in ("contacted", "assessed") and not is_open and rng.random() < 0.3:
                status = "closed"
            household["status"] = status
            if finished:
                last = max(v["checked_out_at"] for v in finished)
                household["status_changed_at"] = g.before_anchor(last)
                household["updated_at"] = household["status_changed_at"]

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


def _match_key(security: Security, address: str, detail: str | None, head: str) -> str | None:
    try:
        from app.households.matching import match_key
    except ImportError:  # pragma: no cover
        return None
    return match_key(security, address, detail, head)
