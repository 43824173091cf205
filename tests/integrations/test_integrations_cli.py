"""The console import of spreadsheets: CSV (UTF-8 or CP949, Korean headers) and XLSX, results beside the file."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.principal import OrgKind, Role
from app.households.models import Household
from app.integrations.cli import header_map, row_to_line, run_import
from tests.support.factories import Factory

ROOT = Path(__file__).resolve().parents[2]
HEADER = [
    "관리번호",
    "위기지표",
    "기준일",
    "행정동코드",
    "주소",
    "상세주소",
    "세대주명",
    "연락처",
    "상세.체납개월",
    "비고",
]


def _rows(tag: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for i in range(1, 26):
        rows.append(
            [
                f"{tag}-{i:03d}",
                "power_cut, gas_cut",
                "2026-11-01",
                1199051000 + (i % 3) * 1000,
                f"온기구 시트로 {tag} {i}",
                f"{i}호",
                f"정{i}",
                "010-5555-0000",
                i % 5,
                "메모",
            ]
        )
    rows[4][1] = "power_cut; alien_visit"  # an unknown indicator: rejected
    rows[9][3] = 1168051000  # outside the jurisdiction: rejected
    rows[14][6] = ""  # no head name: rejected
    return rows


async def _households(maker: async_sessionmaker[AsyncSession], tag: str) -> int:
    async with maker() as s:
        stmt = select(func.count()).select_from(Household).where(Household.address.like(f"온기구 시트로 {tag} %"))
        return int((await s.execute(stmt)).scalar_one())


def _results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


async def test_csv_in_cp949_imports_and_writes_results_beside_it(
    tmp_path: Path, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    feed = await factory.user(Role.integration, org, scopes=["households:import"])
    tag = uuid.uuid4().hex[:6]
    path = tmp_path / "위기가구_명단.csv"
    with path.open("w", encoding="cp949", newline="") as fh:  # what Korean Excel writes
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(_rows(tag))
    results = path.with_name(path.name + ".results.csv")

    summary = await run_import(
        path,
        username=feed.username,
        source="bigdata",
        sheet=None,
        results_path=results,
        batch_size=7,
        quiet=True,
        state=app.state.ongi,
    )
    assert summary == {
        "lines": 25,
        "created": 22,
        "updated": 0,
        "unchanged": 0,
        "matched": 0,
        "reopened": 0,
        "rejected": 3,
    }
    rows = _results(results)
    assert [int(r["line"]) for r in rows] == list(range(2, 27))  # spreadsheet row numbers (header is row 1)
    rejected = {int(r["line"]): r["errors"] for r in rows if r["status"] == "rejected"}
    assert set(rejected) == {6, 11, 16}
    assert "indicators" in rejected[6]
    assert "household.dong_code" in rejected[11]
    assert "head_name" in rejected[16]
    assert await _households(maker, tag) == 22

    again = await run_import(
        path,
        username=feed.username,
        source="bigdata",
        sheet=None,
        results_path=results,
        batch_size=200,
        quiet=True,
        state=app.state.ongi,
    )
    assert again["unchanged"] == 22
    assert again["created"] == 0
    assert again["rejected"] == 3
    assert await _households(maker, tag) == 22


async def test_xlsx_read_only_by_a_coordinator(
    tmp_path: Path, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    from openpyxl import Workbook

    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    coordinator = await factory.user(Role.coordinator, org)
    tag = uuid.uuid4().hex[:6]
    wb = Workbook()
    ws = wb.active
    ws.title = "명단"
    ws.append(["external_id", "Source", "Indicators", "Observed At", "Dong Code", "Address", "Head Name", "members"])
    from datetime import datetime

    for i in range(1, 8):
        ws.append(
            [
                f"{tag}-{i}",
                "benefit_rejected",
                "benefit_terminated",
                datetime(2026, 10, i, 9, 30),
                str(1199052000),
                f"온기구 시트로 {tag} {i}",
                f"한{i}",
                json.dumps([{"name": f"한{i}", "birth_year": 1950, "relation": "head"}], ensure_ascii=False),
            ]
        )
    path = tmp_path / "list.xlsx"
    wb.save(path)
    results = tmp_path / "out.csv"
    summary = await run_import(
        path,
        username=coordinator.username,
        source=None,
        sheet="명단",
        results_path=results,
        batch_size=3,
        quiet=True,
        state=app.state.ongi,
    )
    assert summary["created"] == 7, _results(results)
    assert summary["rejected"] == 0
    assert await _households(maker, tag) == 7


async def test_who_may_import_from_the_console(factory: Factory, app: Any, tmp_path: Path) -> None:
    org = await factory.org(OrgKind.public, jurisdiction=["11990"])
    planner = await factory.user(Role.planner, org)
    reader = await factory.user(Role.integration, org, scopes=["events:read"])
    path = tmp_path / "a.csv"
    path.write_text("external_id\nX1\n", encoding="utf-8")
    for user in (planner, reader):
        with pytest.raises(typer.BadParameter):
            await run_import(
                path,
                username=user.username,
                source="bigdata",
                sheet=None,
                results_path=tmp_path / "r.csv",
                batch_size=10,
                quiet=True,
                state=app.state.ongi,
            )
    with pytest.raises(typer.BadParameter):
        await run_import(
            path,
            username="nobody-" + uuid.uuid4().hex,
            source=None,
            sheet=None,
            results_path=tmp_path / "r.csv",
            batch_size=10,
            quiet=True,
            state=app.state.ongi,
        )


def test_rows_become_import_lines() -> None:
    from zoneinfo import ZoneInfo

    fields = header_map(["관리번호", "위기 지표", "기준일", "행정동코드", "세대주", "상세.금액", "unknown"])
    assert fields == ["external_id", "indicators", "observed_at", "dong_code", "head_name", "details.금액", None]
    line = row_to_line(
        fields, ["A1", "water_cut|gas_cut", "20261105", 1199051000.0, " 홍길동 ", 52000, "x"], ZoneInfo("Asia/Seoul")
    )
    assert line == {
        "external_id": "A1",
        "indicators": ["water_cut", "gas_cut"],
        "observed_at": "2026-11-05T00:00:00+09:00",
        "details": {"금액": 52000},
        "household": {"dong_code": "1199051000", "head_name": "홍길동", "district_code": "11990"},
    }


def test_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.integrations.cli", "import", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0
    assert "--as" in out.stdout
