"""File storage backends (docs/uploads.md, docs/operations.md#deployment): local files and S3-compatible object storage
behind one interface.
S3 runs against a real S3-compatible server on loopback (moto's server mode), not a mock object."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from pydantic import SecretStr

from app.core.config import Settings
from app.core.db import create_engine
from app.media.storage import STORAGE, ObjectMissing, Storage, StorageError, create_storage, get_storage
from app.media.storage.local import LocalStorage
from app.media.storage.s3 import S3Storage
from tests.support.uploads import (
    free_port,
    make_storage,
    moto_endpoint,
    read_all,
    s3_storage,
    stored_keys,
)


@pytest.fixture
def s3_endpoint(request: pytest.FixtureRequest) -> str:
    return moto_endpoint(request.config)


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    storage = await make_storage(request.param, request, tmp_path)
    yield storage
    await storage.close()


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


class Boom(Exception):
    pass


async def failing(data: bytes) -> AsyncIterator[bytes]:
    yield data
    raise Boom


async def test_put_get_range_size_delete(backend: Storage) -> None:
    data = os.urandom(700_000)
    assert await backend.put_stream("photos/ab/abc", chunks(data), content_type="image/jpeg") == len(data)
    assert await backend.size("photos/ab/abc") == len(data)
    assert await backend.exists("photos/ab/abc")
    assert not await backend.exists("photos/ab/none")
    assert await backend.size("photos/ab/none") is None
    assert await read_all(backend, "photos/ab/abc") == data
    part = b"".join([c async for c in backend.get_range("photos/ab/abc", 123_456, 300_000)])
    assert part == data[123_456:423_456]
    tail = b"".join([c async for c in backend.get_range("photos/ab/abc", len(data) - 5)])
    assert tail == data[-5:]
    await backend.delete("photos/ab/abc")
    await backend.delete("photos/ab/abc")  # already gone: fine
    assert not await backend.exists("photos/ab/abc")
    with pytest.raises(ObjectMissing):
        await read_all(backend, "photos/ab/abc")


async def test_a_failed_write_stores_nothing_and_keeps_the_old_object(backend: Storage) -> None:
    await backend.put_stream("k/one", chunks(b"old"))
    with pytest.raises(Boom):
        await backend.put_stream("k/one", failing(b"new bytes that never complete"))
    assert await read_all(backend, "k/one") == b"old"
    with pytest.raises(Boom):
        await backend.put_stream("k/two", failing(os.urandom(1000)))
    assert not await backend.exists("k/two")
    if isinstance(backend, LocalStorage):
        assert list(backend.tmp_dir.iterdir()) == []  # no temporary file left behind


async def test_large_objects_stream_in_parts(backend: Storage, tmp_path: Path) -> None:
    if isinstance(backend, S3Storage):
        backend.part_size = 5 * 1024 * 1024  # several multipart parts
    data = os.urandom(12 * 1024 * 1024 + 17)
    assert await backend.put_stream("big/x", chunks(data, 1024 * 1024)) == len(data)
    assert await backend.size("big/x") == len(data)
    assert await read_all(backend, "big/x") == data
    source = tmp_path / "source.bin"
    source.write_bytes(data[:6_000_000])
    assert await backend.put_file("big/y", source) == 6_000_000
    assert await read_all(backend, "big/y") == data[:6_000_000]


async def test_delete_prefix(backend: Storage) -> None:
    for key in ("uploads/u1/000-a", "uploads/u1/100-b", "uploads/u10/000-c", "photos/aa/x"):
        await backend.put_stream(key, chunks(b"x" * 10))
    assert await backend.delete_prefix("uploads/u1/") == 2
    assert await stored_keys(backend, "uploads/") == ["uploads/u10/000-c"]
    assert await backend.exists("photos/aa/x")
    assert await backend.delete_prefix("uploads/none/") == 0


async def test_copy_to_file(backend: Storage, tmp_path: Path) -> None:
    await backend.put_stream("a/1", chunks(b"hello "))
    await backend.put_stream("a/2", chunks(b"world"))
    target = tmp_path / "joined"
    fh = await anyio.to_thread.run_sync(target.open, "wb")
    try:
        await backend.copy_to_file("a/1", fh)
        await backend.copy_to_file("a/2", fh)
    finally:
        fh.close()
    assert target.read_bytes() == b"hello world"


async def test_ping(backend: Storage) -> None:
    await backend.ping()


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "", "a\\b"])
async def test_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(ValueError, match="invalid storage key"):
        await storage.put_stream(key, chunks(b"x"))


async def test_unreachable_s3_is_a_storage_error() -> None:
    storage = s3_storage(f"http://127.0.0.1:{free_port()}", max_attempts=1)  # nothing listens there
    try:
        with pytest.raises(StorageError):
            await storage.ping()
        with pytest.raises(StorageError):
            await storage.put_stream("k/x", chunks(b"data"))
        with pytest.raises(StorageError):
            await storage.size("k/x")
    finally:
        await storage.close()


async def test_missing_bucket_is_a_storage_error(s3_endpoint: str) -> None:
    storage = s3_storage(s3_endpoint, bucket="ongi-no-such-bucket")
    try:
        with pytest.raises(StorageError):
            await storage.ping()
    finally:
        await storage.close()


def test_backend_is_chosen_by_settings(settings: Settings) -> None:
    local = create_storage(settings)
    assert isinstance(local, LocalStorage)
    assert local.root == settings.files_dir
    s3_settings = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": "http://127.0.0.1:9",
            "s3_bucket": "ongi-files",
        }
    )
    s3 = create_storage(s3_settings)
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.endpoint_url, s3.region) == ("ongi-files", "http://127.0.0.1:9", settings.s3_region)


async def test_get_storage_creates_once_and_closes_on_shutdown(settings: Settings, s3_endpoint: str) -> None:
    from app.core.state import AppState

    s3_settings = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": s3_endpoint,
            "s3_bucket": "ongi-lazy-test",
            "s3_access_key_id": SecretStr("test"),
            "s3_secret_access_key": SecretStr("test"),
        }
    )
    engine = create_engine(s3_settings)
    state = AppState(settings=s3_settings, engine=engine, sessionmaker=None, security=None, metrics=None)  # type: ignore[arg-type]
    assert state.get(STORAGE) is None
    storage = get_storage(state)
    assert get_storage(state) is storage
    assert isinstance(storage, S3Storage)
    await storage.create_bucket()
    await storage.ping()
    assert storage._client is not None
    await state.stop()
    assert storage._client is None


async def test_readyz_pings_the_apps_storage(client: httpx.AsyncClient, app: Any, tmp_path: Path) -> None:
    state = app.state.ongi
    with state.override(STORAGE, LocalStorage(tmp_path / "files")):
        r = await client.get("/readyz")
        assert r.status_code == 200
        assert r.json()["checks"]["storage"] == "ok"
    broken = s3_storage(f"http://127.0.0.1:{free_port()}", max_attempts=1)
    with state.override(STORAGE, broken):
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["storage"] == "unreachable"
    await broken.close()
