"""The final PATCH answers once the bytes are durable and checked; the picture is processed right after, in
the background of the same process (docs/uploads.md, docs/performance.md#budget): what the phone sees before and after,
a picture refused
after the 204, the whole-file hash kept while receiving (and read again when this process did not see every
byte), an upload left ``processing`` by a killed process finished by the next one on startup, and exactly
one of two racing processes doing it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.media.models import Photo, Upload, UploadStatus
from app.media.processing import MEDIA_TASKS, media_limiter
from app.media.storage.local import LocalStorage
from app.media.uploads import RunningHashes, running_hashes
from tests.support.factories import Actor, Factory
from tests.support.uploads import (
    image_of,
    installed_storage,
    jpeg_with_gps,
    make_team,
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

GPS_IFD = 0x8825


@pytest.fixture
async def local_storage(request: pytest.FixtureRequest, app: Any, tmp_path: Path) -> AsyncIterator[LocalStorage]:
    async with installed_storage("local", request, app, tmp_path) as backend:
        assert isinstance(backend, LocalStorage)
        yield backend


async def _visit_photos(client: httpx.AsyncClient, actor: Actor, visit_id: uuid.UUID) -> dict[str, Any]:
    r = await client.get(f"/v1/visits/{visit_id}/photos", headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# --- in one process ------------------------------------------------------------------------------------------


async def test_the_last_204_comes_before_processing_then_the_photo_appears(
    client: httpx.AsyncClient, app: Any, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory, expected_photos=[{"key": "front", "label": "현관"}])
    data = jpeg_with_gps((640, 480), orientation=6)
    photo_id = uuid.uuid4()
    created = await tus_create(
        client, team.planner, team.visit.id, data, photo_id=photo_id, extra={"item_key": "front"}
    )
    location = created.headers["location"]
    limiter = media_limiter(app.state.ongi)
    # Processing waits for the media limiter: while the test holds it, the 204 must still come.
    await limiter.acquire()
    try:
        first = await tus_patch(client, team.planner, location, 0, data[:1000], settled=False)
        assert first.headers["ongi-upload-status"] == "open"
        last = await tus_patch(client, team.planner, location, 1000, data[1000:], settled=False)
        assert last.status_code == 204, last.text
        assert last.headers["upload-offset"] == str(len(data))
        assert last.headers["ongi-upload-status"] == "processing"
        assert len(app.state.ongi.require(MEDIA_TASKS)) == 1

        head = await tus_head(client, team.planner, location)
        assert (head.status_code, head.headers["ongi-upload-status"]) == (200, "processing")
        assert head.headers["upload-offset"] == str(len(data))
        # A client that lost the 204 and sends an empty PATCH at the end is told it is all there.
        again = await tus_patch(client, team.planner, location, len(data), b"", settled=False)
        assert (again.status_code, again.headers["ongi-upload-status"]) == (204, "processing")
        assert (await client.get(f"/v1/photos/{photo_id}", headers=team.planner.headers)).status_code == 404
        listing = await _visit_photos(client, team.planner, team.visit.id)
        assert listing["items"] == []
        assert listing["expected"][0]["status"] == "uploading"
        assert listing["complete"] is False
        assert [(u["photo_id"], u["status"], u["item_key"]) for u in listing["uploads"]] == [
            (str(photo_id), "processing", "front")
        ]
        async with maker() as s:
            row = await s.get(Upload, uuid.UUID(location.rsplit("/", 1)[1]))
            assert row is not None
            assert (row.status, row.lease_token is not None) == (UploadStatus.processing, True)
            assert await s.get(Photo, photo_id) is None
    finally:
        limiter.release()
    await settle(client)

    head = await tus_head(client, team.planner, location)
    assert (head.status_code, head.headers["ongi-upload-status"]) == (200, "completed")
    record = await client.get(f"/v1/photos/{photo_id}", headers=team.planner.headers)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["original_sha256"] == sha256_hex(data)
    assert (body["width"], body["height"]) == (480, 640)  # orientation 6 applied
    content = await client.get(body["content_url"], headers=team.planner.headers)
    assert sha256_hex(content.content) == body["sha256"]
    stored = image_of(content.content)
    assert not stored.getexif().get_ifd(GPS_IFD)
    assert 0x0112 not in stored.getexif()
    thumbnail = await client.get(body["thumbnail_url"], headers=team.planner.headers)
    assert thumbnail.status_code == 200
    assert max(image_of(thumbnail.content).size) <= 320
    listing = await _visit_photos(client, team.planner, team.visit.id)
    assert listing["expected"][0] == {
        "key": "front",
        "label": "현관",
        "status": "verified",
        "failure": None,
        "photo_ids": [str(photo_id)],
    }
    assert listing["complete"] is True
    assert listing["uploads"] == []


async def test_a_picture_refused_after_the_204_shows_where_the_phone_looks(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession], local_storage: LocalStorage
) -> None:
    team = await make_team(factory, expected_photos=[{"key": "kitchen", "label": "부엌"}])
    # JPEG magic bytes and the right sha256, but no picture: accepted at the 204, refused when decoded.
    broken = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64
    photo_id = uuid.uuid4()
    uploaded = await tus_upload(
        client, team.planner, team.visit.id, broken, photo_id=photo_id, chunk_size=5000, extra={"item_key": "kitchen"}
    )
    assert uploaded.response.headers["ongi-upload-status"] == "processing"

    head = await tus_head(client, team.planner, uploaded.location)
    assert head.status_code == 410
    assert head.headers["ongi-upload-status"] == "failed"
    assert head.headers["ongi-upload-failure"] == "image-unreadable"
    listing = await _visit_photos(client, team.planner, team.visit.id)
    assert listing["expected"][0]["status"] == "failed"
    assert listing["expected"][0]["failure"] == "image-unreadable"
    assert listing["complete"] is False
    [entry] = listing["uploads"]
    assert (entry["photo_id"], entry["status"], entry["failure"]) == (str(photo_id), "failed", "image-unreadable")
    # Nothing half-written: no photo, no stored file, no staged bytes.
    assert (await client.get(f"/v1/photos/{photo_id}", headers=team.planner.headers)).status_code == 404
    async with maker() as s:
        assert await s.get(Photo, photo_id) is None
    assert await stored_keys(local_storage, "photos/") == []
    assert await stored_keys(local_storage, "thumbnails/") == []
    assert await stored_keys(local_storage, "uploads/") == []

    # The phone sends the photo again under the same id: it arrives and the key is verified.
    good = jpeg_with_gps()
    await tus_upload(client, team.planner, team.visit.id, good, photo_id=photo_id, extra={"item_key": "kitchen"})
    listing = await _visit_photos(client, team.planner, team.visit.id)
    assert listing["expected"][0]["status"] == "verified"
    assert listing["complete"] is True
    assert listing["uploads"] == []


async def test_whole_file_hash_is_read_again_when_this_process_did_not_see_every_byte(
    client: httpx.AsyncClient, app: Any, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    data = png_bytes((300, 200), seed=3)
    hashes = running_hashes(app.state.ongi)
    for right in (True, False):
        photo_id = uuid.uuid4()
        sha = sha256_hex(data) if right else sha256_hex(data + b"x")
        location = (await tus_create(client, team.planner, team.visit.id, data, photo_id=photo_id, sha256=sha)).headers[
            "location"
        ]
        upload_id = uuid.UUID(location.rsplit("/", 1)[1])
        assert (await tus_patch(client, team.planner, location, 0, data[:4000])).status_code == 204
        assert hashes.start(upload_id, 4000) is not None  # kept while receiving
        hashes.forget(upload_id)  # as if the first chunk had gone to another process
        last = await tus_patch(client, team.planner, location, 4000, data[4000:])
        if right:
            assert last.status_code == 204, last.text
            async with maker() as s:
                photo = await s.get(Photo, photo_id)
            assert photo is not None
            assert photo.original_sha256 == sha256_hex(data)
        else:
            assert last.status_code == 460, last.text
            assert last.json()["type"].endswith("/upload-hash-mismatch")
            head = await tus_head(client, team.planner, location)
            assert (head.status_code, head.headers["ongi-upload-failure"]) == (410, "upload-hash-mismatch")
        assert hashes.start(upload_id, len(data)) is None  # forgotten once complete


def test_running_hashes_are_bounded_and_private_per_patch() -> None:
    hashes = RunningHashes(capacity=2)
    ids = [uuid.uuid4() for _ in range(3)]
    for upload_id in ids:
        running = hashes.start(upload_id, 0)
        assert running is not None
        running.digest.update(b"abc")
        running.offset = 3
        hashes.keep(upload_id, running)
    assert len(hashes) == 2
    assert hashes.start(ids[0], 3) is None  # the least recently used went first
    copy = hashes.start(ids[2], 3)
    assert copy is not None
    copy.digest.update(b"a failed chunk")  # a PATCH that fails does not spoil what is kept
    kept = hashes.start(ids[2], 3)
    assert kept is not None
    assert kept.digest.hexdigest() == sha256_hex(b"abc")
    assert hashes.start(ids[2], 4) is None  # another offset: not known
