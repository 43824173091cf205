"""Local files, the embedded default storage (:class:`~app.media.storage.Storage`; ``docs/uploads.md``).

A write goes to a temporary file beside the target, is fsynced and renamed into place (a reader never sees a
half-written file; a crash leaves no partial object). A write that need not be durable yet (``durable=False``:
an upload's staged segment before its last) is renamed into place without the fsyncs; it survives a crash of
the process at once (its bytes are the kernel's), and reaches the disk by :meth:`LocalStorage.sync_soon` in the
background or :meth:`LocalStorage.sync` before it is relied on. File I/O runs in worker threads, never on the event
loop: a stream's bytes are written (and hashed, for the caller's ``digests``) one batch at a time in a writer
thread while the event loop receives the next batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from app.media.storage import READ_CHUNK, WRITE_BATCH, ObjectMissing, Storage, StorageError, check_key

#: Writer threads of one local storage (a stream has at most one batch in a writer at a time).
WRITERS = 4


def _write_all(fh: Any, pieces: list[bytes], digests: Sequence[Any] = ()) -> None:
    """Hash the pieces into ``digests`` and write them in order (one system call for most batches, no joining
    copy). In a worker thread: hashlib releases the GIL for pieces this size."""
    for digest in digests:
        for piece in pieces:
            digest.update(piece)
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


def _ignore_sync_failure(future: concurrent.futures.Future[None]) -> None:
    # an object deleted meanwhile (its upload terminated), or a disk error: sync() before use raises it again
    with contextlib.suppress(OSError):
        future.result()


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
        self._writers: concurrent.futures.ThreadPoolExecutor | None = None

    def _writer(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._writers is None:
            self._writers = concurrent.futures.ThreadPoolExecutor(WRITERS, thread_name_prefix="ongi-storage")
        return self._writers

    async def close(self) -> None:
        if self._writers is not None:
            writers, self._writers = self._writers, None
            writers.shutdown(wait=False)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _open_temp(self) -> tuple[Path, Any]:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_dir / f"{uuid.uuid4().hex}.part"
        return tmp, open(tmp, "xb")

    @staticmethod
    def _finish(fh: Any, tmp: Path, target: Path, durable: bool = True) -> None:
        fh.flush()
        if durable:
            os.fsync(fh.fileno())
        fh.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        if durable:
            _fsync_dir(target.parent)

    @staticmethod
    def _abandon(fh: Any, tmp: Path, writing: concurrent.futures.Future[None] | None = None) -> None:
        if writing is not None:  # let a writer thread finish with the file before it is closed
            concurrent.futures.wait([writing])
        with contextlib.suppress(OSError):
            fh.close()
        with contextlib.suppress(OSError):
            tmp.unlink()

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        digests: Sequence[Any] = (),
        durable: bool = True,
    ) -> int:
        target = self.path(key)
        try:
            tmp, fh = await anyio.to_thread.run_sync(self._open_temp)
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc
        total = 0
        batch: list[bytes] = []
        batched = 0
        # The batch in a writer thread, if any: awaited before the next one is handed over, so the writes stay
        # in order and at most two batches are held (one being written, one being received).
        writing: concurrent.futures.Future[None] | None = None
        try:
            async for chunk in chunks:
                batch.append(chunk)
                batched += len(chunk)
                total += len(chunk)
                if batched >= WRITE_BATCH:
                    if writing is not None:
                        await asyncio.shield(asyncio.wrap_future(writing))
                    writing = self._writer().submit(_write_all, fh, batch, digests)
                    batch, batched = [], 0
            if writing is not None:
                await asyncio.shield(asyncio.wrap_future(writing))
            await anyio.to_thread.run_sync(self._write_and_finish, fh, tmp, target, batch, digests, durable)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._abandon, fh, tmp, writing)
            if isinstance(exc, OSError):
                raise StorageError(type(exc).__name__) from exc
            raise
        return total

    @classmethod
    def _write_and_finish(
        cls, fh: Any, tmp: Path, target: Path, batch: list[bytes], digests: Sequence[Any], durable: bool
    ) -> None:
        if batch:
            _write_all(fh, batch, digests)
        cls._finish(fh, tmp, target, durable)

    def _sync_paths(self, keys: Sequence[str]) -> None:
        paths = [self.path(key) for key in keys]
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for folder in dict.fromkeys(path.parent for path in paths):
            _fsync_dir(folder)

    async def sync(self, keys: Sequence[str]) -> None:
        try:
            await anyio.to_thread.run_sync(self._sync_paths, keys)
        except FileNotFoundError as exc:
            raise ObjectMissing(str(exc.filename)) from exc
        except OSError as exc:
            raise StorageError(type(exc).__name__) from exc

    def sync_soon(self, keys: Sequence[str]) -> None:
        """Flush the objects to disk in a writer thread, without waiting (a failure is left for :meth:`sync`)."""
        future = self._writer().submit(self._sync_paths, list(keys))
        future.add_done_callback(_ignore_sync_failure)

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
