"""``/v1/households/{id}/consents/{consent_id}/form``: a consent's signed form (issue 19;
``docs/access.md``, ``docs/uploads.md``).

* ``PUT`` takes the file as the raw request body (``fetch(url, {method: "PUT", body: file})``); the type comes
  from the bytes (JPEG, PNG, HEIC, WebP or PDF), never from ``Content-Type``. The body is streamed to a scratch
  file and bounded by ``consent_form_max_bytes`` (413). Images are cleaned by the photos' own processing
  (:func:`app.media.images.process_image`: EXIF/GPS dropped, HEIC kept as JPEG); PDFs are kept as they came.
* One form per consent: the same file again (a retried upload) answers 200 with the form already kept; other
  bytes answer 409 (a wrong form means withdrawing the consent and recording it again: the record stays).
* Who may: coordinators and planners who may see the household (the consent write gate); audited.
* ``GET`` serves the file only with an ``Ongi-Reason`` header (422 without), audited with the reason.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

import anyio
import structlog
from fastapi import APIRouter, Header, Request, Response

from app.access import gates
from app.consentforms import messages as _messages  # noqa: F401 - registers the messages
from app.consentforms.models import ConsentForm
from app.consentforms.schemas import ConsentFormPublic
from app.consentforms.service import form_of
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import Conflict, Problem, not_found
from app.core.etag import set_etag
from app.core.principal import Principal
from app.exports.service import download_reason
from app.households.consent import consent_public
from app.households.lookup import readable_household
from app.households.models import Consent
from app.households.schemas import ConsentPublic
from app.journal import audit
from app.media import images
from app.media.serving import serve
from app.media.storage import StorageError, get_storage, scratch_dir

log = structlog.get_logger("ongi.consentforms")

router = APIRouter(tags=["households"])

ReasonHeader = Annotated[
    str | None,
    Header(
        alias="Ongi-Reason",
        description="Why the signed form is downloaded (UTF-8, percent-encoded, 2-500 characters): audited",
    ),
]

PDF = "application/pdf"
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", PDF: "pdf"}
_FORM_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif", "image/webp", PDF)
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_NOT_FOUND = {"description": "No such household or consent, or not visible to you"}


def _consent_out(consent: Consent, form: ConsentForm | None) -> ConsentPublic:
    return consent_public(consent, utcnow(), ConsentFormPublic.model_validate(form) if form is not None else None)


async def _consent_or_404(
    session: Any, principal: Principal, household_id: uuid.UUID, consent_id: uuid.UUID, *, lock: bool = False
) -> Consent:
    household = await readable_household(session, principal, household_id)
    consent = await session.get(Consent, consent_id, with_for_update=lock or None)
    if consent is None or consent.household_id != household.id:
        raise not_found()
    return consent


def _too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "consent-forms.too-large", params={"limit": limit})


async def _receive(request: Request, target: Path, limit: int) -> tuple[int, str]:
    """Streams the request body into ``target``: (size, sha256); 413 past ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    digest = hashlib.sha256()
    size = 0
    async with await anyio.open_file(target, "wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            digest.update(chunk)
            await fh.write(chunk)
    return size, digest.hexdigest()


@router.put(
    "/v1/households/{household_id}/consents/{consent_id}/form",
    response_model=ConsentPublic,
    summary="Attach the signed consent form (a photo or a PDF, the raw file as the body)",
    description=(
        "Send the file itself as the request body (any of the listed content types; the type is read from the "
        "bytes). Photos are stored without their metadata (EXIF, GPS). One form per consent: the same file "
        "again answers 200 with the form kept, another file 409. Answers the consent with its `form`."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": dict.fromkeys(_FORM_TYPES, _BINARY)},
    },
    responses={
        201: {"description": "The form is kept", "model": ConsentPublic},
        404: _NOT_FOUND,
        409: {"description": "The consent already has another signed form"},
        413: {"description": "Larger than consent_form_max_bytes"},
        415: {"description": "Not a JPEG, PNG, HEIC, WebP or PDF file"},
        422: {"description": "Empty, or an image that does not decode"},
    },
    status_code=200,
)
async def put_consent_form(
    household_id: uuid.UUID,
    consent_id: uuid.UUID,
    request: Request,
    principal: gates.PublicStaff,
    session: SessionDep,
    state: StateDep,
    response: Response,
) -> ConsentPublic:
    consent = await _consent_or_404(session, principal, household_id, consent_id, lock=True)
    settings = state.settings
    work = scratch_dir(state) / f"consent-form-{uuid.uuid4().hex}"
    await anyio.to_thread.run_sync(lambda: work.mkdir(parents=True, exist_ok=True))
    try:
        source = work / "upload"
        size, source_sha = await _receive(request, source, settings.consent_form_max_bytes)
        if size == 0:
            raise Problem(422, "validation", "consent-forms.empty")
        existing = await form_of(session, consent.id)
        if existing is not None:
            if existing.source_sha256 != source_sha:
                raise Conflict("consent-form-exists", "consent-forms.exists")
            set_etag(response, consent.version)
            return _consent_out(consent, existing)  # a retried upload of the same file
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
        key = f"consent-forms/{consent.household_id}/{consent.id}/{sha}.{_EXTENSIONS[content_type]}"
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
    response.status_code = 201
    set_etag(response, consent.version)
    return _consent_out(consent, form)


@router.get(
    "/v1/households/{household_id}/consents/{consent_id}/form",
    response_class=Response,
    summary="Download the signed consent form (give the reason in Ongi-Reason; audited)",
    responses={
        200: {"description": "The file", "content": dict.fromkeys(("image/*", PDF), _BINARY)},
        304: {"description": "Not modified (If-None-Match matched the ETag, the file's sha256)"},
        404: {"description": "No such household or consent, no form, or not visible to you"},
        422: {"description": "No or an invalid Ongi-Reason header"},
    },
)
async def get_consent_form(
    household_id: uuid.UUID,
    consent_id: uuid.UUID,
    request: Request,
    principal: gates.PublicStaff,
    session: SessionDep,
    state: StateDep,
    ongi_reason: ReasonHeader = None,
) -> Response:
    consent = await _consent_or_404(session, principal, household_id, consent_id)
    reason = download_reason(ongi_reason)
    form = await form_of(session, consent.id)
    if form is None:
        raise not_found()
    served = await serve(
        request,
        get_storage(state),
        key=form.storage_key,
        size=form.size,
        sha256=form.sha256,
        content_type=form.content_type,
        filename=f"consent-{consent.id}.{_EXTENSIONS.get(form.content_type, 'bin')}",
    )
    if served.status_code != 304:
        await audit.record(
            session,
            principal,
            "household.consent.form.download",
            entity="consent",
            entity_id=consent.id,
            household_id=consent.household_id,
            details={"reason": reason, "status": served.status_code},
        )
    return served
