"""Spreadsheets imported over REST (docs/integrations.md §2): upload, progress, per-row results as CSV and XLSX,
who may, what is refused, a job taken over after its process died; and the batched import path giving row for
row what the one-at-a-time path gives."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.principal import OrgKind, Role
from app.core.uow import open_session
from app.events.models import OutboxEvent
from app.households.matching import match_key
from app.households.models import Household, HouseholdStatus, Signal, SignalSource
from app.integrations import imports, uploads
from app.integrations.models import ImportJob, ImportRow
from tests.support.factories import Factory, _add, make_household
from tests.support.integrations import integration_client

IMPORTS = "/v1/integrations/imports"
HEADER = [
    "관리번호",
    "위기지표",
    "기준일",
    "행정동코드",
    "주소",
    "상세주소",
    "세대주",
    "연락처",
    "취약유형",
    "상세.체납개월",
]


def row(n: int, tag: str, *, dong: str = "1199051000", indicators: str = "power_cut,rent_overdue") -> list[Any]:
    return [
        f"{tag}-{n:04d}",
        indicators,
        "2026-11-01",
        dong,
        f"온기구 {tag}로 {n}",
        f"{n}호",
        f"정가져{n}",
        f"010-5555-{n:04d}",
        "elderly single_person",
        n % 5,
    ]


def csv_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    name: str = "명단.csv",
    media: str = "text/csv",
    **form: str,
) -> httpx.Response:
    return await client.post(IMPORTS, headers=headers, files={"file": (name, content, media)}, data=form)


async def finished(client: httpx.AsyncClient, app: Any, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        await imports.wait_for_imports(app.state.ongi)
    r = await client.get(f"{IMPORTS}/{job_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_csv_upload_is_imported_in_the_background_with_a_result_per_row(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public, jurisdiction=["11990"]))
    tag = f"U{uuid.uuid4().hex[:6]}"
    rows = [row(n, tag) for n in range(1, 251)]
    rows[9] = row(10, tag, indicators="power_cut,moon_phase")  # an unknown indicator
    rows[19] = row(20, tag, dong="1168051000")  # outside the jurisdiction
    rows[29] = [*row(5, tag)[:1], *row(5, tag)[1:]]  # line of household 5 again, same content
    rows[29][0] = f"{tag}-0030"  # another key naming household 5: matched
    rows[1][7] = rows[0][7]  # households 1 and 2 share a phone: possible duplicates
    r = await upload(client, coordinator.headers, csv_bytes(rows), source="bigdata")
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"{IMPORTS}/{job['id']}"
    assert job["status"] in ("queued", "running", "done")
    assert job["rows_total"] == 250
    assert job["file_format"] == "csv"

    done = await finished(client, app, coordinator.headers, job["id"])
    assert done["status"] == "done", done
    assert done["rows"] == 250
    assert done["rejected"] == 2
    assert done["applied"] == 248
    assert done["unchanged"] == 0
    assert done["counts"] == {"created": 247, "matched": 1, "updated": 0, "reopened": 0}
    assert done["progress"] == 1.0
    assert done["finished_at"] is not None

    # results as CSV (UTF-8 with BOM, for Excel) by default
    r = await client.get(f"{IMPORTS}/{job['id']}/results", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0][0].startswith("행")
    assert len(table) == 251
    by_ext = {line[1]: line for line in table[1:]}
    assert [line[0] for line in table[1:]] == [str(n) for n in range(2, 252)]  # spreadsheet row numbers
    assert by_ext[f"{tag}-0010"][2] == "rejected"
    assert "indicators" in by_ext[f"{tag}-0010"][4]
    assert by_ext[f"{tag}-0020"][2] == "rejected"
    assert "관할" in by_ext[f"{tag}-0020"][4]
    assert by_ext[f"{tag}-0030"][2] == "matched"
    assert by_ext[f"{tag}-0030"][3] == by_ext[f"{tag}-0005"][3]
    # possible duplicates of a created household (app.households.duplicates)
    assert by_ext[f"{tag}-0002"][5] == by_ext[f"{tag}-0001"][3]
    assert by_ext[f"{tag}-0001"][5] == by_ext[f"{tag}-0002"][3]
    assert by_ext[f"{tag}-0003"][5] == ""
    async with maker() as s:
        stored = await s.get(Household, uuid.UUID(by_ext[f"{tag}-0001"][3]))
        assert stored is not None
        assert stored.head_name == "정가져1"
        assert stored.address_detail == "1호"
        signal = (await s.execute(select(Signal).where(Signal.external_ref == f"{tag}-0001"))).scalar_one()
        assert signal.details == {"체납개월": "1"}  # CSV cells are text
        assert signal.source == SignalSource.bigdata
        # the stored file is gone once imported; the results stay
        job_row = await s.get(ImportJob, uuid.UUID(job["id"]))
        assert job_row is not None
        assert job_row.lease_token is None
        count = await s.execute(select(func.count()).select_from(ImportRow).where(ImportRow.job_id == job_row.id))
        assert count.scalar_one() == 250
    from app.media.storage import get_storage

    assert not await get_storage(app.state.ongi).exists(job_row.storage_key or "missing")

    # and as XLSX by Accept
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = await client.get(f"{IMPORTS}/{job['id']}/results", headers={**coordinator.headers, "Accept": xlsx})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(xlsx)
    ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    sheet = [list(v) for v in ws.iter_rows(values_only=True)]
    assert len(sheet) == 251
    assert list(sheet[1][:3]) == [2, f"{tag}-0001", "created"]

    # the same file again changes nothing: every row unchanged
    again = await upload(client, coordinator.headers, csv_bytes(rows), source="bigdata")
    assert again.status_code == 202
    done = await finished(client, app, coordinator.headers, again.json()["id"])
    assert (done["applied"], done["unchanged"], done["rejected"]) == (0, 248, 2)

    # audited: the upload, every row's household, the summary, the download; nothing personal in the details
    async with maker() as s:
        actions = Counter(
            (await s.execute(select(AuditEvent.action).where(AuditEvent.actor_id == coordinator.id))).scalars()
        )
        details = (await s.execute(select(AuditEvent.details).where(AuditEvent.actor_id == coordinator.id))).scalars()
        assert not any("정가져" in json.dumps(d, ensure_ascii=False) for d in details)
    assert actions["integrations.import_job.create"] == 2
    assert actions["integrations.bulk"] == 2
    assert actions["integrations.import_job.download"] == 2
    # one event per imported row names its household (who wrote it, when, through which upload): a batch
    # writes no household.create / household.signal.create beside it (docs/access.md#audit)
    assert actions["integrations.import"] == 248 * 2
    assert actions["household.create"] == 0
    async with maker() as s:
        rows = (
            await s.execute(
                select(AuditEvent.household_id, AuditEvent.details).where(
                    AuditEvent.actor_id == coordinator.id, AuditEvent.action == "integrations.import"
                )
            )
        ).all()
    assert all(hid is not None and d["via"] == "upload" for hid, d in rows)
    assert {d["job_id"] for _, d in rows} == {job["id"], again.json()["id"]}
    assert Counter(d["status"] for _, d in rows) == {"created": 247, "matched": 1, "unchanged": 248}


async def test_an_xlsx_upload_by_an_integration_client_and_who_may_see_it(
    client: httpx.AsyncClient, factory: Factory, app: Any
) -> None:
    feed = await integration_client(factory, ["households:import"])
    tag = f"X{uuid.uuid4().hex[:6]}"
    content = xlsx_bytes([row(n, tag) for n in range(1, 31)])
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = await upload(client, feed.headers, content, name="list.xlsx", media=xlsx, source="benefit_rejected")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    done = await finished(client, app, feed.headers, job_id)
    assert done["file_format"] == "xlsx"
    assert (done["status"], done["rows"], done["counts"]["created"]) == ("done", 30, 30)
    r = await client.get(f"{IMPORTS}/{job_id}/results?format=xlsx", headers=feed.headers)
    assert r.status_code == 200
    assert r.headers["content-disposition"].endswith('.xlsx"')

    # another client, a coordinator of another organization: 404; a planner or a client without the scope: 403
    other = await integration_client(factory, ["households:import"])
    assert (await client.get(f"{IMPORTS}/{job_id}", headers=other.headers)).status_code == 404
    assert (await client.get(f"{IMPORTS}/{job_id}/results", headers=other.headers)).status_code == 404
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public))
    assert (await client.get(f"{IMPORTS}/{job_id}", headers=coordinator.headers)).status_code == 404
    assert (await client.get(f"{IMPORTS}/{uuid.uuid4()}", headers=feed.headers)).status_code == 404
    planner = await factory.actor(Role.planner)
    assert (await upload(client, planner.headers, content, name="list.xlsx", media=xlsx)).status_code == 403
    no_scope = await integration_client(factory, ["events:read"])
    assert (await upload(client, no_scope.headers, content, name="list.xlsx", media=xlsx)).status_code == 403
    assert (await client.get(f"{IMPORTS}/{job_id}", headers=no_scope.headers)).status_code == 403


async def test_refused_uploads(
    client: httpx.AsyncClient, factory: Factory, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public, jurisdiction=["11990"]))
    h = {**coordinator.headers, "Accept-Language": "en"}
    good = csv_bytes([row(1, "R")])
    # not multipart, not a spreadsheet, no file
    r = await client.post(IMPORTS, headers={**h, "Content-Type": "text/csv"}, content=good)
    assert r.status_code == 415
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (await upload(client, h, good, name="list.pdf", media="application/pdf")).status_code == 415
    r = await client.post(IMPORTS, headers=h, files={"other": ("a.csv", good, "text/csv")})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.file"
    # no external_id column
    r = await upload(client, h, csv_bytes([["x", "y"]], header=["이름", "주소"]))
    assert r.status_code == 422, r.text
    assert "external_id" in r.json()["errors"][0]["message"], r.text
    # a file that says it is a workbook and is not
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = await upload(client, h, b"not a zip at all", name="list.xlsx", media=xlsx)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.file"
    # a workbook that unpacks past the bound (the zip-bomb guard)
    tight = app.state.ongi.settings.model_copy(update={"import_xlsx_max_uncompressed_mib": 0})
    monkeypatch.setattr(app.state.ongi, "settings", tight)
    r = await upload(client, h, xlsx_bytes([row(1, "R")]), name="list.xlsx", media=xlsx)
    assert r.status_code == 413, r.text
    monkeypatch.undo()
    # too large a body
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    from app.integrations import routes

    monkeypatch.setattr(routes, "MAX_UPLOAD_BYTES", 1000)
    r = await upload(client, h, csv_bytes([row(n, "R") for n in range(1, 50)]))
    assert r.status_code == 413, r.text
    async with app.state.ongi.sessionmaker() as s:
        jobs = (
            await s.execute(
                select(func.count()).select_from(ImportJob).where(ImportJob.submitted_by_id == coordinator.id)
            )
        ).scalar_one()
    assert jobs == 0  # nothing refused left a job behind
    # results of a job still running: 409 with Retry-After
    async with open_session(app.state.ongi.sessionmaker, write=True) as s:
        running = ImportJob(
            status="running",
            file_format="csv",
            submitted_by_id=coordinator.id,
            organization_id=coordinator.org.id,
            lease_until=datetime.now(UTC) + timedelta(seconds=60),
        )
        s.add(running)
    r = await client.get(f"{IMPORTS}/{running.id}/results", headers=h)
    assert r.status_code == 409
    assert r.headers["retry-after"] == "5"


async def _stored_job(app: Any, actor: Any, content: bytes, **values: Any) -> ImportJob:
    """A job as a process that died mid-import leaves it: its file stored, its lease lapsed."""
    from app.media.storage import get_storage

    state = app.state.ongi
    job_id = uuid.uuid4()
    key = uploads.storage_key(job_id, "csv")

    async def chunks() -> Any:
        yield content

    await get_storage(state).put_stream(key, chunks())
    async with open_session(state.sessionmaker, write=True) as s:
        job = ImportJob(
            id=job_id,
            status="running",
            file_format="csv",
            storage_key=key,
            size_bytes=len(content),
            submitted_by_id=actor.id,
            organization_id=actor.org.id,
            rows_total=None,
            lease_token=uuid.uuid4(),
            lease_until=datetime.now(UTC) - timedelta(seconds=1),
            attempts=1,
            **values,
        )
        s.add(job)
    return job


async def test_a_job_whose_process_died_is_taken_over_once_and_resumes_after_its_last_batch(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public, jurisdiction=["11990"]))
    tag = f"D{uuid.uuid4().hex[:6]}"
    content = csv_bytes([row(n, tag) for n in range(1, 41)])
    # the dead process had committed rows up to spreadsheet row 11 (data rows 1-10) before it died
    job = await _stored_job(
        app, coordinator, content, rows=10, applied=10, counts={"created": 10}, last_line=11, default_source="bigdata"
    )
    state = app.state.ongi
    # a lease that has not lapsed is not taken over
    async with open_session(state.sessionmaker, write=True) as s:
        await s.execute(
            update(ImportJob).where(ImportJob.id == job.id).values(lease_until=datetime.now(UTC) + timedelta(minutes=1))
        )
    assert await imports.resume_round(state) == 0
    async with open_session(state.sessionmaker, write=True) as s:
        await s.execute(update(ImportJob).where(ImportJob.id == job.id).values(lease_until=datetime.now(UTC)))
    # two resumers look at once: one takes it
    claims = [await imports._claim(state, job.id), await imports._claim(state, job.id)]
    assert sum(c is not None for c in claims) == 1
    async with open_session(state.sessionmaker, write=True) as s:
        await s.execute(update(ImportJob).where(ImportJob.id == job.id).values(lease_until=datetime.now(UTC)))
    assert await imports.resume_round(state) == 1
    done = await finished(client, app, coordinator.headers, str(job.id))
    assert (done["status"], done["rows"], done["applied"]) == ("done", 40, 40)
    async with maker() as s:
        lines = (await s.execute(select(ImportRow.line).where(ImportRow.job_id == job.id))).scalars().all()
        created = (
            await s.execute(select(func.count()).select_from(Signal).where(Signal.external_ref.like(f"{tag}-%")))
        ).scalar_one()
        attempts = (await s.get(ImportJob, job.id)).attempts  # type: ignore[union-attr]
    assert sorted(lines) == list(range(12, 42))  # the rows after the last committed batch, once each
    assert created == 30
    assert attempts == 2


async def test_a_run_that_lost_its_lease_writes_nothing_and_a_job_failing_too_often_fails(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    coordinator = await factory.actor(Role.coordinator, await factory.org(OrgKind.public, jurisdiction=["11990"]))
    tag = f"L{uuid.uuid4().hex[:6]}"
    job = await _stored_job(app, coordinator, csv_bytes([row(n, tag) for n in range(1, 6)]))
    state = app.state.ongi
    token = await imports._claim(state, job.id)
    assert token is not None
    await imports.run_job(state, job.id, uuid.uuid4())  # a stale token: another process holds the job
    async with maker() as s:
        count = select(func.count()).select_from(Signal).where(Signal.external_ref.like(f"{tag}-%"))
        assert (await s.execute(count)).scalar_one() == 0
    # the lease is lost between two batches: the batch in flight is rolled back, and the run stops
    recorder = imports._Recorder(job, uuid.uuid4())
    async with maker() as s:
        with pytest.raises(imports.LeaseLost):
            await recorder(s, [imports.LineResult(line=2, status="rejected")])
    # a job started MAX_ATTEMPTS times already fails, and its file is deleted
    async with open_session(state.sessionmaker, write=True) as s:
        await s.execute(update(ImportJob).where(ImportJob.id == job.id).values(attempts=imports.MAX_ATTEMPTS))
    await imports.run_job(state, job.id, token)
    r = await client.get(f"{IMPORTS}/{job.id}", headers=coordinator.headers)
    assert (r.json()["status"], r.json()["error"]) == ("failed", "too-many-attempts")
    from app.media.storage import get_storage

    assert not await get_storage(state).exists(job.storage_key or "")


# --- the batched path gives what the one-at-a-time path gives ----------------------------------------------------


async def _world(factory: Factory, app: Any, tag: str) -> tuple[list[dict[str, Any]], dict[str, uuid.UUID]]:
    """Lines that exercise every rule, and the households that exist before them."""
    security = app.state.ongi.security
    when = "2026-11-01T00:00:00Z"

    def line(ext: str, n: int, observed: str = when, indicators: list[str] | None = None, **hh: Any) -> dict:
        return {
            "source": "bigdata",
            "external_id": f"{tag}-{ext}",
            "indicators": indicators or ["power_cut"],
            "observed_at": observed,
            "household": {
                "district_code": "11990",
                "dong_code": "1199051000",
                "address": f"온기구 {tag}길 {n}",
                "head_name": f"한결{n}",
                "contact_phone": "010-7777-0000",
                "tags": ["elderly"],
                **hh,
            },
        }

    def key(n: int) -> str:
        return match_key(security, f"온기구 {tag}길 {n}", None, f"한결{n}")

    curated = await make_household(
        factory, match_key=key(1), status=HouseholdStatus.assessed, contact_phone="010-1111-2222", tags=["disability"]
    )
    closed = await make_household(factory, match_key=key(2), status=HouseholdStatus.closed, contact_phone=None)
    seen = Signal(
        household_id=curated.id,
        source=SignalSource.bigdata,
        indicators=["power_cut"],
        observed_at=datetime(2026, 11, 1, tzinfo=UTC),
        external_ref=f"{tag}-a",
    )
    await _add(factory, seen)
    lines = [
        line("a", 1),  # the observation already stored: matched, no new signal, curated phone kept
        line("b", 2, indicators=["abuse_suspected"]),  # a closed household: reopened, level to high
        line("c", 3),  # new
        line("d", 3, indicators=["water_cut", "medical_crisis", "food_insecurity", "homeless"]),  # matches c's
        line("c", 3, observed="2026-11-15T00:00:00Z"),  # c again, a new observation: updated
        line("c", 3, observed="2026-11-15T00:00:00Z"),  # the same again: unchanged
        line("e", 4, members=[{"name": "한결4", "birth_year": 1940, "relation": "head"}]),
    ]
    return lines, {"curated": curated.id, "closed": closed.id}


async def _picture(maker: async_sessionmaker[AsyncSession], ids: list[uuid.UUID]) -> list[Any]:
    async with maker() as s:
        out = []
        for hid in ids:
            h = await s.get(Household, hid)
            assert h is not None
            await s.refresh(h)
            signals = await s.execute(select(func.count()).select_from(Signal).where(Signal.household_id == hid))
            events = Counter(
                (await s.execute(select(OutboxEvent.type).where(OutboxEvent.household_id == hid))).scalars()
            )
            audits = Counter(
                (await s.execute(select(AuditEvent.action).where(AuditEvent.household_id == hid))).scalars()
            )
            out.append(
                (
                    h.status,
                    h.risk_level,
                    h.priority,
                    h.recurrence_count,
                    h.contact_phone,
                    sorted(h.tags),
                    [{k: v for k, v in m.items() if k != "name"} for m in h.members],  # names differ by world
                    signals.scalar_one(),
                    dict(events),
                    dict(audits),
                )
            )
        return out


async def test_the_batched_path_gives_row_for_row_what_the_one_at_a_time_path_gives(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], app: Any
) -> None:
    feed = await integration_client(factory, ["households:import"])
    pictures, statuses = [], []
    for via in ("put", "bulk"):
        tag = f"{via}{uuid.uuid4().hex[:6]}"
        lines, known = await _world(factory, app, tag)
        results = []
        if via == "put":
            for body in lines:
                payload = {k: v for k, v in body.items() if k not in ("source", "external_id")}
                r = await client.put(
                    f"/v1/integrations/households/bigdata/{body['external_id']}", headers=feed.headers, json=payload
                )
                assert r.status_code in (200, 201), r.text
                results.append(r.json())
        else:
            content = "".join(json.dumps(b, ensure_ascii=False) + "\n" for b in lines).encode()
            r = await client.post(
                "/v1/integrations/households:bulk",
                headers={**feed.headers, "Content-Type": "application/x-ndjson"},
                content=content,
            )
            assert r.status_code == 200, r.text
            results = [json.loads(x) for x in r.text.splitlines()[:-1]]
        statuses.append([x["status"] for x in results])
        hids = list(
            dict.fromkeys([known["curated"], known["closed"], *(uuid.UUID(x["household_id"]) for x in results)])
        )
        pictures.append(await _picture(maker, hids))
    assert statuses[0] == ["matched", "reopened", "created", "matched", "updated", "unchanged", "created"]
    assert statuses[1] == statuses[0]
    # the same households, signals and events; audited alike per household as integrations.import, which a
    # batch writes alone (a PUT goes through the households service, which adds household.create and
    # household.signal.create: docs/access.md#audit)
    assert [p[:9] for p in pictures[1]] == [p[:9] for p in pictures[0]]
    put_imports = [p[9].get("integrations.import") for p in pictures[0]]
    assert [p[9] for p in pictures[1]] == [{"integrations.import": n} if n else {} for n in put_imports]
    curated, closed, new = pictures[1][0], pictures[1][1], pictures[1][2]
    assert curated[4] == "010-1111-2222"
    assert curated[7] == 1
    assert closed[0] == HouseholdStatus.identified
    assert closed[3] == 1
    assert closed[4] == "010-7777-0000"  # an empty field is filled from the list
    assert closed[8].get("household.recurrence") == 1
    assert new[8].get("household.risk_changed") == 1  # raised by the matching line d, not by its creation
    assert new[7] == 3
