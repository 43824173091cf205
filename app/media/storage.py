"""File storage behind one interface: local files (the embedded default) or S3-compatible object storage.

Keys are slash-separated paths made by the server (``photos/ab/ab12…``, ``uploads/<id>/<offset>-<lease>``),
never by clients. Every operation streams: bytes move in chunks of at most :data:`PART_SIZE`, so no
backend ever holds a whole file in memory.

* :class:`LocalStorage` writes to a temporary file beside the target, fsyncs it and renames it into place
  (a reader never sees a half-written file; a crash leaves no partial object). File I/O runs in worker
  threads, never on the event loop.
* :class:`S3Storage` talks to any S3-compatible server through aioboto3: small objects in one
  ``PutObject``, larger ones as a multipart upload, ranges with ``GetObject`` ``Range``.

The app holds one storage instance, created on first use by :func:`get_storage` and kept in
``state.extras["storage"]`` (``/readyz`` pings it there).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import structlog

from app.core.config import Settings

if TYPE_CHECKING:
    from app.core.state import AppState

log = structlog.get_logger("ongi.storage")

#: Largest piece of a file held in memory at once (also the S3 multipart part size; S3's minimum is 5 MiB).
PART_SIZE = 8 * 1024 * 1024
#: Chunk size for reading.
READ_CHUNK = 256 * 1024
#: Local writes are batched to this size before a worker thread writes them.
WRITE_BATCH = 1024 * 1024


class StorageError(Exception):
    """The storage backend failed or is unreachable."""


class ObjectMissing(StorageError):
    """No object under that key."""


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class Storage(ABC):
    """What the uploads and photos need from a file store. All methods are async and stream."""

    name: str

    @abstractmethod
    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None) -> int:
        """Store everything ``chunks`` yields under ``key`` (replacing it); returns the byte count.

        If ``chunks`` raises, nothing is stored and the exception propagates."""

    async def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        """Store a local file under ``key``, streaming it."""
        return await self.put_stream(key, read_file_chunks(path), content_type=content_type)

    async def adopt_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        """Store a local scratch file under ``key``; the file may be consumed (moved) in the process."""
        return await self.put_file(key, path, content_type=content_type)

    @abstractmethod
    def get_range(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream ``length`` bytes (all, when ``None``) from ``start``. Raises :class:`ObjectMissing`."""

    @abstractmethod
    async def size(self, key: str) -> int | None:
        """The object's size, or ``None`` when there is no object under ``key``."""

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the object (no error when it is already gone)."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix`` (a folder, ending in ``/``); returns the count."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise when the store is unreachable (``/readyz``)."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    async def copy_to_file(self, key: str, fh: Any) -> int:
        """Append the object's bytes to an open binary file (written in a worker thread)."""
        total = 0
        async for chunk in self.get_range(key):
            await anyio.to_thread.run_sync(fh.write, chunk)
            total += len(chunk)
        return total


async def read_file_chunks(path: Path, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
    fh = await anyio.to_thread.run_sync(open, path, "rb")
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(fh.read, chunk_size)
            if not chunk:
                return
            yield chunk
    finally:
        await anyio.to_thread.run_sync(fh.close)


# --- local files -----------------------------------------------------------------------------------------


def _write_all(fh: Any, pieces: list[bytes]) -> None:
    """Write the pieces in order (one system call for most batches, no joining copy)."""
    fh.flush()
    fd = fh.fileno()
    view = [memoryview(p) for p in pieces]
    while view:
        written = os.writev(fd, view[:1024])
        while view and written >= len(view[0]):
            written -= len(view[0])
            view.pop(0)
        if view and written:
            view[0] = view[0][written:]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalStorage(Storage):
    """Files under ``root``; temporary files under ``root/.tmp`` (same file system, so renames are atomic)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / ".tmp"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _open_temp(self) -> tuple[Path, Any]:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_dir / f"{uuid.uuid4().hex}.part"
        return tmp, open(tmp, "xb")

    @staticmethod
    def _finish(fh: Any, tmp: Path, target: Path) -> None:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        _fsync_dir(target.parent)

    @staticmethod
    def _abandon(fh: Any, tmp: Path) -> None:
        with contextlib.suppress(OSError):
            fh.close()
        with contextlib.suppress(OSError):
            tmp.unlink()

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None) -> int:
        target = self.path(key)
        try:
            tmp, fh = await anyio.to_thread.run_sync(self._open_temp)
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc
        total = 0
        batch: list[bytes] = []
        batched = 0
        try:
            async for chunk in chunks:
                batch.append(chunk)
                batched += len(chunk)
                total += len(chunk)
                if batched >= WRITE_BATCH:
                    pending, batch, batched = batch, [], 0
                    await anyio.to_thread.run_sync(_write_all, fh, pending)
            if batch:
                await anyio.to_thread.run_sync(_write_all, fh, batch)
            await anyio.to_thread.run_sync(self._finish, fh, tmp, target)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._abandon, fh, tmp)
            if isinstance(exc, OSError):
                raise StorageError(type(exc).__name__) from exc
            raise
        return total

    async def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        target = self.path(key)

        def _copy() -> int:
            tmp, fh = self._open_temp()
            try:
                with open(path, "rb") as src:
                    shutil.copyfileobj(src, fh, READ_CHUNK)
                size = fh.tell()
                self._finish(fh, tmp, target)
                return size
            except BaseException:
                self._abandon(fh, tmp)
                raise

        try:
            return await anyio.to_thread.run_sync(_copy)
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc

    async def adopt_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        """Move a file into place (it must be on the same file system, e.g. under :attr:`tmp_dir`)."""
        target = self.path(key)

        def _move() -> int:
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
                size = os.fstat(fh.fileno()).st_size
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(path, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                return -1  # another file system after all: copy instead
            _fsync_dir(target.parent)
            return size

        try:
            size = await anyio.to_thread.run_sync(_move)
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc
        return size if size >= 0 else await self.put_file(key, path, content_type=content_type)

    async def concatenate(self, keys: list[str], target: Path) -> int:
        """Join objects into one local file (in the kernel, with copy_file_range, where it can)."""
        sources = [self.path(key) for key in keys]

        def _join() -> int:
            total = 0
            with open(target, "wb") as out:
                for source in sources:
                    with open(source, "rb") as src:
                        size = os.fstat(src.fileno()).st_size
                        copied = 0
                        try:
                            while copied < size:
                                n = os.copy_file_range(src.fileno(), out.fileno(), size - copied)
                                if n == 0:
                                    break
                                copied += n
                        except OSError:
                            src.seek(copied)
                            out.seek(total + copied)
                            shutil.copyfileobj(src, out, READ_CHUNK)
                            copied = size
                        total += copied
            return total

        try:
            return await anyio.to_thread.run_sync(_join)
        except FileNotFoundError as exc:
            raise ObjectMissing(str(exc.filename)) from exc
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc

    async def get_range(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            fh = await anyio.to_thread.run_sync(open, path, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc
        try:
            if start:
                await anyio.to_thread.run_sync(fh.seek, start)
            remaining = length
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await anyio.to_thread.run_sync(fh.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(fh.close)

    async def size(self, key: str) -> int | None:
        def _size() -> int | None:
            try:
                return self.path(key).stat().st_size
            except FileNotFoundError:
                return None

        return await anyio.to_thread.run_sync(_size)

    async def delete(self, key: str) -> None:
        def _delete() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.path(key).unlink()

        await anyio.to_thread.run_sync(_delete)

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.path(prefix.rstrip("/"))

        def _delete() -> int:
            if not folder.is_dir():
                return 0
            count = sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            return count

        return await anyio.to_thread.run_sync(_delete)

    async def ping(self) -> None:
        def _probe() -> None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            probe = self.tmp_dir / f".ping-{uuid.uuid4().hex}"
            probe.write_bytes(b"ok")
            probe.unlink()

        try:
            await anyio.to_thread.run_sync(_probe)
        except OSError as exc:
            raise StorageError(str(exc)) from exc

    def local_path(self, key: str) -> Path:
        return self.path(key)


# --- S3-compatible object storage ------------------------------------------------------------------------


class S3Storage(Storage):
    """An S3 bucket through aioboto3 (AWS, MinIO, Ceph, NCP/NHN object storage, moto in tests)."""

    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        part_size: int = PART_SIZE,
        max_attempts: int = 3,
    ) -> None:
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 multipart parts must be at least 5 MiB")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.part_size = part_size
        self.max_attempts = max_attempts
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._lock = anyio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None,
            secret_access_key=(
                settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
            ),
        )

    async def client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                import aioboto3
                from botocore.config import Config

                session = aioboto3.Session()
                stack = contextlib.AsyncExitStack()
                config = Config(
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": self.max_attempts, "mode": "standard"},
                    connect_timeout=5,
                    read_timeout=60,
                    # Checksums only where the API requires them (S3-compatible servers differ in support).
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                self._client = await stack.enter_async_context(
                    session.client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        aws_access_key_id=self.access_key_id,
                        aws_secret_access_key=self.secret_access_key,
                        config=config,
                    )
                )
                self._stack = stack
        return self._client

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()

    @staticmethod
    def _missing(exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """botocore's errors as :class:`StorageError` (:class:`ObjectMissing` for a missing key)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            if self._missing(exc):
                raise ObjectMissing(key or "") from exc
            raise StorageError(str(exc.response.get("Error", {}).get("Code", "ClientError"))) from exc
        except BotoCoreError as exc:
            raise StorageError(type(exc).__name__) from exc

    async def create_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests; production provisions it)."""
        client = await self.client()
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except Exception:  # noqa: S110 - absent (or unreadable): try to create it
            pass
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region and self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with self._errors():
            await client.create_bucket(**kwargs)

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None) -> int:
        check_key(key)
        client = await self.client()
        extra = {"ContentType": content_type} if content_type else {}
        buf = io.BytesIO()
        total = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []

        async def flush_part() -> None:
            nonlocal upload_id, buf
            if upload_id is None:
                created = await client.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)
                upload_id = created["UploadId"]
            number = len(parts) + 1
            buf.seek(0)
            done = await client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=buf
            )
            parts.append({"ETag": done["ETag"], "PartNumber": number})
            buf = io.BytesIO()

        try:
            with self._errors(key):
                async for chunk in chunks:
                    total += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        room = self.part_size - buf.tell()
                        buf.write(view[:room])
                        view = view[room:]
                        if buf.tell() >= self.part_size:
                            await flush_part()
                if upload_id is None:
                    buf.seek(0)
                    await client.put_object(Bucket=self.bucket, Key=key, Body=buf, **extra)
                else:
                    if buf.tell():
                        await flush_part()
                    await client.complete_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                    )
        except BaseException:
            if upload_id is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return total

    async def get_range(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        if length == 0:
            return
        client = await self.client()
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            kwargs["Range"] = f"bytes={start}-{end}"
        with self._errors(key):
            response = await client.get_object(**kwargs)
        body = response["Body"]
        try:
            while True:
                with self._errors(key):
                    chunk = await body.read(READ_CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        check_key(key)
        client = await self.client()
        try:
            with self._errors(key):
                head = await client.head_object(Bucket=self.bucket, Key=key)
        except ObjectMissing:
            return None
        return int(head["ContentLength"])

    async def delete(self, key: str) -> None:
        check_key(key)
        client = await self.client()
        with self._errors(key):
            await client.delete_object(Bucket=self.bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> int:
        check_key(prefix.rstrip("/"))
        client = await self.client()
        count = 0
        with self._errors(prefix):
            paginator = client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if keys:
                    await client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                    count += len(keys)
        return count

    async def ping(self) -> None:
        client = await self.client()
        with self._errors():
            await client.head_bucket(Bucket=self.bucket)


# --- the app's instance ----------------------------------------------------------------------------------


def create_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.files_dir)


async def _close_storage(state: AppState) -> None:
    storage = state.extras.get("storage")
    if isinstance(storage, Storage):
        await storage.close()


def get_storage(state: AppState) -> Storage:
    """The app's storage, created on first use from the settings and kept in ``state.extras``."""
    storage = state.extras.get("storage")
    if storage is None:
        storage = create_storage(state.settings)
        state.extras["storage"] = storage
    hooks = state.extras.setdefault("shutdown", [])
    if _close_storage not in hooks:
        hooks.append(_close_storage)
    return storage  # type: ignore[no-any-return]


def scratch_dir(state: AppState) -> Path:
    """A local folder for temporary files while a completed upload is verified (never served)."""
    storage = get_storage(state)
    if isinstance(storage, LocalStorage):
        return storage.tmp_dir
    return state.settings.data_dir / "tmp"
