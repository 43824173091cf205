"""Helpers shared by the upload, photo and storage tests: test pictures made with Pillow, a small tus
client over httpx, an S3-compatible server (moto's server mode on loopback) and the storage fixture that
runs a test on each backend. No tests here."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image, ImageDraw

from app.core.principal import OrgKind, Role
from app.media.processing import wait_for_processing
from app.media.storage import STORAGE, Storage
from app.media.storage.local import LocalStorage
from app.media.storage.s3 import S3Storage
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit

TUS = {"Tus-Resumable": "1.0.0"}
#: Longest wait for the app to process an upload in tests.
SETTLE_SECONDS = 30.0
OCTET = {"Content-Type": "application/offset+octet-stream"}

# --- pictures ------------------------------------------------------------------------------------------------

#: Where the test pictures claim to have been taken (Seoul City Hall).
GPS = {1: "N", 2: (37.0, 33.0, 58.0), 3: "E", 4: (126.0, 58.0, 41.0)}


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "TestMaker"  # Make
    exif[0x0110] = "TestPhone 1"  # Model
    exif[0x0132] = "2026:11:22 10:00:00"  # DateTime
    if orientation != 1:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update(GPS)
    return exif


def marked_image(size: tuple[int, int] = (64, 48)) -> Image.Image:
    """Left half red, right half blue: the orientation shows where red ends up."""
    im = Image.new("RGB", size, (0, 0, 255))
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 2 - 1, size[1] - 1), fill=(255, 0, 0))
    return im


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int = 1, *, xmp: bool = True) -> bytes:
    buf = io.BytesIO()
    options: dict[str, Any] = {"exif": exif_with_gps(orientation).tobytes(), "quality": 95}
    if xmp:
        options["xmp"] = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>37,33N</exif:GPSLatitude></x:xmpmeta>'
        options["comment"] = b"home of Kim"
    marked_image(size).save(buf, "JPEG", **options)
    return buf.getvalue()


def noise_image(size: tuple[int, int], seed: int = 7) -> Image.Image:
    rnd = __import__("random").Random(seed)
    return Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))


def png_bytes(size: tuple[int, int] = (40, 30), *, seed: int = 1, exif: bool = True) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "address: 온기로 1길")
    buf = io.BytesIO()
    options: dict[str, Any] = {"pnginfo": info}
    if exif:
        options["exif"] = exif_with_gps().tobytes()
    noise_image(size, seed).save(buf, "PNG", **options)
    return buf.getvalue()


def webp_bytes(size: tuple[int, int] = (40, 30), *, lossless: bool = True) -> bytes:
    buf = io.BytesIO()
    noise_image(size, 3).save(buf, "WEBP", lossless=lossless, exif=exif_with_gps().tobytes())
    return buf.getvalue()


def heic_bytes(size: tuple[int, int] = (64, 48)) -> bytes | None:
    """A HEIC with GPS EXIF, or ``None`` when this pillow-heif cannot encode."""
    import pillow_heif

    if not pillow_heif.libheif_info().get("HEIF"):
        return None
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    marked_image(size).save(buf, "HEIF", quality=90, exif=exif_with_gps().tobytes())
    return buf.getvalue()


@cache
def noise_jpeg(target_mib: int = 20) -> bytes:
    """A high-quality JPEG of noise of about ``target_mib`` MiB (noise does not compress away)."""
    side = int((target_mib * 1024 * 1024 / 3.9) ** 0.5)
    buf = io.BytesIO()
    exif = exif_with_gps(orientation=6).tobytes()
    noise_image((side, side), 11).save(buf, "JPEG", quality=100, subsampling=0, exif=exif)
    return buf.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def metadata(values: dict[str, str | None]) -> str:
    return ",".join(k if v is None else f"{k} {b64(v)}" for k, v in values.items())


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


# --- a tus client over httpx ---------------------------------------------------------------------------------


async def tus_create(
    client: httpx.AsyncClient,
    actor: Actor,
    visit_id: uuid.UUID,
    data: bytes,
    *,
    photo_id: uuid.UUID | None = None,
    body: bytes | None = None,
    sha256: str | None = None,
    extra: dict[str, str | None] | None = None,
    headers: dict[str, str] | None = None,
    settled: bool = True,
) -> httpx.Response:
    """POST an upload (with ``body``: creation-with-upload). With ``settled``, an upload this completes is
    processed before returning (see :func:`settle`)."""
    meta: dict[str, str | None] = {
        "photo_id": str(photo_id or uuid.uuid4()),
        "visit_id": str(visit_id),
        "filename": "photo.jpg",
        "filetype": "image/jpeg",
        "sha256": sha256 or sha256_hex(data),
    }
    meta.update(extra or {})
    request_headers = {**TUS, **actor.headers, "Upload-Length": str(len(data)), "Upload-Metadata": metadata(meta)}
    if body is not None:
        request_headers.update(OCTET)
    request_headers.update(headers or {})
    response = await client.post("/v1/uploads/", headers=request_headers, content=body)
    if settled:
        await settle_if_processing(client, response)
    return response


async def tus_patch(
    client: httpx.AsyncClient,
    actor: Actor,
    location: str,
    offset: int,
    chunk: bytes | Any,
    *,
    headers: dict[str, str] | None = None,
    settled: bool = True,
) -> httpx.Response:
    """PATCH a chunk. With ``settled``, when this completes the upload the app's processing of it is
    awaited before returning (see :func:`settle`)."""
    request_headers = {**TUS, **OCTET, **actor.headers, "Upload-Offset": str(offset)}
    request_headers.update(headers or {})
    response = await client.patch(location, headers=request_headers, content=chunk)
    if settled:
        await settle_if_processing(client, response)
    return response


async def tus_head(client: httpx.AsyncClient, actor: Actor, location: str) -> httpx.Response:
    return await client.head(location, headers={**TUS, **actor.headers})


async def settle(client: httpx.AsyncClient) -> None:
    """Wait until the app behind ``client`` has processed every upload it accepted (the final PATCH answers
    before the picture is processed). In-process (httpx's ASGI transport) it waits for the app's background
    tasks: the test's requests and the app's tasks share one database connection, so they must not
    overlap. Bounded by :data:`SETTLE_SECONDS`."""
    transport = client._transport
    app = getattr(transport, "app", None)
    if app is None:
        raise TypeError("settle() needs a client on httpx.ASGITransport; poll HEAD for a live server")
    with anyio.fail_after(SETTLE_SECONDS):
        await wait_for_processing(app.state.ongi)


@pytest.fixture(autouse=True)
async def settle_background(app: Any, maker: Any) -> AsyncIterator[None]:
    """Import into a test module whose tests run on the shared app (``client``/``maker``): after each test,
    wait for the uploads it completed to be processed, before its database transaction is rolled back (so
    no task outlives its test)."""
    yield
    with anyio.fail_after(SETTLE_SECONDS):
        await wait_for_processing(app.state.ongi)


async def settle_if_processing(client: httpx.AsyncClient, response: httpx.Response) -> None:
    """:func:`settle` after an answer that left an upload processing (in-process clients only)."""
    if response.headers.get("ongi-upload-status") == "processing" and hasattr(client._transport, "app"):
        await settle(client)


async def wait_processed(client: httpx.AsyncClient, actor: Actor, location: str) -> httpx.Response:
    """Poll HEAD (a live server) until the upload is no longer ``processing``; 20 ms apart, bounded."""
    for _ in range(int(SETTLE_SECONDS / 0.02)):
        head = await tus_head(client, actor, location)
        if head.headers.get("ongi-upload-status") != "processing":
            return head
        await anyio.sleep(0.02)
    raise AssertionError(f"{location} still processing after {SETTLE_SECONDS} s")


@dataclass
class Uploaded:
    photo_id: uuid.UUID
    location: str
    response: httpx.Response


async def tus_upload(
    client: httpx.AsyncClient,
    actor: Actor,
    visit_id: uuid.UUID,
    data: bytes,
    *,
    chunk_size: int | None = None,
    photo_id: uuid.UUID | None = None,
    extra: dict[str, str | None] | None = None,
    expect: int = 204,
    settled: bool = True,
) -> Uploaded:
    """Upload ``data`` in chunks; with ``settled`` (in-process) return once the app processed it."""
    photo_id = photo_id or uuid.uuid4()
    created = await tus_create(client, actor, visit_id, data, photo_id=photo_id, extra=extra)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    offset = 0
    step = chunk_size or len(data)
    response = created
    while offset < len(data):
        response = await tus_patch(client, actor, location, offset, data[offset : offset + step], settled=settled)
        if response.status_code != 204:
            break
        offset = int(response.headers["upload-offset"])
    assert response.status_code == expect, response.text
    return Uploaded(photo_id, location, response)


# --- people and a visit --------------------------------------------------------------------------------------


@dataclass
class Team:
    planner: Actor  # on the team, uploads
    partner: Actor  # on the team, with consent
    partner_no_consent: Actor  # on the team, no consent for their organization
    coordinator: Actor  # jurisdiction, not on the team
    planner_elsewhere: Actor  # another jurisdiction
    partner_unassigned: Actor
    planner_unassigned: Actor  # same jurisdiction, not on the team
    household: Any
    visit: Any


async def make_team(factory: Factory, *, expected_photos: list[dict[str, Any]] | None = None) -> Team:
    public = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, public)
    planner_unassigned = await factory.actor(Role.planner, public)
    coordinator = await factory.actor(Role.coordinator, public)
    planner_elsewhere = await factory.actor(Role.planner, await factory.org(OrgKind.public, ["11880"]))
    partner = await factory.actor(Role.partner)
    partner_no_consent = await factory.actor(Role.partner)
    partner_unassigned = await factory.actor(Role.partner)
    household = await make_household(factory)
    await make_consent(factory, household, coordinator.user, organization=partner.org)
    await make_consent(factory, household, coordinator.user, organization=partner_unassigned.org)
    visit = await make_visit(
        factory,
        household,
        [planner.user, partner.user, partner_no_consent.user],
        expected_photos=expected_photos or [],
    )
    return Team(
        planner=planner,
        partner=partner,
        partner_no_consent=partner_no_consent,
        coordinator=coordinator,
        planner_elsewhere=planner_elsewhere,
        partner_unassigned=partner_unassigned,
        planner_unassigned=planner_unassigned,
        household=household,
        visit=visit,
    )


# --- storage backends ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_MOTO: dict[str, Any] = {}


def moto_endpoint(config: pytest.Config) -> str:
    """An S3-compatible server (moto's server mode) on 127.0.0.1, one per test session."""
    if "url" not in _MOTO:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        _MOTO.update(url=f"http://127.0.0.1:{port}", server=server)

        def stop() -> None:
            server.stop()
            _MOTO.clear()

        config.add_cleanup(stop)
    return str(_MOTO["url"])


def s3_storage(endpoint: str, bucket: str | None = None, **kw: Any) -> S3Storage:
    return S3Storage(
        bucket=bucket or f"ongi-test-{uuid.uuid4().hex[:12]}",
        endpoint_url=endpoint,
        region="ap-northeast-2",
        access_key_id="test",
        secret_access_key="test",
        **kw,
    )


async def make_storage(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if kind == "local":
        return LocalStorage(tmp_path / "files")
    storage = s3_storage(moto_endpoint(request.config))
    await storage.create_bucket()
    return storage


@asynccontextmanager
async def installed_storage(
    kind: str, request: pytest.FixtureRequest, app: Any, tmp_path: Path
) -> AsyncIterator[Storage]:
    """A fresh storage of ``kind`` installed as the app's storage for one test (so counting files is exact)."""
    backend = await make_storage(kind, request, tmp_path)
    try:
        with app.state.ongi.override(STORAGE, backend):
            yield backend
    finally:
        await backend.close()


async def stored_keys(storage: Storage, prefix: str) -> list[str]:
    """Every key under ``prefix`` (test inspection of the backend)."""
    if isinstance(storage, LocalStorage):
        root = storage.root
        folder = root / prefix
        if not folder.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file())
    assert isinstance(storage, S3Storage)
    client = await storage.client()
    keys: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=storage.bucket, Prefix=prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return sorted(keys)


async def read_all(storage: Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.get_range(key)])


def image_of(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
