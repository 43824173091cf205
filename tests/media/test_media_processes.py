"""An upload left ``processing`` by a process killed right after the last 204 is finished by the next
process on startup (docs/uploads.md, docs/testing.md#what-must-hold-under-stress), and by exactly one of two processes
racing for it. Separate app
instances, each with its own engine as separate processes would have, on the test database with committed
data (its own jurisdiction keeps it out of other tests' way)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.core.principal import OrgKind, Role
from app.main import create_app
from app.media.models import Photo, Upload, UploadStatus
from app.media.processing import (
    MEDIA_RESUMER,
    MEDIA_TASKS,
    media_limiter,
    resume_stuck_uploads,
    wait_for_processing,
)
from app.media.storage.local import LocalStorage
from tests.support.factories import Factory, make_consent, make_household, make_visit
from tests.support.uploads import (
    image_of,
    jpeg_with_gps,
    noise_jpeg,
    sha256_hex,
    stored_keys,
    tus_create,
    tus_patch,
)

GPS_IFD = 0x8825

DONG = "2789051000"


@dataclass
class Processes:
    settings: Settings
    maker: async_sessionmaker[AsyncSession]
    apps: list[Any]

    def new_app(self) -> Any:
        app = create_app(self.settings)
        self.apps.append(app)
        return app


@pytest.fixture
async def processes(settings: Settings, engine: Any, tmp_path: Path) -> AsyncIterator[Processes]:
    """Separate app instances (each its own engine, as separate processes would have) on the test database
    with committed data (its own jurisdiction keeps it out of other tests' way) and one files folder."""
    own_settings = settings.model_copy(update={"data_dir": tmp_path / "data"})
    test_engine = create_engine(own_settings)
    world = Processes(own_settings, create_sessionmaker(test_engine), [])
    try:
        yield world
    finally:
        for app in world.apps:
            await app.state.ongi.engine.dispose()
        await test_engine.dispose()


async def _left_processing(world: Processes, data: bytes) -> tuple[uuid.UUID, uuid.UUID]:
    """A real upload through one app, whose process is killed right after the last 204: the upload stays
    ``processing`` under a lease nobody renews. Returns (upload id, photo id)."""
    first = world.new_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://testserver") as http:
        factory = Factory(first.state.ongi, world.maker, http)
        org = await factory.org(OrgKind.public, [DONG[:5]])
        planner = await factory.actor(Role.planner, org)
        coordinator = await factory.actor(Role.coordinator, org)
        household = await make_household(factory, dong_code=DONG)
        partner = await factory.actor(Role.partner, await factory.org(OrgKind.private, [DONG[:5]]))
        await make_consent(factory, household, coordinator.user, organization=partner.org)
        visit = await make_visit(factory, household, [planner.user, partner.user])
        photo_id = uuid.uuid4()
        location = (await tus_create(http, planner, visit.id, data, photo_id=photo_id)).headers["location"]
        limiter = media_limiter(first.state.ongi)
        await limiter.acquire()  # the process dies before it gets to process the picture
        try:
            last = await tus_patch(http, planner, location, 0, data, settled=False)
            assert (last.status_code, last.headers["ongi-upload-status"]) == (204, "processing")
            tasks = first.state.ongi.require(MEDIA_TASKS)
            for task in list(tasks.values()):
                task.cancel()  # killed: nothing of it runs any more
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        finally:
            limiter.release()
    upload_id = uuid.UUID(location.rsplit("/", 1)[1])
    async with world.maker() as s:
        upload = await s.get(Upload, upload_id)
        assert upload is not None
        assert upload.status == UploadStatus.processing
        assert upload.lease_until is not None
        assert upload.lease_until > utcnow()
    return upload_id, photo_id


async def _expire_lease(world: Processes, upload_id: uuid.UUID, seconds: float) -> None:
    async with world.maker() as s:
        await s.execute(
            update(Upload).where(Upload.id == upload_id).values(lease_until=utcnow() + timedelta(seconds=seconds))
        )
        await s.commit()


async def _photo_uploads_audited(world: Processes, photo_id: uuid.UUID) -> int:
    async with world.maker() as s:
        return int(
            (
                await s.execute(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "photo.upload", AuditEvent.entity_id == photo_id)
                )
            ).scalar_one()
        )


async def test_an_upload_left_processing_is_finished_by_the_next_process_on_startup(processes: Processes) -> None:
    data = jpeg_with_gps((800, 600), orientation=8)
    upload_id, photo_id = await _left_processing(processes, data)
    # The killed process's lease runs out a moment after the new one starts: it waits for that, no longer.
    await _expire_lease(processes, upload_id, 1.0)
    second = processes.new_app()
    async with second.router.lifespan_context(second):
        with anyio.fail_after(20):
            while True:
                async with processes.maker() as s:
                    upload = await s.get(Upload, upload_id)
                    assert upload is not None
                    if upload.status != UploadStatus.processing:
                        break
                await anyio.sleep(0.05)
        assert upload.status == UploadStatus.completed
        with anyio.fail_after(10):
            await wait_for_processing(second.state.ongi)  # the staging purge after the record
    assert second.state.ongi.get(MEDIA_RESUMER) is None  # stopped with the app
    async with processes.maker() as s:
        photo = await s.get(Photo, photo_id)
        upload = await s.get(Upload, upload_id)
    assert photo is not None
    assert upload is not None
    assert photo.original_sha256 == sha256_hex(data)
    assert (photo.width, photo.height) == (600, 800)  # orientation 8 applied
    assert upload.segments == []
    storage = LocalStorage(processes.settings.files_dir)
    stored = image_of(b"".join([c async for c in storage.get_range(photo.storage_key)]))
    assert not stored.getexif().get_ifd(GPS_IFD)
    assert await storage.exists(photo.thumbnail_key)
    assert await stored_keys(storage, f"uploads/{upload_id}") == []
    assert await _photo_uploads_audited(processes, photo_id) == 1


async def test_two_processes_racing_for_a_stuck_upload_process_it_once(processes: Processes) -> None:
    data = noise_jpeg(1)
    upload_id, photo_id = await _left_processing(processes, data)
    await _expire_lease(processes, upload_id, -1.0)
    a, b = processes.new_app(), processes.new_app()
    claimed = await asyncio.gather(resume_stuck_uploads(a.state.ongi), resume_stuck_uploads(b.state.ongi))
    assert sorted(claimed) == [0, 1]
    with anyio.fail_after(30):
        await wait_for_processing(a.state.ongi)
        await wait_for_processing(b.state.ongi)
    async with processes.maker() as s:
        upload = await s.get(Upload, upload_id)
        photos = (await s.execute(select(Photo).where(Photo.upload_id == upload_id))).scalars().all()
    assert upload is not None
    assert upload.status == UploadStatus.completed
    assert [p.id for p in photos] == [photo_id]
    assert await _photo_uploads_audited(processes, photo_id) == 1
    # Nothing left for anyone.
    assert await asyncio.gather(resume_stuck_uploads(a.state.ongi), resume_stuck_uploads(b.state.ongi)) == [0, 0]
    for app in (a, b):
        assert not app.state.ongi.get(MEDIA_TASKS)
