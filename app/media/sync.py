"""Photo metadata on the phone (``docs/sync.md``): the photos of the visits a device holds.

Declared to sync once, here (:func:`sync_entities`). A partner's phone gets a photo only while
consent opens the household (a photo of a home identifies it), like the household itself.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.media.models import Photo
from app.media.schemas import PhotoPublic


async def _photo_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    if not ctx.visit_ids:
        return {}
    rows = await ctx.rows(
        session,
        "photo",
        select(Photo.id, Photo.version, Photo.household_id).where(
            Photo.visit_id.in_(list(ctx.visit_ids)), Photo.deleted_at.is_(None)
        ),
        Photo.id,
    )
    out: dict[uuid.UUID, Any] = {}
    for photo_id, version, household_id in rows:
        if household_id is not None and not ctx.household_open(household_id):
            continue
        out[photo_id] = Item(version, household_id)
    return out


def photo_data(photo: Photo) -> dict[str, Any]:
    """A photo as REST and sync show it (``docs/data-model.md``, photo)."""
    return PhotoPublic.of(photo).model_dump(mode="json")


async def _photo_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    photos = (await session.execute(select(Photo).where(Photo.id.in_(ids)))).scalars().all()
    return {p.id: photo_data(p) for p in photos}


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [SyncEntity("photo", _photo_scope, _photo_load, Photo, after=("visit",), content=True)]
