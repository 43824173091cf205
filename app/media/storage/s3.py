"""S3-compatible object storage (:class:`~app.media.storage.Storage`; ``docs/uploads.md``).

Any S3-compatible server through aioboto3: small objects in one ``PutObject``, larger ones as a multipart
upload, ranges with ``GetObject`` ``Range``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from typing import Any

import anyio
import structlog

from app.core.config import Settings
from app.media.storage import PART_SIZE, READ_CHUNK, ObjectMissing, Storage, StorageError, check_key

log = structlog.get_logger("ongi.storage")


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

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        digests: Sequence[Any] = (),
        durable: bool = True,
    ) -> int:
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
                    for digest in digests:
                        digest.update(chunk)
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
