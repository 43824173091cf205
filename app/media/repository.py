"""The queries of uploads and photos (``docs/architecture.md``, the query layer; ``docs/uploads.md``).

An upload changes only by compare-and-set on its lease (``lease_token``/``lease_until``): every statement
here that changes one names the lease it expects and answers whether it won (one row changed). Readers
(the photo list, the resumer, cleanup) get plain statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlmodel import col

from app.auth.models import Organization, User
from app.core.repository import Repository
from app.media.models import GONE, Photo, Upload, UploadStatus


def _unleased(now: datetime) -> ColumnElement[bool]:
    """Held by nobody: no lease, or one that ran out."""
    return or_(col(Upload.lease_token).is_(None), col(Upload.lease_until) <= now)


class UploadRepository(Repository[Upload]):
    model = Upload

    async def _changed(self, stmt: Any) -> bool:
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    def _held(self, upload_id: uuid.UUID, token: uuid.UUID) -> Any:
        return update(Upload).where(col(Upload.id) == upload_id, col(Upload.lease_token) == token)

    # --- leases (compare-and-set) ------------------------------------------------------------------------------

    async def take_lease(
        self, upload_id: uuid.UUID, *, offset: int, token: uuid.UUID, now: datetime, until: datetime
    ) -> bool:
        """Lease an open upload at ``offset`` that nobody holds."""
        return await self._changed(
            update(Upload)
            .where(
                col(Upload.id) == upload_id,
                col(Upload.status) == UploadStatus.open,
                col(Upload.offset_bytes) == offset,
                _unleased(now),
            )
            .values(lease_token=token, lease_until=until, version=col(Upload.version) + 1)
        )

    async def renew_lease(self, upload_id: uuid.UUID, token: uuid.UUID, until: datetime) -> bool:
        return await self._changed(self._held(upload_id, token).values(lease_until=until))

    async def release_lease(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await self._changed(
            self._held(upload_id, token).values(lease_token=None, lease_until=None, version=col(Upload.version) + 1)
        )

    async def commit_segment(self, upload_id: uuid.UUID, token: uuid.UUID, values: dict[str, Any]) -> bool:
        """Record a received segment (``values``: offset, segments, expiry, and the lease's fate)."""
        return await self._changed(self._held(upload_id, token).values(**values, version=col(Upload.version) + 1))

    async def mark_completed(self, upload_id: uuid.UUID, token: uuid.UUID, at: datetime) -> bool:
        return await self._changed(
            self._held(upload_id, token).values(
                status=UploadStatus.completed,
                completed_at=at,
                lease_token=None,
                lease_until=None,
                version=col(Upload.version) + 1,
            )
        )

    async def mark_failed(self, upload_id: uuid.UUID, token: uuid.UUID, reason: str) -> None:
        await self._changed(
            self._held(upload_id, token).values(
                status=UploadStatus.failed,
                failure=reason,
                lease_token=None,
                lease_until=None,
                version=col(Upload.version) + 1,
            )
        )

    async def forget_segments(self, upload_id: uuid.UUID) -> None:
        """Its staged bytes are gone: an upload no longer open keeps no segments."""
        await self._changed(
            update(Upload)
            .where(col(Upload.id) == upload_id, col(Upload.status) != UploadStatus.open)
            .values(segments=[], version=col(Upload.version) + 1)
        )

    async def terminate(self, upload_id: uuid.UUID, now: datetime) -> bool:
        """End an open upload nobody holds (tus termination)."""
        return await self._changed(
            update(Upload)
            .where(col(Upload.id) == upload_id, col(Upload.status) == UploadStatus.open, _unleased(now))
            .values(status=UploadStatus.terminated, lease_token=None, lease_until=None, version=col(Upload.version) + 1)
        )

    async def claim_stuck(self, upload_id: uuid.UUID, token: uuid.UUID, now: datetime, until: datetime) -> bool:
        """Take over an upload left ``processing`` whose lease ran out."""
        return await self._changed(
            update(Upload)
            .where(
                col(Upload.id) == upload_id,
                col(Upload.status) == UploadStatus.processing,
                col(Upload.lease_until) <= now,
            )
            .values(lease_token=token, lease_until=until, version=col(Upload.version) + 1)
        )

    # --- reading -----------------------------------------------------------------------------------------------

    async def uploader(self, upload: Upload) -> tuple[User, Organization] | None:
        """The uploader and their organization (to act as them when finishing their upload)."""
        row = (
            await self.session.execute(
                select(User, Organization)
                .join(Organization, col(Organization.id) == col(User.organization_id))
                .where(col(User.id) == upload.uploader_id)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def processing(self) -> Sequence[Any]:
        """(id, lease_until) of every upload being processed."""
        return await self.rows(
            select(col(Upload.id), col(Upload.lease_until)).where(col(Upload.status) == UploadStatus.processing)
        )

    async def stuck_ids(self, now: datetime) -> list[uuid.UUID]:
        """Uploads left ``processing`` whose lease ran out."""
        return await self.all(
            select(col(Upload.id)).where(col(Upload.status) == UploadStatus.processing, col(Upload.lease_until) <= now)
        )

    async def expire_stale(self, now: datetime) -> None:
        """Open uploads past ``expires_at`` that nobody holds become ``expired``."""
        expired = await self.all(
            select(col(Upload.id)).where(
                col(Upload.status) == UploadStatus.open, col(Upload.expires_at) <= now, _unleased(now)
            )
        )
        if expired:
            await self.session.execute(
                update(Upload)
                .where(col(Upload.id).in_(expired), col(Upload.status) == UploadStatus.open, _unleased(now))
                .values(
                    status=UploadStatus.expired, lease_token=None, lease_until=None, version=col(Upload.version) + 1
                )
                .execution_options(synchronize_session=False)
            )

    async def finished_with_segments(self) -> list[uuid.UUID]:
        """Finished uploads (gone or completed) that may still have staged bytes."""
        return [
            upload_id
            for upload_id, segments in await self.rows(
                select(col(Upload.id), col(Upload.segments)).where(
                    col(Upload.status).in_([*GONE, UploadStatus.completed])
                )
            )
            if segments
        ]

    async def pending_of_visit(self, visit_id: uuid.UUID, now: datetime, limit: int) -> Sequence[Any]:
        """The visit's uploads under way (open and not expired, or processing) or refused, newest first."""
        return await self.rows(
            select(
                col(Upload.id),
                col(Upload.photo_id),
                col(Upload.meta),
                col(Upload.status),
                col(Upload.failure),
                col(Upload.updated_at),
            )
            .where(
                col(Upload.visit_id) == visit_id,
                or_(
                    col(Upload.status).in_([UploadStatus.processing, UploadStatus.failed]),
                    (col(Upload.status) == UploadStatus.open) & (col(Upload.expires_at) > now),
                ),
            )
            .order_by(col(Upload.updated_at).desc(), col(Upload.id))
            .limit(limit)
        )


class PhotoRepository(Repository[Photo]):
    model = Photo

    @staticmethod
    def _live_of_visit(visit_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
        return (col(Photo.visit_id) == visit_id, col(Photo.deleted_at).is_(None))

    def live_of_visit(self, visit_id: uuid.UUID) -> Select[Any]:
        """The visit's photos not deleted."""
        return select(Photo).where(*self._live_of_visit(visit_id))

    async def ids_by_item_key(self, visit_id: uuid.UUID) -> dict[str, list[uuid.UUID]]:
        """The visit's live photos taken for an expected item, by item key (oldest first)."""
        by_key: dict[str, list[uuid.UUID]] = {}
        for photo_id, item_key in await self.rows(
            select(col(Photo.id), col(Photo.item_key))
            .where(*self._live_of_visit(visit_id), col(Photo.item_key).is_not(None))
            .order_by(col(Photo.created_at))
        ):
            by_key.setdefault(item_key, []).append(photo_id)
        return by_key

    async def existing_ids(self, photo_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``photo_ids`` have a photo record (deleted ones too)."""
        if not photo_ids:
            return set()
        return set(await self.all(select(col(Photo.id)).where(col(Photo.id).in_(photo_ids))))
