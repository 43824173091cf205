"""Photo records: reading, changing and deleting a photo, and a visit's photos with the progress of its
expected ones (``docs/uploads.md``). Who may do which is :mod:`app.access.photos`; the bytes are served by
:mod:`app.media.serving`.

A photo is stored content-addressed (:func:`content_key`, :func:`thumbnail_key`: identical content is stored
once). A delete leaves a tombstone (sync removes it from phones; the history keeps it) and the file.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import photos as access
from app.access.policy import get_visit_or_404
from app.core.db import utcnow
from app.core.errors import Forbidden, NotFound
from app.core.principal import Principal
from app.journal import audit
from app.media.models import Photo, UploadStatus
from app.media.repository import PhotoRepository, UploadRepository
from app.media.schemas import ExpectedPhotoStatus, PhotoPublic, PhotoUpdate, UploadState, VisitPhotos
from app.visits.models import Visit

#: Uploads of a visit looked at for its photos' progress (newest first).
_UPLOAD_STATES_LIMIT = 100


def content_key(sha256: str) -> str:
    return f"photos/{sha256[:2]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbnails/{sha256[:2]}/{sha256}"


async def _visible_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    visit = await get_visit_or_404(session, principal, visit_id)
    if not await access.visit_photos_visible(session, principal, visit):
        raise NotFound()
    return visit


async def get_photo_or_404(session: AsyncSession, principal: Principal, photo_id: uuid.UUID) -> tuple[Photo, Visit]:
    """A photo the caller may see: its visit is visible to them, and for a partner the household's consent
    covers them too (a photo of a home identifies the household)."""
    if not access.may_see_photos(principal):
        raise NotFound()
    photo = await PhotoRepository(session).get(photo_id)
    if photo is None or photo.deleted_at is not None:
        raise NotFound()
    visit = await _visible_visit(session, principal, photo.visit_id)
    return photo, visit


def _require_change(principal: Principal, photo: Photo) -> None:
    if not access.may_change_photo(principal, photo):
        raise Forbidden("photos.change-forbidden")


async def update_photo(session: AsyncSession, principal: Principal, photo: Photo, body: PhotoUpdate) -> Photo:
    _require_change(principal, photo)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(photo, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "photo.update",
        entity="photo",
        entity_id=photo.id,
        household_id=photo.household_id,
        details={"fields": sorted(changes)},
    )
    return photo


async def delete_photo(session: AsyncSession, principal: Principal, photo: Photo) -> None:
    """Soft delete: the record stays (a tombstone for sync, history kept), the file stays in storage."""
    _require_change(principal, photo)
    photo.deleted_at = utcnow()
    photo.deleted_by_id = principal.user_id
    await session.flush()
    await audit.record(
        session, principal, "photo.delete", entity="photo", entity_id=photo.id, household_id=photo.household_id
    )


async def visit_photos(
    session: AsyncSession, principal: Principal, visit_id: uuid.UUID, *, limit: int, cursor: str | None
) -> VisitPhotos:
    if not access.may_see_photos(principal):
        raise NotFound()
    visit = await _visible_visit(session, principal, visit_id)
    photos = PhotoRepository(session)
    rows, next_cursor = await photos.page(
        photos.live_of_visit(visit.id), order=(Photo.created_at, Photo.id), limit=limit, cursor=cursor
    )
    by_key = await photos.ids_by_item_key(visit.id)
    uploads, key_states = await _upload_states(session, visit.id)
    expected: list[ExpectedPhotoStatus] = []
    for entry in visit.expected_photos or []:
        key = str(entry.get("key", ""))
        if not key:
            continue
        ids = by_key.get(key, [])
        failure = None
        if ids:
            status = "verified"
        elif key in key_states:
            status, failure = key_states[key]
        else:
            status = "missing"
        expected.append(
            ExpectedPhotoStatus(key=key, label=entry.get("label", key), status=status, failure=failure, photo_ids=ids)
        )
    await audit.record(
        session,
        principal,
        "photo.list",
        entity="visit",
        entity_id=visit.id,
        household_id=visit.household_id,
        details={"count": len(rows)},
    )
    return VisitPhotos(
        visit_id=visit.id,
        items=[PhotoPublic.of(p) for p in rows],
        next_cursor=next_cursor,
        expected=expected,
        complete=all(e.status == "verified" for e in expected),
        uploads=uploads,
    )


async def _upload_states(
    session: AsyncSession, visit_id: uuid.UUID
) -> tuple[list[UploadState], dict[str, tuple[str, str | None]]]:
    """What became of the visit's uploads that have no photo: the latest upload of each photo id when it is
    being processed or was refused, and per item key whether an upload is under way (``uploading``: open
    and not expired, or processing) or the latest one was refused (``failed``, with the reason)."""
    rows = await UploadRepository(session).pending_of_visit(visit_id, utcnow(), _UPLOAD_STATES_LIMIT)
    with_photo = await PhotoRepository(session).existing_ids({row.photo_id for row in rows})
    uploads: list[UploadState] = []
    key_states: dict[str, tuple[str, str | None]] = {}
    seen: set[uuid.UUID] = set()
    for row in rows:
        if row.photo_id in seen or row.photo_id in with_photo:
            continue
        seen.add(row.photo_id)
        item_key = (row.meta or {}).get("item_key")
        state = "failed" if row.status == UploadStatus.failed else "uploading"
        if item_key:
            current = key_states.get(str(item_key))
            # The newest upload of a key decides, but one under way outweighs an older refusal.
            if current is None or (state == "uploading" and current[0] == "failed"):
                key_states[str(item_key)] = (state, row.failure if state == "failed" else None)
        if row.status in (UploadStatus.processing, UploadStatus.failed):
            uploads.append(
                UploadState(
                    upload_id=row.id,
                    photo_id=row.photo_id,
                    item_key=item_key,
                    status="failed" if row.status == UploadStatus.failed else "processing",
                    failure=row.failure,
                    updated_at=row.updated_at,
                )
            )
    return uploads, key_states
