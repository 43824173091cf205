"""File storage behind one interface: local files (the embedded default) or S3-compatible object storage.

Keys are slash-separated paths made by the server (``photos/ab/ab12…``, ``uploads/<id>/<offset>-<lease>``),
never by clients. Every operation streams: bytes move in chunks of at most :data:`PART_SIZE`, so no
backend ever holds a whole file in memory.

* :class:`~app.media.storage.local.LocalStorage` writes to a temporary file beside the target, fsyncs it and
  renames it into place (a reader never sees a half-written file; a crash leaves no partial object).
* :class:`~app.media.storage.s3.S3Storage` talks to any S3-compatible server through aioboto3.

The app holds one storage instance, created on first use by :func:`get_storage` and kept in the app state's
:data:`STORAGE` slot (``/readyz`` pings it there); it closes when the app stops.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from app.core.config import Settings
from app.core.state import Slot

if TYPE_CHECKING:
    from app.core.state import AppState

#: Largest piece of a file held in memory at once (also the S3 multipart part size; S3's minimum is 5 MiB).
PART_SIZE = 8 * 1024 * 1024
#: Chunk size for reading.
READ_CHUNK = 256 * 1024
#: Local writes are batched to this size before a writer thread hashes and writes them.
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
    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        digests: Sequence[Any] = (),
        durable: bool = True,
    ) -> int:
        """Store everything ``chunks`` yields under ``key`` (replacing it); returns the byte count.

        ``digests`` (hashlib objects) are updated with every byte stored, in order, off the event loop where the
        backend can; they are complete when this returns. If ``chunks`` raises, nothing is stored and the
        exception propagates. With ``durable=False`` the object may not be on disk yet when this returns (it
        survives a crash of this process, not yet one of the machine): :meth:`sync` before relying on it."""

    async def sync(self, keys: Sequence[str]) -> None:  # noqa: B027 - stored objects are durable unless told
        """Make objects stored with ``durable=False`` durable (on S3 every stored object is already)."""

    def sync_soon(self, keys: Sequence[str]) -> None:  # noqa: B027 - see sync
        """Start making objects durable in the background, without waiting."""

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


# --- the app's instance ----------------------------------------------------------------------------------


#: The app's storage (:func:`get_storage`); a test puts a fake here with ``state.override(STORAGE, fake)``.
STORAGE: Slot[Storage] = Slot("storage")


def create_storage(settings: Settings) -> Storage:
    # the backends build on this module's interface, so they are imported when the app's storage is made
    if settings.storage_backend == "s3":
        from app.media.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    from app.media.storage.local import LocalStorage

    return LocalStorage(settings.files_dir)


async def _close_storage(state: AppState) -> None:
    storage = state.get(STORAGE)
    if storage is not None:
        await storage.close()


def get_storage(state: AppState) -> Storage:
    """The app's storage, created on first use from the settings and kept in the :data:`STORAGE` slot."""
    storage = state.get_or_create(STORAGE, lambda: create_storage(state.settings))
    state.on_stop(_close_storage)
    return storage


def scratch_dir(state: AppState) -> Path:
    """A local folder for temporary files while a completed upload is verified (never served)."""
    from app.media.storage.local import LocalStorage

    storage = get_storage(state)
    if isinstance(storage, LocalStorage):
        return storage.tmp_dir
    return state.settings.data_dir / "tmp"
