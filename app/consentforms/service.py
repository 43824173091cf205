"""Consents' signed forms: keeping one (the upload), reading them for the consent's representation, and
destroying them with the household (``docs/access.md``, consent; ``docs/uploads.md``).

The upload's body is streamed to a scratch file and bounded by ``consent_form_max_bytes`` (413); its type comes
from the bytes (JPEG, PNG, HEIC, WebP or PDF), never from ``Content-Type``. Images are cleaned by the photos' own
processing (:func:`app.media.images.process_image`: EXIF/GPS dropped, HEIC kept as JPEG); PDFs are kept as they
came. One form per consent: the same file again is the form already kept; other bytes are a 409.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.db import utcnow
from app.core.errors import Conflict, Problem
from app.core.principal import Principal
from app.core.state import AppState
from app.households.models import Consent, ConsentForm
from app.journal import audit
from app.media import images
from app.media.storage import StorageError, get_storage, scratch_dir

PDF = "application/pdf"
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", PDF: "pdf"}


def _too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "consent-forms.too-large", params={"limit": limit})


async def _receive(chunks: AsyncIterator[bytes], declared: str | None, target: Path, limit: int) -> tuple[int, str]:
    """Streams the body into ``target``: (size, sha256); 413 past ``limit`` (``declared``: its Content-Length)."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    digest = hashlib.sha256()
    size = 0
    async with await anyio.open_file(target, "wb") as fh:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            digest.update(chunk)
            await fh.write(chunk)
    return size, digest.hexdigest()


async def attach_form(
    session: AsyncSession,
    principal: Principal,
    state: AppState,
    consent: Consent,
    chunks: AsyncIterator[bytes],
    declared: str | None,
) -> tuple[ConsentForm, bool]:
    """Keep the uploaded file as the consent's signed form: (the form, whether it is new). The same file again
    is the form already kept (a retried upload); other bytes are a 409."""
    settings = state.settings
    work = scratch_dir(state) / f"consent-form-{uuid.uuid4().hex}"
    await anyio.to_thread.run_sync(lambda: work.mkdir(parents=True, exist_ok=True))
    try:
        source = work / "upload"
        size, source_sha = await _receive(chunks, declared, source, settings.consent_form_max_bytes)
        if size == 0:
            raise Problem(422, "validation", "consent-forms.empty")
        existing = await form_of(session, consent.id)
        if existing is not None:
            if existing.source_sha256 != source_sha:
                raise Conflict("consent-form-exists", "consent-forms.exists")
            return existing, False  # a retried upload of the same file
        async with await anyio.open_file(source, "rb") as fh:
            head = await fh.read(images.SNIFF_BYTES)
        if head.startswith(b"%PDF-"):
            stored, content_type, sha, stored_size = source, PDF, source_sha, size
        elif images.sniff(head) is not None:
            budget = settings.image_decode_budget_mib * 1024 * 1024
            try:
                processed = await anyio.to_thread.run_sync(
                    lambda: images.process_image(source, work, decode_budget=budget)
                )
            except images.ImageRejected as rejected:
                raise Problem(rejected.status, rejected.slug, rejected.detail, params=rejected.params) from rejected
            stored, content_type = processed.path, processed.content_type
            sha, stored_size = processed.sha256, processed.size
        else:
            raise Problem(415, "consent-form-unsupported-type", "consent-forms.unsupported-type")
        key = f"consent-forms/{consent.household_id}/{consent.id}/{sha}.{EXTENSIONS[content_type]}"
        try:
            await get_storage(state).put_file(key, stored, content_type=content_type)
        except StorageError as exc:
            raise Problem(503, "unavailable", "uploads.storage-unavailable", headers={"Retry-After": "5"}) from exc
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(work, ignore_errors=True))
    form = ConsentForm(
        consent_id=consent.id,
        household_id=consent.household_id,
        storage_key=key,
        content_type=content_type,
        size=stored_size,
        sha256=sha,
        source_sha256=source_sha,
        uploaded_by_id=principal.user_id,
    )
    session.add(form)
    consent.updated_at = utcnow()  # the consent's representation (its form) changed: a new version
    await session.flush()
    await audit.record(
        session,
        principal,
        "household.consent.form.upload",
        entity="consent",
        entity_id=consent.id,
        household_id=consent.household_id,
        details={"content_type": content_type, "size": stored_size},
    )
    return form, True


async def form_of(session: AsyncSession, consent_id: uuid.UUID) -> ConsentForm | None:
    """The signed form kept with this consent, if any."""
    return (
        await session.execute(select(ConsentForm).where(col(ConsentForm.consent_id) == consent_id))
    ).scalar_one_or_none()


async def destroy_forms(session: AsyncSession, household_id: uuid.UUID, out: Any) -> None:
    """The signed forms of a household's consents (they show names and signatures), when the household is
    destroyed (app.lifecycle): the rows now, the files into ``out.keys`` (deleted once the destruction commits).
    The consent rows stay, for the statistics."""
    consent_ids = select(col(Consent.id)).where(col(Consent.household_id) == household_id)
    forms = list(
        (await session.execute(select(ConsentForm).where(col(ConsentForm.consent_id).in_(consent_ids)))).scalars()
    )
    for form in forms:
        out.keys.add(form.storage_key)
        await session.delete(form)
    if forms:
        await session.flush()
    out.add("consent_forms", len(forms))
