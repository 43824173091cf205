"""``/v1/photos/{id}`` (record, content, thumbnail), ``/v1/visits/{id}/photos`` and, included from
``app.media.tus``, the tus endpoints at ``/v1/uploads/`` (``docs/uploads.md``).

The router brings a lifespan (FastAPI merges an included router's lifespan into the app's, inside it):
on start it runs :func:`~app.media.processing.start_background_work` (finishing uploads a
previous process left ``processing``), on stop :func:`~app.media.processing.stop_background_work`, before
the app's own shutdown hooks close the storage and the database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, Response

from app.auth.deps import CurrentPrincipal
from app.core.deps import SessionDep, StateDep
from app.core.http import check_if_match, set_etag
from app.core.pagination import CursorQuery, LimitQuery
from app.journal import audit
from app.media import messages as _messages  # noqa: F401 - registers the messages
from app.media import tus
from app.media.photos import delete_photo, get_photo_or_404, update_photo, visit_photos
from app.media.processing import start_background_work, stop_background_work
from app.media.schemas import PhotoPublic, PhotoUpdate, VisitPhotos
from app.media.serving import serve
from app.media.storage import get_storage


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state.ongi
    await start_background_work(state)
    try:
        yield
    finally:
        await stop_background_work(state)


router = APIRouter(tags=["photos"], lifespan=lifespan)
router.include_router(tus.router)

_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid access token"},
    404: {"description": "No such photo, or not visible to you"},
}
_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_READ_RESPONSES,
    403: {"description": "Only the uploader or a coordinator may change a photo"},
    412: {"description": "If-Match does not match the current version"},
}


@router.get(
    "/v1/visits/{visit_id}/photos",
    response_model=VisitPhotos,
    summary="A visit's photos, and which expected photos have arrived and been verified",
    responses=_READ_RESPONSES,
)
async def list_visit_photos(
    visit_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> VisitPhotos:
    return await visit_photos(session, principal, visit_id, limit=limit, cursor=cursor)


@router.get("/v1/photos/{photo_id}", response_model=PhotoPublic, summary="A photo's record", responses=_READ_RESPONSES)
async def get_photo(
    photo_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep, response: Response
) -> PhotoPublic:
    photo, _ = await get_photo_or_404(session, principal, photo_id)
    await audit.record(
        session, principal, "photo.read", entity="photo", entity_id=photo.id, household_id=photo.household_id
    )
    set_etag(response, photo.version)
    return PhotoPublic.of(photo)


@router.patch(
    "/v1/photos/{photo_id}",
    response_model=PhotoPublic,
    summary="Change a photo's caption or item key",
    responses=_WRITE_RESPONSES,
)
async def patch_photo(
    photo_id: uuid.UUID,
    body: PhotoUpdate,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
) -> PhotoPublic:
    photo, _ = await get_photo_or_404(session, principal, photo_id)
    check_if_match(request, photo.version)
    photo = await update_photo(session, principal, photo, body)
    set_etag(response, photo.version)
    return PhotoPublic.of(photo)


@router.delete(
    "/v1/photos/{photo_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a photo (a tombstone; the history keeps it)",
    responses=_WRITE_RESPONSES,
)
async def remove_photo(
    photo_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    photo, _ = await get_photo_or_404(session, principal, photo_id)
    check_if_match(request, photo.version)
    await delete_photo(session, principal, photo)
    return Response(status_code=204)


# --- content -------------------------------------------------------------------------------------------------

_CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file", "content": {"image/*": {}}},
    206: {"description": "The requested byte range (Content-Range)"},
    304: {"description": "Not modified (If-None-Match matched the ETag, the file's sha256)"},
    **_READ_RESPONSES,
    416: {"description": "The range lies outside the file"},
}


_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

IfNoneMatch = Annotated[str | None, Header(description="An ETag (the sha256) you hold: 304 when unchanged")]
RangeHeader = Annotated[str | None, Header(description="bytes=start-end (one range)")]
ReasonHeader = Annotated[
    str | None,
    Header(
        alias="Ongi-Reason",
        description="Why the photo is downloaded (UTF-8, percent-encoded, 2-500 characters): kept in the audit event",
    ),
]


async def _download(
    variant: str,
    photo_id: uuid.UUID,
    request: Request,
    state: Any,
    principal: Any,
    session: Any,
    reason: str | None = None,
) -> Response:
    """The photo's file or its thumbnail: the visit's access policy, Range/ETag, and an audit event unless the
    caller's copy is current (304). An ``Ongi-Reason`` header, when sent, is checked and kept in the audit row."""
    from app.audit.reason import download_reason

    given = download_reason(reason) if reason is not None else None
    photo, _ = await get_photo_or_404(session, principal, photo_id)
    if variant == "content":
        key, size, sha256, content_type = photo.storage_key, photo.size, photo.sha256, photo.content_type
        filename = f"{photo.id}.{_EXTENSIONS.get(photo.content_type, 'bin')}"
    else:
        key, size, sha256 = photo.thumbnail_key, photo.thumbnail_size, photo.thumbnail_sha256
        content_type, filename = "image/jpeg", f"{photo.id}-thumbnail.jpg"
    response = await serve(
        request, get_storage(state), key=key, size=size, sha256=sha256, content_type=content_type, filename=filename
    )
    if response.status_code != 304:
        await audit.record(
            session,
            principal,
            "photo.download",
            entity="photo",
            entity_id=photo.id,
            household_id=photo.household_id,
            details={"variant": variant, "status": response.status_code}
            | ({"reason": given} if given is not None else {}),
        )
    return response


@router.get(
    "/v1/photos/{photo_id}/content",
    response_class=Response,
    summary="The photo's file (metadata stripped), with Range support",
    responses=_CONTENT_RESPONSES,
)
async def photo_content(
    photo_id: uuid.UUID,
    request: Request,
    state: StateDep,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
    range: RangeHeader = None,
    ongi_reason: ReasonHeader = None,
) -> Response:
    return await _download("content", photo_id, request, state, principal, session, ongi_reason)


@router.get(
    "/v1/photos/{photo_id}/thumbnail",
    response_class=Response,
    summary="The photo's thumbnail (JPEG, at most 320 px), with Range support",
    responses=_CONTENT_RESPONSES,
)
async def photo_thumbnail(
    photo_id: uuid.UUID,
    request: Request,
    state: StateDep,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatch = None,
    range: RangeHeader = None,
    ongi_reason: ReasonHeader = None,
) -> Response:
    return await _download("thumbnail", photo_id, request, state, principal, session, ongi_reason)
