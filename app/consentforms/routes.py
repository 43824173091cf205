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

import uuid
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Request, Response

from app.access import gates
from app.audit.reason import download_reason
from app.consentforms import messages as _messages  # noqa: F401 - registers the messages
from app.consentforms import service
from app.consentforms.service import EXTENSIONS, PDF, form_of
from app.core.db import utcnow
from app.core.deps import SessionDep, StateDep
from app.core.errors import not_found
from app.core.http import set_etag
from app.core.principal import Principal
from app.households.consent import consent_public
from app.households.lookup import readable_household
from app.households.models import Consent, ConsentForm
from app.households.schemas import ConsentFormPublic, ConsentPublic
from app.journal import audit
from app.media.serving import serve
from app.media.storage import get_storage

log = structlog.get_logger("ongi.consentforms")

router = APIRouter(tags=["households"])

ReasonHeader = Annotated[
    str | None,
    Header(
        alias="Ongi-Reason",
        description="Why the signed form is downloaded (UTF-8, percent-encoded, 2-500 characters): audited",
    ),
]

_FORM_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif", "image/webp", PDF)
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_NOT_FOUND = {"description": "No such household or consent, or not visible to you"}


def _consent_out(consent: Consent, form: ConsentForm | None) -> ConsentPublic:
    return consent_public(consent, utcnow(), ConsentFormPublic.model_validate(form) if form is not None else None)


async def _consent_or_404(
    session: Any, principal: Principal, household_id: uuid.UUID, consent_id: uuid.UUID, *, lock: bool = False
) -> Consent:
    household = await readable_household(session, principal, household_id)
    consent: Consent | None = await session.get(Consent, consent_id, with_for_update=lock or None)
    if consent is None or consent.household_id != household.id:
        raise not_found()
    return consent


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
    length = request.headers.get("content-length")
    form, created = await service.attach_form(session, principal, state, consent, request.stream(), length)
    if created:
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
        filename=f"consent-{consent.id}.{EXTENSIONS.get(form.content_type, 'bin')}",
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
