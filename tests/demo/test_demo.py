"""The winter-district generator: the demo logins' day through the API, determinism, idempotence, the
benchmark size's numbers (docs/performance.md#budget), the 30-item templates and the command line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.core.times import local_today
from app.core.uow import commit
from app.demo.generator import SIZES, Gen, Stats, World, generate, seed_demo
from app.demo.seed import DEMO_PASSWORD
from app.demo.templates import BENCH_KEYS, bench_template
from app.households.models import Household
from app.notes.models import Note
from app.sync.models import ChangeLog
from app.visits.models import Visit

ROOT = Path(__file__).resolve().parents[2]


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": DEMO_PASSWORD, "device_id": f"d-{username}"},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _small(maker: async_sessionmaker[AsyncSession], app: Any, **kw: Any) -> Stats:
    async with maker() as session:
        stats = await generate(session, "small", security=app.state.ongi.security, today=local_today(), **kw)
        await commit(session)
    return stats


async def test_the_demo_logins_have_a_real_day(client: httpx.AsyncClient, maker: Any, app: Any) -> None:
    stats = await _small(maker, app)
    assert not stats.skipped
    assert stats.missing == []
    assert stats.counts["household"] == SIZES["small"].households
    assert stats.counts["visit"] == SIZES["small"].visits
    assert stats.counts["note"] == SIZES["small"].notes
    assert {u for u, _, _ in stats.logins} == {"admin", "coordinator", "planner", "partner", "reporter"}
    today = local_today().isoformat()

    planner = await _login(client, "planner")
    day = (
        await client.get("/v1/visits", params={"assignee": "me", "from": today, "to": today}, headers=planner)
    ).json()
    visits = day["items"]
    assert len(visits) == 6
    assert all(v["view"] == "full" and v["status"] == "scheduled" for v in visits)
    assert [v["window_start"] for v in visits] == sorted(v["window_start"] for v in visits)
    joint = [v for v in visits if len(v["assignees"]) == 2]
    assert len(joint) == 2
    assert all({m["organization_kind"] for m in v["team"]} == {"public", "private"} for v in joint)
    assert any(p["key"] == "lonely_death_screening" for v in joint for p in v["checklists"])

    partner = await _login(client, "partner")
    mine = (
        await client.get("/v1/visits", params={"assignee": "me", "from": today, "to": today}, headers=partner)
    ).json()
    assert {v["id"] for v in mine["items"]} == {v["id"] for v in joint}
    assert all(v["view"] == "full" for v in mine["items"])  # consent covers the partner's organization
    for v in mine["items"]:
        r = await client.get(f"/v1/households/{v['household_id']}", headers=partner)
        assert r.status_code == 200, r.text
    week = await client.get(
        "/v1/visits",
        params={"assignee": "me", "from": today, "to": (local_today() + timedelta(days=3)).isoformat()},
        headers=partner,
    )
    views = Counter(v["view"] for v in week.json()["items"])
    assert views["restricted"] >= 1  # one household gave no consent: time, dong and team only
    assert views["full"] >= 4

    coordinator = await _login(client, "coordinator")
    triage = (await client.get("/v1/triage", headers=coordinator)).json()
    assert len(triage["items"]) > 0
    reports = (await client.get("/v1/reports", params={"status": "new"}, headers=coordinator)).json()
    assert len(reports["items"]) >= 3
    cases = (await client.get("/v1/cases", headers=coordinator)).json()
    assert len(cases["items"]) == SIZES["small"].cases
    supports = (await client.get("/v1/supports", headers=coordinator)).json()
    assert supports["items"]
    campaigns = (await client.get("/v1/campaigns", headers=coordinator)).json()["items"]
    assert campaigns
    assert all(c["starts_on"][5:] == "12-15" for c in campaigns)
    summaries = [(await client.get(f"/v1/campaigns/{c['id']}/summary", headers=coordinator)).json() for c in campaigns]
    assert any(s["totals"]["identified"] > 0 and s["totals"]["visited"] > 0 for s in summaries)
    resources = (await client.get("/v1/resources", headers=planner)).json()["items"]
    assert {r["kind"] for r in resources} == {"public_benefit", "private_resource"}

    reporter = await _login(client, "reporter")
    own = (await client.get("/v1/reports", headers=reporter)).json()["items"]
    assert Counter(r["status"] for r in own) == {"new": 3, "triaged": 2, "dismissed": 1}
    assert all("household_id" not in r for r in own)

    # generated staff log in with the demo password too
    await _login(client, "planner-001")
    await _login(client, "partner-001")


async def test_same_seed_same_district_and_sync_log(maker: Any, app: Any) -> None:
    async def digest(seed: int) -> tuple[str, int]:
        async with maker() as session:
            await generate(session, "small", security=app.state.ongi.security, today=date(2027, 1, 12), seed=seed)
            households = (
                await session.execute(
                    select(Household.id, Household.head_name, Household.address, Household.risk_level).order_by(
                        Household.id
                    )
                )
            ).all()
            visits = (
                await session.execute(
                    select(Visit.id, Visit.window_start, Visit.purpose, Visit.status).order_by(Visit.id)
                )
            ).all()
            notes = (await session.execute(select(Note.id, Note.body).order_by(Note.id))).all()
            logged = (
                await session.execute(select(func.count()).select_from(ChangeLog).where(ChangeLog.entity == "visit"))
            ).scalar_one()
            await session.rollback()
        text = repr((households, visits, notes)).encode()
        return hashlib.sha256(text).hexdigest(), logged

    first, logged = await digest(7)
    again, _ = await digest(7)
    other, _ = await digest(8)
    assert first == again
    assert first != other
    assert logged >= SIZES["small"].visits  # every generated visit is in the change log phones pull


async def test_generating_twice_changes_nothing(maker: Any, app: Any) -> None:
    first = await _small(maker, app)
    async with maker() as session:  # what scripts/serve runs on every start
        second = await seed_demo(session, app.state.ongi.security)
        await commit(session)
    assert second.skipped
    assert second.counts == {}
    assert {u for u, _, _ in second.logins} == {"admin", "coordinator", "planner", "partner", "reporter"}
    async with maker() as s:
        count = (await s.execute(select(func.count()).select_from(Household))).scalar_one()
    assert count == first.counts["household"]


def test_the_full_size_has_the_benchmark_numbers(app: Any) -> None:
    """docs/performance.md#budget, built in memory (the database part is the same bulk insert the small size uses)."""
    spec = SIZES["full"]
    today = date(2027, 1, 12)
    g = Gen(spec, 11990, today, app.state.ongi.settings.tz)
    public = Organization(id=uuid.uuid4(), name="p", kind=OrgKind.public, jurisdiction=["11990"])
    private = Organization(id=uuid.uuid4(), name="q", kind=OrgKind.private, jurisdiction=["11990"])
    honorary = Organization(id=uuid.uuid4(), name="h", kind=OrgKind.private, jurisdiction=["11990"])
    demo = {
        name: User(id=uuid.uuid4(), organization_id=org.id, username=name, display_name=name, role=role)
        for name, role, org in (
            ("admin", Role.admin, public),
            ("coordinator", Role.coordinator, public),
            ("planner", Role.planner, public),
            ("partner", Role.partner, private),
            ("reporter", Role.reporter, honorary),
        )
    }
    templates = {
        key: {"id": uuid.uuid4(), **{k: v for k, v in bench_template(i).items() if k in ("version", "items", "bands")}}
        for i, (key, *_rest) in enumerate(BENCH_KEYS)
    }
    world = World(g, spec, demo, {}, "hash", templates, app.state.ongi.security)
    world.build()
    world.photos([{"sha256": "a" * 64, "size": 1, "width": 1, "height": 1, "thumb_sha256": "b" * 64, "thumb_size": 1}])
    rows = {m.__tablename__: r for m, r in g.t.rows.items()}  # type: ignore[attr-defined]
    assert len(rows["household"]) == 3000
    assert len({h["dong_code"] for h in rows["household"]}) == 12
    assert len(rows["visit"]) == 9000
    assert len(rows["note"]) == 20000
    assert len(rows["photo"]) == 6000
    roles = Counter(u["role"] for u in rows["user_account"])
    assert roles["planner"] + 1 == 40  # with the demo planner
    assert roles["partner"] + 1 == 20
    open_ids = {v["id"] for v in rows["visit"] if v["status"] in ("scheduled", "in_progress")}
    per_worker = Counter(a["user_id"] for a in rows["visit_assignee"] if a["visit_id"] in open_ids)
    workers = [u for u, n in per_worker.items() if n]
    assert len(workers) == 60
    mean = sum(per_worker.values()) / len(workers)
    assert 130 <= mean <= 170, mean
    pinned = {p["key"] for v in rows["visit"] for p in v["checklists"]}
    assert pinned == {k for k, *_ in BENCH_KEYS}
    assert all(len(t["items"]) == 30 for t in templates.values())


def test_the_district_templates_follow_the_checklist_rules() -> None:
    from app.checklists.rules import validate_template
    from app.checklists.schemas import TemplateCreate

    for i in range(3):
        spec = bench_template(i)
        assert len(spec["items"]) == 30
        assert validate_template(spec["items"], spec["bands"]) == []
        TemplateCreate.model_validate({k: spec[k] for k in ("key", "title", "items", "bands")})


def test_command_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ONGI_DATA_DIR": str(tmp_path),
        "ONGI_ENV": "development",
        "ONGI_ARGON2_TIME_COST": "1",
        "ONGI_ARGON2_MEMORY_COST_KIB": "64",
        "ONGI_ARGON2_PARALLELISM": "1",
        "ONGI_LOG_LEVEL": "WARNING",
    }
    env.pop("ONGI_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "app.demo.generate", "--size", "small", "--today", "2027-01-12"]
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "winter district small (seed 11990, 2027-01-12)" in first.stdout
    assert "household 160" in first.stdout
    assert list((tmp_path / "files" / "photos").rglob("*"))  # the photos' images are stored
