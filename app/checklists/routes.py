"""``/v1/checklist-templates`` and ``/v1/visits/{id}/checklists`` (``docs/checklists.md``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.access import gates
from app.checklists import responses as service_responses
from app.checklists import templates as service_templates
from app.checklists.models import ChecklistResponse, ChecklistTemplate, TemplateStatus
from app.checklists.repository import ResponseRepository, TemplateRepository
from app.checklists.schemas import (
    LangChoice,
    ResponseCreate,
    ResponsePublic,
    ResponseUpdate,
    ResponseWritten,
    TemplateCreate,
    TemplatePublic,
    TemplateReplace,
    TemplateUpdate,
    response_data,
    template_public,
)
from app.core.deps import SessionDep
from app.core.http import check_if_match, problems, set_etag
from app.core.i18n import current_language
from app.core.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["checklists"])


_TEXT = {
    403: "Your role cannot do this, or you are not on the visit's team",
    404: "No such record, or not visible to you",
    409: "Published templates never change; a draft already exists; the visit is cancelled",
    412: "If-Match does not match the current version",
    422: "Invalid input (field errors in `errors`)",
}


KeyPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Template key")]
VersionPath = Annotated[int, Path(ge=1, le=1_000_000, description="Template version")]
LangQuery = Annotated[
    LangChoice | None,
    Query(description="Single-language view: ko, en, or auto (from Accept-Language). Default: both languages"),
]


def _lang(lang: str | None) -> str | None:
    if lang == "auto":
        return current_language()
    return lang


def _template_response(response: Response, template: ChecklistTemplate, lang: str | None) -> TemplatePublic:
    set_etag(response, template.version)
    return template_public(template, _lang(lang))


# --- templates -----------------------------------------------------------------------------------------------


@router.get(
    "/v1/checklist-templates",
    response_model=Page[TemplatePublic],
    summary="Checklist templates: the latest published version of each key, and your organization's drafts",
    responses=problems(403, texts=_TEXT),
)
async def list_templates(
    principal: gates.Staff,
    session: SessionDep,
    key: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Every version of one key")] = None,
    status: TemplateStatus | None = None,
    lang: LangQuery = None,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[TemplatePublic]:
    service_templates.require_template_reader(principal)
    stmt = service_templates.template_list_stmt(session, principal, key, status)
    rows, next_cursor = await TemplateRepository(session).page(
        stmt, order=(ChecklistTemplate.created_at, ChecklistTemplate.id), limit=limit, cursor=cursor
    )
    chosen = _lang(lang)
    return Page(items=[template_public(r, chosen) for r in rows], next_cursor=next_cursor)


@router.post(
    "/v1/checklist-templates",
    response_model=TemplatePublic,
    status_code=201,
    summary="Create a draft: a new key, or the next version of a key your organization manages",
    responses=problems(403, 409, 422, texts=_TEXT),
)
async def create_template(
    body: TemplateCreate, principal: gates.Steward, session: SessionDep, response: Response
) -> TemplatePublic:
    template = await service_templates.create_draft(session, principal, body)
    response.headers["Location"] = f"/v1/checklist-templates/{template.key}/versions/{template.template_version}"
    return _template_response(response, template, None)


@router.get(
    "/v1/checklist-templates/{key}/versions/{version}",
    response_model=TemplatePublic,
    summary="One template version",
    responses=problems(403, 404, texts=_TEXT),
)
async def get_template(
    key: KeyPath,
    version: VersionPath,
    principal: gates.Staff,
    session: SessionDep,
    response: Response,
    lang: LangQuery = None,
) -> TemplatePublic:
    service_templates.require_template_reader(principal)
    template = await service_templates.get_template_or_404(session, principal, key, version)
    return _template_response(response, template, lang)


@router.put(
    "/v1/checklist-templates/{key}/versions/{version}",
    response_model=TemplatePublic,
    summary="Replace a draft's title, items and bands (a published version answers 409)",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def replace_template(
    key: KeyPath,
    version: VersionPath,
    body: TemplateReplace,
    request: Request,
    principal: gates.Steward,
    session: SessionDep,
    response: Response,
) -> TemplatePublic:
    service_templates.require_template_editor(principal)
    template = await service_templates.get_template_or_404(session, principal, key, version)
    check_if_match(request, template.version)
    changes = {"title": body.title, "items": body.items, "bands": body.bands}
    template = await service_templates.update_draft(session, principal, template, changes)
    return _template_response(response, template, None)


@router.patch(
    "/v1/checklist-templates/{key}/versions/{version}",
    response_model=TemplatePublic,
    summary="Change parts of a draft (a published version answers 409)",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def patch_template(
    key: KeyPath,
    version: VersionPath,
    body: TemplateUpdate,
    request: Request,
    principal: gates.Steward,
    session: SessionDep,
    response: Response,
) -> TemplatePublic:
    service_templates.require_template_editor(principal)
    template = await service_templates.get_template_or_404(session, principal, key, version)
    check_if_match(request, template.version)
    changes = {name: getattr(body, name) for name in body.model_fields_set if getattr(body, name) is not None}
    template = await service_templates.update_draft(session, principal, template, changes)
    return _template_response(response, template, None)


@router.delete(
    "/v1/checklist-templates/{key}/versions/{version}",
    status_code=204,
    summary="Discard a draft (kept as a tombstone; a published version answers 409)",
    responses=problems(403, 404, 409, 412, texts=_TEXT),
)
async def discard_template(
    key: KeyPath, version: VersionPath, request: Request, principal: gates.Steward, session: SessionDep
) -> Response:
    service_templates.require_template_editor(principal)
    template = await service_templates.get_template_or_404(session, principal, key, version)
    check_if_match(request, template.version)
    await service_templates.discard_draft(session, principal, template)
    return Response(status_code=204)


@router.post(
    "/v1/checklist-templates/{key}/versions/{version}/publish",
    response_model=TemplatePublic,
    summary="Publish a draft; from now on this version never changes",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def publish_template(
    key: KeyPath,
    version: VersionPath,
    request: Request,
    principal: gates.Steward,
    session: SessionDep,
    response: Response,
) -> TemplatePublic:
    service_templates.require_template_editor(principal)
    template = await service_templates.get_template_or_404(session, principal, key, version)
    check_if_match(request, template.version)
    template = await service_templates.publish_template(session, principal, template)
    return _template_response(response, template, None)


# --- responses -----------------------------------------------------------------------------------------------


@router.get(
    "/v1/visits/{visit_id}/checklists",
    response_model=Page[ResponsePublic],
    summary="The visit's checklist responses",
    responses=problems(404, texts=_TEXT),
)
async def list_responses(
    visit_id: uuid.UUID,
    principal: gates.FieldStaff,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ResponsePublic]:
    visit = await service_responses.readable_visit(session, principal, visit_id)
    responses = ResponseRepository(session)
    rows, next_cursor = await responses.page(
        responses.of_visit(visit.id),
        order=(ChecklistResponse.created_at, ChecklistResponse.id),
        limit=limit,
        cursor=cursor,
    )
    items = await service_responses.describe_responses(session, principal, visit, rows)
    return Page(items=[ResponsePublic.model_validate(i) for i in items], next_cursor=next_cursor)


def _written(response: Response, outcome: service_responses.Upserted) -> ResponseWritten:
    set_etag(response, outcome.response.version)
    return ResponseWritten.model_validate({**outcome.record(), "conflicts": outcome.merge.conflict_data()})


@router.post(
    "/v1/visits/{visit_id}/checklists",
    response_model=ResponseWritten,
    status_code=201,
    summary="Start the visit's response for a pinned template version, or merge answers into it (200)",
    responses={
        200: {"description": "Merged into the existing response", "model": ResponseWritten},
        **problems(403, 404, 409, 422, texts=_TEXT),
    },
)
async def upsert_response(
    visit_id: uuid.UUID,
    body: ResponseCreate,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> ResponseWritten:
    outcome = await service_responses.upsert_response(
        session,
        principal,
        visit_id,
        {
            "template_key": body.template_key,
            "template_version": body.template_version,
            "answers": body.answers,
            "completed": body.completed,
        },
        response_id=body.id,
        base_version=body.base_version,
    )
    if not outcome.created:
        response.status_code = 200
    else:
        response.headers["Location"] = f"/v1/visits/{visit_id}/checklists/{outcome.response.id}"
    return _written(response, outcome)


@router.get(
    "/v1/visits/{visit_id}/checklists/{response_id}",
    response_model=ResponsePublic,
    summary="One checklist response",
    responses=problems(404, texts=_TEXT),
)
async def get_response(
    visit_id: uuid.UUID, response_id: uuid.UUID, principal: gates.FieldStaff, session: SessionDep, response: Response
) -> ResponsePublic:
    visit = await service_responses.readable_visit(session, principal, visit_id)
    row = await service_responses.get_response_or_404(session, principal, visit, response_id)
    missing = await service_responses.missing_required_of(session, row)
    set_etag(response, row.version)
    return ResponsePublic.model_validate(response_data(row, missing))


@router.patch(
    "/v1/visits/{visit_id}/checklists/{response_id}",
    response_model=ResponseWritten,
    summary="Merge answers per item (conflicting items keep the server's value) and/or submit",
    responses=problems(403, 404, 409, 412, 422, texts=_TEXT),
)
async def patch_response(
    visit_id: uuid.UUID,
    response_id: uuid.UUID,
    body: ResponseUpdate,
    request: Request,
    principal: gates.FieldStaff,
    session: SessionDep,
    response: Response,
) -> ResponseWritten:
    visit = await service_responses.writable_visit(session, principal, visit_id)
    row = await service_responses.get_response_or_404(
        session, principal, visit, response_id, audited=False, for_update=True
    )
    check_if_match(request, row.version)
    base_version = body.base_version
    if base_version is None and request.headers.get("if-match"):
        base_version = row.version  # If-Match matched: the caller's base is the current version
    outcome = await service_responses.update_response(
        session, principal, row, body.answers, base_version=base_version, completed=body.completed
    )
    return _written(response, outcome)
