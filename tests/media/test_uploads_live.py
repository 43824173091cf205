"""A real tus client (tuspy, over requests) against the app served by uvicorn on 127.0.0.1, on both storage
backends: a 20 MiB photo in 5 MiB chunks, interrupted and resumed, and a connection dropped mid-PATCH.

The server runs in a background thread with its own event loop, engine and storage, on the test database;
its data is committed (a separate jurisdiction, 27990, keeps it out of other tests' way). Bounded: the
server stops itself at the end of each test."""

from __future__ import annotations

import io
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
import uvicorn
from sqlalchemy import select
from tusclient import client as tus_client

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.principal import OrgKind, Role
from app.main import create_app
from app.media.models import Photo, Upload, UploadStatus
from app.media.storage import STORAGE, Storage
from app.media.storage.local import LocalStorage
from tests.support.factories import Actor, Factory, make_consent, make_household, make_visit
from tests.support.uploads import (
    TUS,
    free_port,
    image_of,
    jpeg_with_gps,
    moto_endpoint,
    noise_jpeg,
    s3_storage,
    sha256_hex,
    stored_keys,
    wait_processed,
)

CHUNK = 5 * 1024 * 1024
DONG = "2799051000"


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive(), "the test server did not stop"


@dataclass
class Live:
    url: str
    http: httpx.AsyncClient
    factory: Factory
    storage: Storage  # the same backend as the server's, for inspection from the test
    maker: Any


@pytest.fixture(params=["local", "s3"])
async def live(request: pytest.FixtureRequest, settings: Settings, engine: Any, tmp_path: Path) -> AsyncIterator[Live]:
    live_settings = settings.model_copy(update={"data_dir": tmp_path / "data"})
    app = create_app(live_settings)
    if request.param == "s3":
        endpoint = moto_endpoint(request.config)
        inspect = s3_storage(endpoint)
        await inspect.create_bucket()
        # The server's own instance: its connections live on the server's event loop.
        app.state.ongi.set(STORAGE, s3_storage(endpoint, bucket=inspect.bucket))
    else:
        inspect = LocalStorage(live_settings.files_dir)
    test_engine = create_engine(live_settings)
    maker = create_sessionmaker(test_engine)
    try:
        with live_server(app) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                yield Live(url, http, Factory(app.state.ongi, maker, http), inspect, maker)
    finally:
        await inspect.close()
        await test_engine.dispose()


@dataclass
class LiveTeam:
    planner: Actor
    partner: Actor
    planner_elsewhere: Actor
    partner_unassigned: Actor
    coordinator: Actor
    visit: Any


async def live_team(factory: Factory) -> LiveTeam:
    public = await factory.org(OrgKind.public, [DONG[:5]])
    planner = await factory.actor(Role.planner, public)
    coordinator = await factory.actor(Role.coordinator, public)
    planner_elsewhere = await factory.actor(Role.planner, await factory.org(OrgKind.public, ["27880"]))
    partner = await factory.actor(Role.partner, await factory.org(OrgKind.private, [DONG[:5]]))
    partner_unassigned = await factory.actor(Role.partner, await factory.org(OrgKind.private, [DONG[:5]]))
    household = await make_household(factory, dong_code=DONG)
    await make_consent(factory, household, coordinator.user, organization=partner.org)
    await make_consent(factory, household, coordinator.user, organization=partner_unassigned.org)
    visit = await make_visit(factory, household, [planner.user, partner.user])
    return LiveTeam(planner, partner, planner_elsewhere, partner_unassigned, coordinator, visit)


def tus_metadata(photo_id: uuid.UUID, visit_id: uuid.UUID, data: bytes) -> dict[str, str]:
    return {
        "photo_id": str(photo_id),
        "visit_id": str(visit_id),
        "filename": "IMG_2001.jpg",
        "filetype": "image/jpeg",
        "sha256": sha256_hex(data),
    }


@pytest.mark.slow
async def test_20_mib_photo_with_tuspy_interrupted_and_resumed(live: Live) -> None:
    team = await live_team(live.factory)
    data = noise_jpeg(20)
    assert len(data) > 19 * 1024 * 1024
    photo_id = uuid.uuid4()
    endpoint = f"{live.url}/v1/uploads/"
    headers = {"Authorization": f"Bearer {team.planner.token}"}

    def first_half() -> str:
        client = tus_client.TusClient(endpoint, headers=headers)
        uploader = client.uploader(
            file_stream=io.BytesIO(data),
            chunk_size=CHUNK,
            metadata=tus_metadata(photo_id, team.visit.id, data),
            upload_checksum=True,
        )
        uploader.upload(stop_at=2 * CHUNK)  # the app is closed after two chunks
        assert uploader.offset == 2 * CHUNK
        return str(uploader.url)

    url = await anyio.to_thread.run_sync(first_half)
    head = await live.http.head(url, headers={**TUS, **team.planner.headers})
    assert head.headers["upload-offset"] == str(2 * CHUNK)

    def resume() -> int:
        client = tus_client.TusClient(endpoint, headers=headers)
        uploader = client.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=CHUNK, upload_checksum=True)
        assert uploader.offset == 2 * CHUNK  # asked the server with HEAD
        uploader.upload()
        return int(uploader.offset)

    assert await anyio.to_thread.run_sync(resume) == len(data)
    # The last 204 came once the bytes were stored and checked; the photo follows its processing.
    settled = await wait_processed(live.http, team.planner, url)
    assert settled.headers["ongi-upload-status"] == "completed"

    record = await live.http.get(f"/v1/photos/{photo_id}", headers=team.planner.headers)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["original_sha256"] == sha256_hex(data)
    content = await live.http.get(body["content_url"], headers=team.partner.headers)
    assert content.status_code == 200
    assert sha256_hex(content.content) == body["sha256"]
    stored = image_of(content.content)
    assert stored.size == (body["width"], body["height"])
    exif = stored.getexif()
    assert not exif.get_ifd(0x8825)
    assert 0x0112 not in exif
    ranged = await live.http.get(body["content_url"], headers={**team.planner.headers, "Range": "bytes=-1000"})
    assert ranged.status_code == 206
    assert ranged.content == content.content[-1000:]
    for outsider in (team.planner_elsewhere, team.partner_unassigned):
        for path in (body["content_url"], body["thumbnail_url"], f"/v1/photos/{photo_id}"):
            assert (await live.http.get(path, headers=outsider.headers)).status_code == 404
    await staging_purged(live.storage)
    assert await stored_keys(live.storage, "photos/") == [f"photos/{body['sha256'][:2]}/{body['sha256']}"]


async def staging_purged(storage: Storage) -> None:
    """Staged bytes are deleted right after the photo is recorded: wait for it (bounded)."""
    for _ in range(500):
        if not await stored_keys(storage, "uploads/"):
            return
        await anyio.sleep(0.02)
    raise AssertionError("staged bytes left behind")


def _send_then_drop(url: str, headers: dict[str, str], body: bytes, declared: int) -> None:
    """A PATCH that announces ``declared`` bytes, sends ``body`` and then loses its connection."""
    target = httpx.URL(url)
    lines = [f"PATCH {target.raw_path.decode()} HTTP/1.1", f"Host: {target.host}:{target.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {declared}", "", ""]
    with socket.create_connection((target.host, target.port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode() + body)
        time.sleep(0.2)
        sock.shutdown(socket.SHUT_RDWR)


async def test_connection_dropped_mid_patch_then_resumed_with_tuspy(live: Live) -> None:
    team = await live_team(live.factory)
    data = jpeg_with_gps((1200, 900), orientation=8)
    photo_id = uuid.uuid4()
    endpoint = f"{live.url}/v1/uploads/"
    auth = {"Authorization": f"Bearer {team.planner.token}"}

    def create() -> str:
        client = tus_client.TusClient(endpoint, headers=auth)
        uploader = client.uploader(file_stream=io.BytesIO(data), metadata=tus_metadata(photo_id, team.visit.id, data))
        return str(uploader.create_url())

    url = await anyio.to_thread.run_sync(create)
    sent = len(data) // 3
    headers = {**TUS, **auth, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    await anyio.to_thread.run_sync(_send_then_drop, url, headers, data[:sent], len(data))

    offset = None
    for _ in range(100):  # the server notices the drop, keeps what came and releases the upload
        head = await live.http.head(url, headers={**TUS, **team.planner.headers})
        offset = int(head.headers["upload-offset"])
        async with live.maker() as s:
            upload = (await s.execute(select(Upload).where(Upload.id == uuid.UUID(url.rsplit("/", 1)[1])))).scalar_one()
        if offset and upload.lease_token is None:
            break
        await anyio.sleep(0.05)
    assert offset == sent

    def resume() -> int:
        client = tus_client.TusClient(endpoint, headers=auth)
        uploader = client.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=64 * 1024)
        assert uploader.offset == sent
        uploader.upload()
        return int(uploader.offset)

    assert await anyio.to_thread.run_sync(resume) == len(data)
    assert (await wait_processed(live.http, team.planner, url)).headers["ongi-upload-status"] == "completed"
    async with live.maker() as s:
        photo = await s.get(Photo, photo_id)
        upload = (await s.execute(select(Upload).where(Upload.photo_id == photo_id))).scalar_one()
    assert photo is not None
    assert photo.original_sha256 == sha256_hex(data)
    assert (photo.width, photo.height) == (900, 1200)  # orientation 8 applied
    assert upload.status == UploadStatus.completed
