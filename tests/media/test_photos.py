"""Photos after upload (docs/data-model.md, docs/uploads.md): metadata stripped with orientation applied,
content-addressed
storage, downloads with Range/ETag under the access policy, edits, deletes, a visit's expected photos.

The flows that touch storage run on both backends: local files and S3 (moto's server on loopback)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.principal import Role
from app.media.models import Photo
from app.media.storage import Storage
from app.sync.models import ChangeLog
from tests.support.factories import Factory
from tests.support.uploads import (
    heic_bytes,
    image_of,
    installed_storage,
    jpeg_with_gps,
    make_team,
    noise_image,
    png_bytes,
    read_all,
    settle_background,  # noqa: F401 - autouse: no processing outlives its test
    sha256_hex,
    stored_keys,
    tus_create,
    tus_patch,
    tus_upload,
    webp_bytes,
)

GPS_IFD = 0x8825


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, app: Any, tmp_path: Path) -> AsyncIterator[Storage]:
    """Runs the test once on local files and once on S3 (moto's server on loopback)."""
    async with installed_storage(request.param, request, app, tmp_path) as backend:
        yield backend


def assert_no_metadata(im: Image.Image) -> None:
    exif = im.getexif()
    assert GPS_IFD not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert 0x0112 not in exif  # no orientation left to apply twice
    assert 0x010F not in exif
    assert 0x0110 not in exif
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment"):
        assert key not in im.info, key


def red_at_top(im: Image.Image) -> bool:
    """The marked picture (red left half) turned by EXIF orientation 6 (90° clockwise) has red on top."""
    rgb = im.convert("RGB")
    w, h = rgb.size
    top, bottom = rgb.getpixel((w // 2, h // 5)), rgb.getpixel((w // 2, h * 4 // 5))
    return top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


async def test_jpeg_gps_and_metadata_stripped_orientation_applied(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps((64, 48), orientation=6)
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(GPS_IFD)  # the test file does carry a location
    assert "xmp" in original.info or "XML:com.adobe.xmp" in original.info
    up = await tus_upload(client, team.planner, team.visit.id, data, chunk_size=700)

    record = await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)
    assert record.status_code == 200, record.text
    body = record.json()
    assert record.headers["etag"].startswith(f'"v{body["version"]}-')
    assert (body["width"], body["height"]) == (48, 64)  # turned upright
    assert body["content_type"] == "image/jpeg"
    assert body["original_sha256"] == sha256_hex(data)
    assert body["content_url"] == f"/v1/photos/{up.photo_id}/content"
    assert body["thumbnail_url"] == f"/v1/photos/{up.photo_id}/thumbnail"
    assert body["visit_id"] == str(team.visit.id)

    content = await client.get(body["content_url"], headers=team.planner.headers)
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/jpeg"
    assert content.headers["etag"] == f'"{body["sha256"]}"'
    assert sha256_hex(content.content) == body["sha256"]
    assert len(content.content) == body["size"]
    assert b"home of Kim" not in content.content
    assert b"GPS" not in content.content
    stored = image_of(content.content)
    assert stored.size == (48, 64)
    assert_no_metadata(stored)
    assert red_at_top(stored)

    thumb = await client.get(body["thumbnail_url"], headers=team.planner.headers)
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    small = image_of(thumb.content)
    assert small.format == "JPEG"
    assert max(small.size) <= 320
    assert_no_metadata(small)
    assert red_at_top(small)

    # What the backend holds is the stripped file, under its own hash.
    async with maker() as s:
        photo = await s.get(Photo, up.photo_id)
    assert photo is not None
    assert photo.storage_key == f"photos/{photo.sha256[:2]}/{photo.sha256}"
    assert sha256_hex(await read_all(storage, photo.storage_key)) == photo.sha256
    assert await stored_keys(storage, "uploads/") == []


async def test_large_photo_in_chunks_is_stripped_and_rotated(
    client: httpx.AsyncClient, factory: Factory, storage: Storage
) -> None:
    """A big noise JPEG (more than the S3 part size) in 1.5 MiB chunks; the server joins the segments."""
    team = await make_team(factory)
    image = noise_image((1800, 1600), 5)
    buf = io.BytesIO()
    from tests.support.uploads import exif_with_gps

    image.save(buf, "JPEG", quality=98, exif=exif_with_gps(orientation=6).tobytes())
    data = buf.getvalue()
    assert len(data) > 8 * 1024 * 1024 / 2
    up = await tus_upload(client, team.planner, team.visit.id, data, chunk_size=1536 * 1024)
    body = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()
    assert (body["width"], body["height"]) == (1600, 1800)
    content = await client.get(body["content_url"], headers=team.planner.headers)
    assert_no_metadata(image_of(content.content))


@pytest.mark.parametrize("kind", ["png", "webp-lossless", "webp-lossy"])
async def test_png_and_webp(client: httpx.AsyncClient, factory: Factory, kind: str) -> None:
    team = await make_team(factory)
    data = {"png": png_bytes, "webp-lossless": webp_bytes, "webp-lossy": lambda: webp_bytes(lossless=False)}[kind]()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    up = await tus_upload(client, team.planner, team.visit.id, data)
    body = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()
    assert body["content_type"] == ("image/png" if kind == "png" else "image/webp")
    stored = image_of((await client.get(body["content_url"], headers=team.planner.headers)).content)
    assert_no_metadata(stored)
    assert "address" not in str(stored.info)
    if kind != "webp-lossy":
        assert stored.convert("RGB").tobytes() == image_of(data).convert("RGB").tobytes()


async def test_heic_is_stripped_and_stored_as_jpeg(client: httpx.AsyncClient, factory: Factory) -> None:
    data = heic_bytes()
    if data is None:
        pytest.skip("this pillow-heif cannot write HEIC")
    import pillow_heif

    assert pillow_heif.read_heif(io.BytesIO(data)).info.get("exif")  # the test file carries EXIF with GPS
    team = await make_team(factory)
    up = await tus_upload(
        client, team.planner, team.visit.id, data, extra={"filename": "IMG_0001.HEIC", "filetype": "image/heic"}
    )
    body = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (64, 48)
    stored = image_of((await client.get(body["content_url"], headers=team.planner.headers)).content)
    assert stored.format == "JPEG"
    assert_no_metadata(stored)


async def test_identical_content_is_stored_once(
    client: httpx.AsyncClient, factory: Factory, storage: Storage, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    data = jpeg_with_gps((50, 40), orientation=3)
    first = await tus_upload(client, team.planner, team.visit.id, data)
    second = await tus_upload(client, team.partner, team.visit.id, data, chunk_size=400)
    other = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps((50, 41)))
    async with maker() as s:
        photos = {p.id: p for p in (await s.execute(select(Photo).where(Photo.visit_id == team.visit.id))).scalars()}
    a, b, c = photos[first.photo_id], photos[second.photo_id], photos[other.photo_id]
    assert a.sha256 == b.sha256
    assert a.storage_key == b.storage_key
    assert a.thumbnail_key == b.thumbnail_key
    assert c.sha256 != a.sha256
    assert len(await stored_keys(storage, "photos/")) == 2
    assert len(await stored_keys(storage, "thumbnails/")) == 2
    assert (a.uploaded_by_id, b.uploaded_by_id) == (team.planner.id, team.partner.id)


async def test_same_photo_id_again(client: httpx.AsyncClient, factory: Factory) -> None:
    """A phone that lost the answer and uploads the same photo again succeeds; another file under the same
    photo id is refused."""
    team = await make_team(factory)
    data = jpeg_with_gps()
    photo_id = uuid.uuid4()
    await tus_upload(client, team.planner, team.visit.id, data, photo_id=photo_id)
    again = await tus_upload(client, team.planner, team.visit.id, data, photo_id=photo_id)
    assert again.response.status_code == 204
    different = await tus_create(client, team.planner, team.visit.id, jpeg_with_gps((10, 10)), photo_id=photo_id)
    assert different.status_code == 409
    assert different.json()["type"].endswith("/photo-exists")
    r = await client.get(f"/v1/photos/{photo_id}", headers=team.planner.headers)
    assert r.json()["version"] == 1


# --- access --------------------------------------------------------------------------------------------------


async def test_who_may_see_a_photo(client: httpx.AsyncClient, factory: Factory, storage: Storage) -> None:
    team = await make_team(factory)
    up = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps())
    paths = [
        f"/v1/photos/{up.photo_id}",
        f"/v1/photos/{up.photo_id}/content",
        f"/v1/photos/{up.photo_id}/thumbnail",
        f"/v1/visits/{team.visit.id}/photos",
    ]
    for actor in (team.planner, team.partner, team.coordinator, team.planner_unassigned):
        for path in paths:
            r = await client.get(path, headers=actor.headers)
            assert r.status_code == 200, (actor.user.role, path, r.text)
    reporter = await factory.actor(Role.reporter)
    admin = await factory.actor(Role.admin)
    for actor in (team.planner_elsewhere, team.partner_unassigned, team.partner_no_consent, reporter, admin):
        for path in paths:
            r = await client.get(path, headers=actor.headers)
            assert r.status_code == 404, (actor.user.role, path, r.text)
            assert r.json()["type"].endswith("/not-found")
    assert (await client.get(paths[1])).status_code == 401
    assert (await client.get(f"/v1/photos/{uuid.uuid4()}/content", headers=team.planner.headers)).status_code == 404


async def test_downloads_are_audited(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    up = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps())
    await client.get(f"/v1/photos/{up.photo_id}/content", headers=team.coordinator.headers)
    await client.get(f"/v1/photos/{up.photo_id}/thumbnail", headers=team.partner.headers)
    not_modified = await client.get(
        f"/v1/photos/{up.photo_id}/thumbnail",
        headers={
            **team.partner.headers,
            "If-None-Match": (
                await client.get(f"/v1/photos/{up.photo_id}/thumbnail", headers=team.partner.headers)
            ).headers["etag"],
        },
    )
    assert not_modified.status_code == 304
    async with maker() as s:
        events = (
            (await s.execute(select(AuditEvent).where(AuditEvent.entity_id == up.photo_id).order_by(AuditEvent.at)))
            .scalars()
            .all()
        )
    actions = [(e.action, e.actor_id, e.household_id) for e in events]
    assert ("photo.upload", team.planner.id, team.household.id) in actions
    assert ("photo.download", team.coordinator.id, team.household.id) in actions
    variants = [e.details.get("variant") for e in events if e.action == "photo.download"]
    assert sorted(variants) == ["content", "thumbnail", "thumbnail"]  # the 304 is not a download
    for e in events:
        assert "caption" not in str(e.details)


# --- range, etag ---------------------------------------------------------------------------------------------


async def test_range_requests_and_etag(client: httpx.AsyncClient, factory: Factory, storage: Storage) -> None:
    team = await make_team(factory)
    up = await tus_upload(client, team.planner, team.visit.id, png_bytes((120, 80), seed=4))
    url = f"/v1/photos/{up.photo_id}/content"
    h = team.planner.headers
    full = await client.get(url, headers=h)
    data, size, etag = full.content, len(full.content), full.headers["etag"]
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-length"] == str(size)

    cases = {
        "bytes=0-9": (0, 9),
        "bytes=10-": (10, size - 1),
        "bytes=-25": (size - 25, size - 1),
        f"bytes=100-{size + 500}": (100, size - 1),
        f"bytes={size - 1}-{size - 1}": (size - 1, size - 1),
    }
    for header, (first, last) in cases.items():
        r = await client.get(url, headers={**h, "Range": header})
        assert r.status_code == 206, (header, r.text)
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.content == data[first : last + 1]
        assert r.headers["etag"] == etag

    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        r = await client.get(url, headers={**h, "Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/range-not-satisfiable")

    for ignored in ("bytes=0-1,5-6", "items=0-5", "bytes=abc", "bytes=9-2"):
        r = await client.get(url, headers={**h, "Range": ignored})
        assert r.status_code == 200, ignored
        assert r.content == data, ignored

    assert (await client.get(url, headers={**h, "Range": "bytes=0-3", "If-Range": etag})).status_code == 206
    stale = await client.get(url, headers={**h, "Range": "bytes=0-3", "If-Range": '"old"'})
    assert stale.status_code == 200
    assert stale.content == data

    not_modified = await client.get(url, headers={**h, "If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert (await client.get(url, headers={**h, "If-None-Match": '"other", ' + etag})).status_code == 304
    assert (await client.get(url, headers={**h, "If-None-Match": '"other"'})).status_code == 200

    thumb = await client.get(f"/v1/photos/{up.photo_id}/thumbnail", headers={**h, "Range": "bytes=0-1"})
    assert thumb.status_code == 206
    assert thumb.content == b"\xff\xd8"


# --- edits and deletes ---------------------------------------------------------------------------------------


async def test_patch_and_delete(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    team = await make_team(factory)
    up = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps(), extra={"caption": "before"})
    url = f"/v1/photos/{up.photo_id}"
    r = await client.patch(url, headers={**team.planner.headers, "If-Match": '"v0"'}, json={"caption": "x"})
    assert r.status_code == 412
    r = await client.patch(url, headers={**team.planner.headers, "If-Match": '"v1"'}, json={"caption": "부엌 천장"})
    assert r.status_code == 200, r.text
    assert r.json()["caption"] == "부엌 천장"
    assert r.json()["version"] == 2
    assert r.headers["etag"].startswith('"v2-')
    assert (await client.patch(url, headers=team.planner.headers, json={"item_key": "bad key!"})).status_code == 422
    assert (await client.patch(url, headers=team.planner.headers, json={"sha256": "0" * 64})).status_code == 422
    # A team member who did not upload it may not change it; a coordinator may.
    r = await client.patch(url, headers=team.partner.headers, json={"caption": "mine now"})
    assert r.status_code == 403
    r = await client.patch(url, headers=team.coordinator.headers, json={"item_key": "kitchen"})
    assert r.status_code == 200
    assert r.json()["item_key"] == "kitchen"
    assert (await client.patch(url, headers=team.planner_elsewhere.headers, json={"caption": "x"})).status_code == 404

    assert (await client.delete(url, headers=team.partner.headers)).status_code == 403
    assert (await client.delete(url, headers={**team.planner.headers, "If-Match": '"v1"'})).status_code == 412
    assert (await client.delete(url, headers=team.planner.headers)).status_code == 204
    for path in (url, f"{url}/content"):
        assert (await client.get(path, headers=team.planner.headers)).status_code == 404
    listing = (await client.get(f"/v1/visits/{team.visit.id}/photos", headers=team.planner.headers)).json()
    assert listing["items"] == []
    async with maker() as s:
        photo = await s.get(Photo, up.photo_id)
        changes = (
            (await s.execute(select(ChangeLog).where(ChangeLog.entity_id == up.photo_id).order_by(ChangeLog.seq)))
            .scalars()
            .all()
        )
    assert photo is not None
    assert photo.deleted_at is not None
    assert photo.deleted_by_id == team.planner.id
    assert [c.op for c in changes] == ["upsert", "upsert", "upsert", "delete"]
    assert changes[0].visit_id == team.visit.id
    assert changes[0].household_id == team.household.id
    assert changes[-1].version == photo.version


async def test_visit_photos_and_expected_photos(client: httpx.AsyncClient, factory: Factory) -> None:
    expected = [{"key": "front", "label": {"ko": "현관", "en": "Front door"}}, {"key": "kitchen", "label": "부엌"}]
    team = await make_team(factory, expected_photos=expected)
    url = f"/v1/visits/{team.visit.id}/photos"
    body = (await client.get(url, headers=team.planner.headers)).json()
    assert body["complete"] is False
    assert [(e["key"], e["status"]) for e in body["expected"]] == [("front", "missing"), ("kitchen", "missing")]
    assert body["expected"][0]["label"] == expected[0]["label"]

    front = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps(), extra={"item_key": "front"})
    extra = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps((20, 20)))
    data = jpeg_with_gps((30, 30))
    created = await tus_create(client, team.partner, team.visit.id, data, extra={"item_key": "kitchen"})
    body = (await client.get(url, headers=team.planner.headers)).json()
    assert {(e["key"], e["status"]) for e in body["expected"]} == {("front", "verified"), ("kitchen", "uploading")}
    assert body["expected"][0]["photo_ids"] == [str(front.photo_id)]
    assert body["complete"] is False
    assert {p["id"] for p in body["items"]} == {str(front.photo_id), str(extra.photo_id)}

    # A failed upload does not count.
    bad = await tus_create(client, team.partner, team.visit.id, data, sha256="00" * 32, extra={"item_key": "kitchen"})
    assert (await tus_patch(client, team.partner, bad.headers["location"], 0, data)).status_code == 460
    assert (await tus_patch(client, team.partner, created.headers["location"], 0, data)).status_code == 204
    body = (await client.get(url, headers=team.planner.headers)).json()
    assert body["complete"] is True
    assert [e["status"] for e in body["expected"]] == ["verified", "verified"]

    page = (await client.get(url, params={"limit": 2}, headers=team.planner.headers)).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = await client.get(url, params={"limit": 2, "cursor": page["next_cursor"]}, headers=team.planner.headers)
    assert len(rest.json()["items"]) == 1
    assert rest.json()["complete"] is True


async def test_photo_sync_data_matches_rest(
    client: httpx.AsyncClient, factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    from app.media.sync import photo_data

    team = await make_team(factory)
    up = await tus_upload(
        client, team.planner, team.visit.id, jpeg_with_gps(), extra={"taken_at": "2026-11-22T09:30:00+09:00"}
    )
    rest = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()
    async with maker() as s:
        photo = await s.get(Photo, up.photo_id)
    assert photo is not None
    data: dict[str, Any] = photo_data(photo)
    assert data == rest
    for field in (
        "id",
        "version",
        "visit_id",
        "item_key",
        "caption",
        "taken_at",
        "sha256",
        "size",
        "width",
        "height",
        "content_url",
        "thumbnail_url",
    ):
        assert field in data
    assert data["taken_at"].startswith("2026-11-22T00:30:00")


# --- pictures stored upright: their own data is kept, byte for byte of the picture ---------------------------


def _with_icc(data: bytes) -> tuple[bytes, bytes]:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = image_of(data)
    buf = io.BytesIO()
    im.save(
        buf,
        "JPEG",
        quality=92,
        icc_profile=icc,
        exif=im.getexif().tobytes(),
        xmp=b"<x:xmpmeta>GPS</x:xmpmeta>",
        comment=b"home of Kim",
    )
    return buf.getvalue(), icc


@pytest.mark.parametrize("variant", ["baseline", "progressive", "cmyk"])
async def test_upright_jpeg_keeps_its_pixels_and_nothing_else(
    client: httpx.AsyncClient, factory: Factory, variant: str
) -> None:
    team = await make_team(factory)
    from tests.support.uploads import exif_with_gps

    exif = exif_with_gps().tobytes()
    if variant == "cmyk":
        buf = io.BytesIO()
        Image.new("CMYK", (40, 30), (10, 200, 30, 5)).save(buf, "JPEG", exif=exif, comment=b"home of Kim")
        picture, icc = buf.getvalue(), None
    elif variant == "progressive":
        buf = io.BytesIO()
        noise_image((90, 70), 8).save(buf, "JPEG", progressive=True, exif=exif, comment=b"home of Kim")
        picture, icc = buf.getvalue(), None
    else:
        picture, icc = _with_icc(jpeg_with_gps((64, 48)))
    # Phones append more pictures after the first one (MPF, HDR gain maps), with their own EXIF.
    data = picture + jpeg_with_gps((8, 8))
    up = await tus_upload(client, team.planner, team.visit.id, data)
    body = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()
    stored = (await client.get(body["content_url"], headers=team.planner.headers)).content
    for marker in (b"Exif", b"GPS", b"home of Kim", b"xmpmeta", b"TestPhone"):
        assert marker not in stored, marker
    assert stored.endswith(b"\xff\xd9")
    assert stored.count(b"\xff\xd8\xff") == 1
    assert len(stored) < len(picture)
    decoded = image_of(stored)
    assert decoded.tobytes() == image_of(picture).tobytes()  # not re-encoded
    assert decoded.mode == image_of(picture).mode
    if icc:
        assert decoded.info.get("icc_profile") == icc
    assert_no_metadata(decoded)


async def test_png_with_exif_after_the_pixels_is_turned(client: httpx.AsyncClient, factory: Factory) -> None:
    import struct
    import zlib

    from tests.support.uploads import exif_with_gps

    team = await make_team(factory)
    buf = io.BytesIO()
    picture = noise_image((30, 20), 2)
    picture.save(buf, "PNG")
    raw = buf.getvalue()
    payload = exif_with_gps(orientation=6).tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    data = raw[:-12] + chunk + raw[-12:]  # eXIf between the last IDAT and IEND
    up = await tus_upload(client, team.planner, team.visit.id, data)
    body = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()
    assert (body["width"], body["height"]) == (20, 30)
    stored = image_of((await client.get(body["content_url"], headers=team.planner.headers)).content)
    assert_no_metadata(stored)
    assert stored.tobytes() == picture.transpose(Image.Transpose.ROTATE_270).tobytes()


async def _pull_all(
    client: httpx.AsyncClient, headers: dict[str, str], cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    changes: list[dict[str, Any]] = []
    for _ in range(20):
        r = await client.get("/v1/sync/pull", params={"cursor": cursor} if cursor else {}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    return changes, cursor


async def test_photo_reaches_the_teams_phones_by_sync(client: httpx.AsyncClient, factory: Factory) -> None:
    team = await make_team(factory)
    _, cursor = await _pull_all(client, team.partner.headers)
    up = await tus_upload(client, team.planner, team.visit.id, jpeg_with_gps(), extra={"item_key": "front"})
    rest = (await client.get(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).json()

    changes, _ = await _pull_all(client, team.planner.headers)
    photos = [c for c in changes if c["entity"] == "photo"]
    assert [(c["id"], c["op"], c["version"]) for c in photos] == [(str(up.photo_id), "upsert", 1)]
    assert photos[0]["data"] == rest

    # The partner's phone gets it in its next pull; a partner whose organization has no consent does not.
    changes, cursor = await _pull_all(client, team.partner.headers, cursor)
    assert [c["id"] for c in changes if c["entity"] == "photo"] == [str(up.photo_id)]
    changes, _ = await _pull_all(client, team.partner_no_consent.headers)
    assert [c for c in changes if c["entity"] == "photo"] == []

    assert (await client.delete(f"/v1/photos/{up.photo_id}", headers=team.planner.headers)).status_code == 204
    changes, _ = await _pull_all(client, team.partner.headers, cursor)
    gone = [c for c in changes if c["entity"] == "photo"]
    assert [(c["id"], c["op"]) for c in gone] in ([(str(up.photo_id), "delete")], [(str(up.photo_id), "revoke")])


@pytest.mark.parametrize("kind", ["jpeg", "png", "webp"])
def test_strippers_answer_the_clean_copys_size_and_sha256(tmp_path: Path, kind: str) -> None:
    """The cleaned copy is hashed as it is written (its content address needs no second read)."""
    from app.media import images

    data = {"jpeg": jpeg_with_gps((300, 200)), "png": png_bytes((120, 80)), "webp": webp_bytes((120, 80))}[kind]
    source, target = tmp_path / "source", tmp_path / "clean"
    source.write_bytes(data)
    size, digest = images.STRIPPERS[kind](source, target)
    assert (size, digest) == (target.stat().st_size, sha256_hex(target.read_bytes()))
    assert size < len(data)  # the metadata is gone


def test_upright_jpeg_cut_short_is_refused_although_its_header_reads(tmp_path: Path) -> None:
    """The picture is proven whole by decoding it (beside the stripping): a cut scan is refused, and nothing
    half-written is answered as a processed photo."""
    from app.media import images

    data = jpeg_with_gps((640, 480))
    whole = tmp_path / "whole.jpg"
    whole.write_bytes(data)
    assert images.process_image(whole, tmp_path).width == 640
    for cut in (len(data) // 2, len(data) - 2):  # half the scan; everything but the end-of-image marker
        source = tmp_path / f"cut{cut}.jpg"
        source.write_bytes(data[:cut])
        work = tmp_path / f"w{cut}"
        work.mkdir()
        with pytest.raises(images.ImageRejected) as refused:
            images.process_image(source, work)
        assert refused.value.slug == "image-unreadable"
