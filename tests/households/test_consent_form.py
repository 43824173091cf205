"""A consent's signed form (issue 19): ``PUT``/``GET /v1/households/{id}/consents/{consent_id}/form``, and the
reason of photo downloads kept in their audit rows.

The form is the raw request body; its type comes from the bytes; images are cleaned like photos (no EXIF/GPS);
one form per consent (the same file again is a retry, another file 409); downloads need ``Ongi-Reason``.
The flows that touch storage run on local files and on S3 (moto's server on loopback)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.principal import Role
from app.households.models import ConsentForm
from app.media.storage import Storage
from tests.support.factories import Factory, make_consent, make_household
from tests.support.uploads import (
    Team,
    heic_bytes,
    installed_storage,
    jpeg_with_gps,
    make_team,
    png_bytes,
    read_all,
    settle_background,  # noqa: F401 - autouse: no processing outlives its test
    tus_upload,
)

GPS_IFD = 0x8825
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
REASON = {"Ongi-Reason": quote("동의서 확인 (감사 대응)")}


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, app: Any, tmp_path: Path) -> AsyncIterator[Storage]:
    async with installed_storage(request.param, request, app, tmp_path) as backend:
        yield backend


async def _consent(factory: Factory, team: Team) -> Any:
    return await make_consent(factory, team.household, team.coordinator.user)


def _url(team: Team, consent: Any) -> str:
    return f"/v1/households/{team.household.id}/consents/{consent.id}/form"


async def _put(client: httpx.AsyncClient, actor: Any, url: str, data: bytes, content_type: str) -> httpx.Response:
    return await client.put(url, content=data, headers={**actor.headers, "Content-Type": content_type})


async def _audit(maker: async_sessionmaker[AsyncSession], action: str, entity_id: uuid.UUID) -> list[AuditEvent]:
    async with maker() as s:
        rows = await s.execute(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.entity_id == entity_id))
        return list(rows.scalars())


async def test_image_is_stripped_and_kept(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    url = _url(team, consent)
    original = jpeg_with_gps()
    # the header lies (says PDF): the bytes decide
    r = await _put(client, team.coordinator, url, original, "application/pdf")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == str(consent.id)
    form = body["form"]
    assert form["content_type"] == "image/jpeg"
    assert set(form) == {"content_type", "size", "sha256", "uploaded_at"}
    assert r.headers["etag"]

    async with maker() as s:
        row = (await s.execute(select(ConsentForm).where(ConsentForm.consent_id == consent.id))).scalar_one()
    stored = await read_all(storage, row.storage_key)
    assert hashlib.sha256(stored).hexdigest() == form["sha256"] == row.sha256
    assert len(stored) == form["size"]
    assert row.source_sha256 == hashlib.sha256(original).hexdigest()
    im = Image.open(io.BytesIO(stored))
    exif = im.getexif()
    assert GPS_IFD not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert 0x010F not in exif  # camera maker gone
    assert b"home of Kim" not in stored
    assert b"GPSLatitude" not in stored

    listed = await client.get(f"/v1/households/{team.household.id}/consents", headers=team.coordinator.headers)
    by_id = {c["id"]: c for c in listed.json()["items"]}
    assert by_id[str(consent.id)]["form"] == form
    assert all(c["form"] is None for cid, c in by_id.items() if cid != str(consent.id))

    events = await _audit(maker, "household.consent.form.upload", consent.id)
    assert [(e.actor_id, e.household_id) for e in events] == [(team.coordinator.id, team.household.id)]

    down = await client.get(url, headers={**team.coordinator.headers, **REASON})
    assert down.status_code == 200
    assert down.content == stored
    assert down.headers["content-type"] == "image/jpeg"


async def test_png_and_heic_are_cleaned(client: httpx.AsyncClient, factory: Factory, storage: Storage) -> None:
    team = await make_team(factory)
    for data, stored_type in ((png_bytes(), "image/png"), (heic_bytes(), "image/jpeg")):
        if data is None:  # no HEIC encoder in this build
            continue
        consent = await _consent(factory, team)
        r = await _put(client, team.planner, _url(team, consent), data, "application/octet-stream")
        assert r.status_code == 201, r.text
        assert r.json()["form"]["content_type"] == stored_type
        down = await client.get(_url(team, consent), headers={**team.planner.headers, **REASON})
        exif = Image.open(io.BytesIO(down.content)).getexif()
        assert GPS_IFD not in exif
        assert not exif.get_ifd(GPS_IFD)


async def test_pdf_is_accepted_as_it_came_even_above_the_request_body_limit(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, app: Any
) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    # bigger than the service-wide request body limit (6 MiB): this route bounds its own body
    big = PDF + b"%" + b"x" * (app.state.ongi.settings.max_request_body_bytes + 1024) + b"\n%%EOF\n"
    r = await _put(client, team.coordinator, _url(team, consent), big, "application/pdf")
    assert r.status_code == 201, r.text
    form = r.json()["form"]
    assert form["content_type"] == "application/pdf"
    assert form["size"] == len(big)
    assert form["sha256"] == hashlib.sha256(big).hexdigest()
    down = await client.get(_url(team, consent), headers={**team.coordinator.headers, **REASON})
    assert down.status_code == 200
    assert down.content == big
    assert down.headers["content-type"] == "application/pdf"


async def test_wrong_type_empty_and_broken_are_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    url = _url(team, consent)
    r = await _put(client, team.coordinator, url, b"GIF89a" + b"\0" * 64, "image/jpeg")
    assert r.status_code == 415
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/consent-form-unsupported-type")
    r = await _put(client, team.coordinator, url, b"", "application/pdf")
    assert r.status_code == 422
    r = await _put(client, team.coordinator, url, b"\xff\xd8\xff\xe0" + b"not a jpeg" * 10, "image/jpeg")
    assert r.status_code == 422
    assert r.json()["type"].endswith("/image-unreadable")
    listed = await client.get(f"/v1/households/{team.household.id}/consents", headers=team.coordinator.headers)
    assert all(c["form"] is None for c in listed.json()["items"])


async def test_too_big_is_413(client: httpx.AsyncClient, factory: Factory, app: Any) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    limit = app.state.ongi.settings.consent_form_max_bytes
    r = await _put(client, team.coordinator, _url(team, consent), PDF + b"x" * limit, "application/pdf")
    assert r.status_code == 413
    assert r.json()["type"].endswith("/payload-too-large")

    # a body sent without Content-Length (chunked) is bounded while it streams
    async def chunks() -> AsyncIterator[bytes]:
        yield PDF
        for _ in range(limit // (1024 * 1024) + 1):
            yield b"x" * (1024 * 1024)

    r = await client.put(
        _url(team, consent), content=chunks(), headers={**team.coordinator.headers, "Content-Type": "application/pdf"}
    )
    assert r.status_code == 413
    listed = await client.get(f"/v1/households/{team.household.id}/consents", headers=team.coordinator.headers)
    assert all(c["form"] is None for c in listed.json()["items"])


async def test_retried_upload_is_safe_and_another_file_is_refused(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    url = _url(team, consent)
    data = jpeg_with_gps()
    first = await _put(client, team.coordinator, url, data, "image/jpeg")
    assert first.status_code == 201
    again = await _put(client, team.coordinator, url, data, "image/jpeg")
    assert again.status_code == 200, again.text
    assert again.json()["form"] == first.json()["form"]
    assert again.headers["etag"] == first.headers["etag"]
    other = await _put(client, team.coordinator, url, PDF, "application/pdf")
    assert other.status_code == 409
    assert other.json()["type"].endswith("/consent-form-exists")
    async with maker() as s:
        rows = (await s.execute(select(ConsentForm).where(ConsentForm.consent_id == consent.id))).scalars().all()
    assert len(rows) == 1
    assert rows[0].content_type == "image/jpeg"
    assert len(await _audit(maker, "household.consent.form.upload", consent.id)) == 1


async def test_access(client: httpx.AsyncClient, factory: Factory, storage: Storage) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    url = _url(team, consent)
    reporter = await factory.actor(Role.reporter)
    for actor in (team.partner, reporter):  # neither may record consent
        r = await _put(client, actor, url, PDF, "application/pdf")
        assert r.status_code in (403, 404), (actor.user.role, r.status_code)
    r = await _put(client, team.planner_elsewhere, url, PDF, "application/pdf")
    assert r.status_code == 404
    assert r.json()["type"].endswith("/not-found")
    # a consent of another household through this household's URL
    other_household_consent = await make_consent(factory, await make_household(factory), team.coordinator.user)
    r = await _put(
        client,
        team.coordinator,
        f"/v1/households/{team.household.id}/consents/{other_household_consent.id}/form",
        PDF,
        "application/pdf",
    )
    assert r.status_code == 404
    assert (await client.put(url, content=PDF)).status_code == 401

    # the planner of the jurisdiction, not on any visit team, may (the coordinator too)
    r = await _put(client, team.planner_unassigned, url, PDF, "application/pdf")
    assert r.status_code == 201, r.text
    for actor in (team.partner, reporter):
        r = await client.get(url, headers={**actor.headers, **REASON})
        assert r.status_code in (403, 404)
    r = await client.get(url, headers={**team.planner_elsewhere.headers, **REASON})
    assert r.status_code == 404


async def test_download_needs_a_reason_and_is_audited_with_it(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    consent = await _consent(factory, team)
    url = _url(team, consent)
    r = await client.get(url, headers={**team.coordinator.headers, **REASON})
    assert r.status_code == 404  # no form yet
    assert (await _put(client, team.coordinator, url, PDF, "application/pdf")).status_code == 201

    for headers in ({}, {"Ongi-Reason": ""}, {"Ongi-Reason": "x"}):
        r = await client.get(url, headers={**team.coordinator.headers, **headers})
        assert r.status_code == 422, headers
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await _audit(maker, "household.consent.form.download", consent.id) == []

    r = await client.get(url, headers={**team.coordinator.headers, **REASON})
    assert r.status_code == 200
    assert r.content == PDF
    assert "동의서" not in r.headers.get("content-disposition", "")
    events = await _audit(maker, "household.consent.form.download", consent.id)
    assert [(e.actor_id, e.household_id, e.details["reason"]) for e in events] == [
        (team.coordinator.id, team.household.id, "동의서 확인 (감사 대응)")
    ]


async def test_photo_downloads_keep_their_reason(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    up = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps())
    r = await client.get(f"/v1/photos/{up.photo_id}/content", headers={**team.coordinator.headers, **REASON})
    assert r.status_code == 200
    r = await client.get(f"/v1/photos/{up.photo_id}/thumbnail", headers=team.coordinator.headers)
    assert r.status_code == 200
    r = await client.get(
        f"/v1/photos/{up.photo_id}/thumbnail", headers={**team.coordinator.headers, "Ongi-Reason": "x"}
    )
    assert r.status_code == 422  # a reason that is sent must be one
    events = await _audit(maker, "photo.download", up.photo_id)
    got = sorted((e.details["variant"], e.details.get("reason")) for e in events)
    assert got == [("content", "동의서 확인 (감사 대응)"), ("thumbnail", None)]


async def test_destroying_the_household_destroys_its_forms(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, maker: async_sessionmaker[AsyncSession]
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.core.db import utcnow
    from app.core.uow import commit
    from app.households.models import Consent, Household
    from app.lifecycle.service import destroy_expired
    from app.media.storage import ObjectMissing

    team = await make_team(factory)
    consent = await _consent(factory, team)
    assert (await _put(client, team.coordinator, _url(team, consent), jpeg_with_gps(), "image/jpeg")).status_code == 201
    async with maker() as s:
        key = (await s.execute(select(ConsentForm.storage_key).where(ConsentForm.consent_id == consent.id))).scalar()
    assert await read_all(storage, key)
    days = factory.state.settings.retention_closed_days + 1
    async with maker() as s:
        await s.execute(
            update(Household)
            .where(Household.id == team.household.id)
            .values(status="closed", status_changed_at=utcnow() - timedelta(days=days))
        )
        await commit(s)
    assert await destroy_expired(factory.state) >= 1
    async with maker() as s:
        assert (await s.execute(select(ConsentForm).where(ConsentForm.consent_id == consent.id))).first() is None
        assert await s.get(Consent, consent.id) is not None  # the record stays, for the statistics
    with pytest.raises(ObjectMissing):
        await read_all(storage, key)
