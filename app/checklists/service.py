"""The rules of checklist templates and responses.

Templates
=========
* Admins and coordinators create drafts (``create_draft``), edit them (``update_draft``) and publish them
  (``publish_template``). A published (key, version) never changes: any edit answers 409.
* A key belongs to the organization that created it (its admins and coordinators make its next versions
  and see its drafts); built-in keys (shipped in ``app/checklists/templates/*.json`` and loaded by
  :func:`ensure_builtin_templates`) may be revised by public organizations. Version numbers per key are
  never reused, and a key has at most one open draft at a time.
* Published templates are reference data: every field worker sees them. Drafts are never sent to phones
  (:func:`template_in_sync_scope`).

Responses
=========
One response per visit and pinned template version. Its ``answers`` merge per item
(:func:`merge_answers`); the server validates values, computes visibility, score and band
(:mod:`app.checklists.rules`), checks required items when the response is submitted (``completed``), and
hands a submitted band's risk level to the household's assessment.

For the sync push (DESIGN §4.2), a ``checklist_response`` ``upsert`` mutation maps onto
:func:`upsert_response` (``data`` is the mutation's data, ``response_id`` its ``id``, ``base_version`` its
``base_version``); it raises :class:`~app.core.errors.Problem` when the mutation must be rejected and
returns an :class:`Upserted` whose ``merge.conflicts`` make the push result a ``conflict`` (with
``Upserted.record()`` as the server data and :meth:`MergeResult.conflict_data` for both values).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, object_session

from app.access.policy import get_visit_or_404, is_visit_team_member, partner_reach
from app.audit import service as audit
from app.auth.models import OrgKind, Role
from app.auth.principal import Principal
from app.checklists import messages as _messages  # noqa: F401 - registers the catalogue
from app.checklists.models import (
    ChecklistAnswerHistory,
    ChecklistResponse,
    ChecklistTemplate,
    HistoryReason,
    TemplateStatus,
)
from app.checklists.rules import FieldError, evaluate, validate_template, validate_value
from app.checklists.schemas import TemplateCreate, response_data
from app.core.db import utcnow
from app.core.errors import Problem, not_found
from app.core.i18n import t
from app.core.times import rfc3339
from app.households.models import Household, RiskLevel
from app.visits.models import Visit, VisitStatus

log = structlog.get_logger("ongi.checklists")

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_READERS = (Role.admin, Role.coordinator, Role.planner, Role.partner)
TEMPLATE_EDITORS = (Role.admin, Role.coordinator)
#: Roles that may ever read checklist responses (and write them, when on the visit's team).
RESPONSE_ROLES = (Role.coordinator, Role.planner, Role.partner)


def validation_problem(errors: list[FieldError]) -> Problem:
    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": len(errors)},
        extra={"errors": [{"field": e.field, "code": e.code, "message": t(e.message_key, **e.params)} for e in errors]},
    )


def _role_problem(roles: tuple[Role, ...]) -> Problem:
    return Problem(403, "forbidden", "detail.role-forbidden", params={"roles": ", ".join(r.value for r in roles)})


# === templates ==============================================================================================


def require_template_reader(principal: Principal) -> None:
    if principal.role not in TEMPLATE_READERS:
        raise _role_problem(TEMPLATE_READERS)


def require_template_editor(principal: Principal) -> None:
    if principal.role not in TEMPLATE_EDITORS:
        raise _role_problem(TEMPLATE_EDITORS)


def can_see_template(principal: Principal, template: ChecklistTemplate) -> bool:
    if template.deleted_at is not None or principal.role not in TEMPLATE_READERS:
        return False
    if template.status == TemplateStatus.published:
        return True
    return principal.role in TEMPLATE_EDITORS and template.owner_organization_id == principal.organization_id


def template_in_sync_scope(template: ChecklistTemplate) -> bool:
    """Phones hold published templates only (drafts change and are for their editors)."""
    return template.status == TemplateStatus.published and template.deleted_at is None


def template_list_stmt(principal: Principal, key: str | None = None, status: TemplateStatus | None = None) -> Any:
    """Latest published version of each key (every published version when ``key`` is given), plus the
    drafts of the caller's organization for admins and coordinators."""
    tpl = ChecklistTemplate
    if key is None:
        newer = aliased(ChecklistTemplate)
        published: ColumnElement[bool] = and_(
            tpl.status == TemplateStatus.published,
            ~exists().where(
                newer.key == tpl.key,
                newer.status == TemplateStatus.published,
                newer.deleted_at.is_(None),
                newer.template_version > tpl.template_version,
            ),
        )
    else:
        published = tpl.status == TemplateStatus.published  # type: ignore[assignment]
    clauses = [published]
    if principal.role in TEMPLATE_EDITORS:
        clauses.append(and_(tpl.status == TemplateStatus.draft, tpl.owner_organization_id == principal.organization_id))
    stmt = select(tpl).where(tpl.deleted_at.is_(None), or_(*clauses))
    if key is not None:
        stmt = stmt.where(tpl.key == key)
    if status is not None:
        stmt = stmt.where(tpl.status == status)
    return stmt


async def get_template_or_404(session: AsyncSession, principal: Principal, key: str, version: int) -> ChecklistTemplate:
    template = (
        await session.execute(
            select(ChecklistTemplate).where(ChecklistTemplate.key == key, ChecklistTemplate.template_version == version)
        )
    ).scalar_one_or_none()
    if template is None or not can_see_template(principal, template):
        raise not_found()
    return template


async def get_published_template(session: AsyncSession, key: str, version: int) -> ChecklistTemplate | None:
    """A published template version, or None (for visits pinning templates, and for responses)."""
    return (
        await session.execute(
            select(ChecklistTemplate).where(
                ChecklistTemplate.key == key,
                ChecklistTemplate.template_version == version,
                ChecklistTemplate.status == TemplateStatus.published,
                ChecklistTemplate.deleted_at.is_(None),
            )
        )
    ).scalar_one_or_none()


def _dump_definition(title: Any, items: list[Any], bands: list[Any]) -> dict[str, Any]:
    def dump(model: Any) -> Any:
        return model.model_dump(mode="json", exclude_none=True) if hasattr(model, "model_dump") else model

    return {"title": dump(title), "items": [dump(i) for i in items], "bands": [dump(b) for b in bands]}


def _check_definition(definition: dict[str, Any], prefix: str = "body") -> None:
    errors = validate_template(definition["items"], definition["bands"], prefix)
    if errors:
        raise validation_problem(errors)


def _published_problem(template: ChecklistTemplate) -> Problem:
    return Problem(
        409,
        "template-published",
        "checklists.template-published",
        params={"template": template.key, "version": template.template_version},
    )


async def _key_rows(session: AsyncSession, key: str) -> list[ChecklistTemplate]:
    return list(
        (
            await session.execute(
                select(ChecklistTemplate)
                .where(ChecklistTemplate.key == key)
                .order_by(ChecklistTemplate.template_version.desc())
            )
        ).scalars()
    )


def _may_manage_key(principal: Principal, rows: list[ChecklistTemplate]) -> bool:
    live = [r for r in rows if r.deleted_at is None]
    if not live:
        return True
    owner = live[0].owner_organization_id
    if owner is None:
        return principal.org_kind == OrgKind.public
    return owner == principal.organization_id


async def create_draft(session: AsyncSession, principal: Principal, body: TemplateCreate) -> ChecklistTemplate:
    require_template_editor(principal)
    definition = _dump_definition(body.title, body.items, body.bands)
    _check_definition(definition)
    rows = await _key_rows(session, body.key)
    if not _may_manage_key(principal, rows):
        raise Problem(409, "conflict", "checklists.key-owned", params={"template": body.key})
    draft = next((r for r in rows if r.status == TemplateStatus.draft and r.deleted_at is None), None)
    if draft is not None:
        raise Problem(
            409,
            "template-draft-exists",
            "checklists.draft-exists",
            params={"template": body.key, "version": draft.template_version},
            extra={"version": draft.template_version},
        )
    template = ChecklistTemplate(
        key=body.key,
        template_version=(rows[0].template_version + 1) if rows else 1,
        status=TemplateStatus.draft,
        owner_organization_id=principal.organization_id,
        created_by_id=principal.user_id,
        **definition,
    )
    session.add(template)
    await session.flush()
    await audit.record(
        session,
        principal,
        "checklist_template.create",
        entity="checklist_template",
        entity_id=template.id,
        details={"version": template.template_version, "items": len(template.items)},
    )
    return template


def _require_draft_editor(principal: Principal, template: ChecklistTemplate) -> None:
    require_template_editor(principal)
    if template.status == TemplateStatus.published:
        raise _published_problem(template)
    if template.owner_organization_id != principal.organization_id:
        raise not_found()


async def update_draft(
    session: AsyncSession, principal: Principal, template: ChecklistTemplate, changes: dict[str, Any]
) -> ChecklistTemplate:
    """Replace the given parts (``title``, ``items``, ``bands``: pydantic models) of a draft."""
    _require_draft_editor(principal, template)
    current = {"title": template.title, "items": template.items, "bands": template.bands}
    new = _dump_definition(
        changes.get("title", current["title"]),
        changes.get("items", current["items"]),
        changes.get("bands", current["bands"]),
    )
    _check_definition(new)
    for name, value in new.items():
        if value != current[name]:
            setattr(template, name, value)
    await session.flush()
    await audit.record(
        session,
        principal,
        "checklist_template.update",
        entity="checklist_template",
        entity_id=template.id,
        details={"version": template.template_version, "fields": sorted(changes)},
    )
    return template


async def publish_template(
    session: AsyncSession, principal: Principal, template: ChecklistTemplate
) -> ChecklistTemplate:
    _require_draft_editor(principal, template)
    _check_definition({"items": template.items, "bands": template.bands})
    template.status = TemplateStatus.published
    template.published_at = utcnow()
    template.published_by_id = principal.user_id
    await session.flush()
    await audit.record(
        session,
        principal,
        "checklist_template.publish",
        entity="checklist_template",
        entity_id=template.id,
        details={"version": template.template_version},
    )
    return template


async def discard_draft(session: AsyncSession, principal: Principal, template: ChecklistTemplate) -> None:
    """A draft can be discarded (kept as a tombstone; its version number is not reused)."""
    _require_draft_editor(principal, template)
    template.deleted_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        principal,
        "checklist_template.discard",
        entity="checklist_template",
        entity_id=template.id,
        details={"version": template.template_version},
    )


# --- built-in templates ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def builtin_definitions() -> tuple[dict[str, Any], ...]:
    """The shipped templates, validated like any draft (a broken file fails loudly at startup and in tests)."""
    out = []
    for path in sorted(TEMPLATES_DIR.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        version = raw.pop("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"{path.name}: version must be a positive integer")
        body = TemplateCreate.model_validate(raw)
        definition = _dump_definition(body.title, body.items, body.bands)
        errors = validate_template(definition["items"], definition["bands"], path.name)
        if errors:
            raise ValueError(f"{path.name}: " + "; ".join(f"{e.field}: {e.code}" for e in errors))
        out.append({"key": body.key, "version": version, **definition})
    return tuple(out)


async def ensure_builtin_templates(session: AsyncSession) -> list[ChecklistTemplate]:
    """Insert the shipped templates that are missing, published. Idempotent; never changes a stored row
    (a shipped file that differs from its published version is logged: give it a new version)."""
    out: list[ChecklistTemplate] = []
    now = utcnow()
    for spec in builtin_definitions():
        row = (
            await session.execute(
                select(ChecklistTemplate).where(
                    ChecklistTemplate.key == spec["key"], ChecklistTemplate.template_version == spec["version"]
                )
            )
        ).scalar_one_or_none()
        if row is None:
            row = ChecklistTemplate(
                key=spec["key"],
                template_version=spec["version"],
                status=TemplateStatus.published,
                title=spec["title"],
                items=spec["items"],
                bands=spec["bands"],
                builtin=True,
                published_at=now,
            )
            session.add(row)
        elif (row.title, row.items, row.bands) != (spec["title"], spec["items"], spec["bands"]) or not row.builtin:
            log.warning("builtin_template_differs", key=spec["key"], version=spec["version"])
        out.append(row)
    await session.flush()
    return out


# === responses ==============================================================================================


@dataclass
class Conflict:
    item_key: str
    server: dict[str, Any]
    incoming: dict[str, Any]


@dataclass
class MergeResult:
    applied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    history: list[ChecklistAnswerHistory] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)

    def conflict_data(self) -> list[dict[str, Any]]:
        return [{"item_key": c.item_key, "server": c.server, "incoming": c.incoming} for c in self.conflicts]


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _as_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _answer(value: Any, answered_by: Any, answered_at: datetime) -> dict[str, Any]:
    return {
        "value": value,
        "answered_by": str(answered_by) if answered_by is not None else None,
        "answered_at": rfc3339(answered_at),
    }


def merge_answers(
    response: ChecklistResponse,
    incoming: dict[str, dict[str, Any]],
    base_version: int | None,
    actor_id: uuid.UUID | None,
    *,
    now: datetime | None = None,
) -> MergeResult:
    """Merge ``incoming`` answers ({item key: {"value", "answered_at"}}) into ``response``, per item.

    * An item whose value equals the server's is ``unchanged`` (retries are harmless).
    * An item the server changed after ``base_version`` (its item version is newer than the writer's base)
      keeps the server's value; the incoming one goes to ``checklist_answer_history`` with reason
      ``conflict`` and is reported in ``conflicts`` with both values.
    * Any other item is ``applied``: the previous value, if any, goes to the history with reason
      ``overwritten``, and the item's version becomes the response version this change creates.
    * ``base_version=None`` means the writer claims no base: last writer wins for every item.

    Values must already be validated (:func:`validate_incoming`). History rows are added to the
    response's session when it has one (and listed in the result either way). The caller recomputes the
    score afterwards (:func:`upsert_response` and :func:`update_response` do all of this).
    """
    now = now or utcnow()
    state = sa_inspect(response)
    new_version = (response.version + 1) if state.has_identity else (response.version or 1)
    answers = {k: dict(v) for k, v in (response.answers or {}).items()}
    versions = dict(response.item_versions or {})
    result = MergeResult()
    for key, answer in incoming.items():
        value = answer.get("value")
        at = _as_time(answer.get("answered_at")) or now
        current = answers.get(key)
        if (current is None and value is None) or (current is not None and _same_value(current.get("value"), value)):
            result.unchanged.append(key)
            continue
        if current is not None and base_version is not None and int(versions.get(key, 0)) > base_version:
            result.conflicts.append(Conflict(item_key=key, server=dict(current), incoming=_answer(value, actor_id, at)))
            result.history.append(
                ChecklistAnswerHistory(
                    response_id=response.id,
                    item_key=key,
                    value=value,
                    answered_by=actor_id,
                    answered_at=at,
                    superseded_at=now,
                    reason=HistoryReason.conflict,
                    response_version=response.version,
                    actor_id=actor_id,
                )
            )
            continue
        if current is not None:
            previous_by = current.get("answered_by")
            result.history.append(
                ChecklistAnswerHistory(
                    response_id=response.id,
                    item_key=key,
                    value=current.get("value"),
                    answered_by=uuid.UUID(previous_by) if previous_by else None,
                    answered_at=_as_time(current.get("answered_at")),
                    superseded_at=now,
                    reason=HistoryReason.overwritten,
                    response_version=response.version,
                    actor_id=actor_id,
                )
            )
        answers[key] = _answer(value, actor_id, at)
        versions[key] = new_version
        result.applied.append(key)
    if result.applied:
        response.answers = answers
        response.item_versions = versions
    owner = object_session(response)
    if owner is not None and result.history:
        owner.add_all(result.history)
    return result


def validate_incoming(template: ChecklistTemplate, raw: Any, prefix: str = "answers") -> dict[str, dict[str, Any]]:
    """Check answers against the template: known items, values of the item's type, aware times.
    ``raw`` is {item key: {"value", "answered_at"}} (pydantic models or plain dicts from a sync push)."""
    if not isinstance(raw, dict):
        raise validation_problem([FieldError(prefix, "dict_type", "field.dict_type")])
    items = {item["key"]: item for item in template.items}
    errors: list[FieldError] = []
    out: dict[str, dict[str, Any]] = {}
    for key, answer in raw.items():
        data = answer.model_dump() if hasattr(answer, "model_dump") else answer
        path = f"{prefix}.{key}"
        if not isinstance(data, dict) or "value" not in data or set(data) - {"value", "answered_at"}:
            errors.append(FieldError(path, "answer_shape", "field.dict_type"))
            continue
        item = items.get(key)
        if item is None:
            errors.append(FieldError(path, "unknown_item", "checklists.unknown-item"))
            continue
        problem = validate_value(item, data["value"])
        if problem is not None:
            code, message_key, params = problem
            errors.append(FieldError(f"{path}.value", code, message_key, params))
            continue
        at = data.get("answered_at")
        if at is not None:
            try:
                at = _as_time(at)
            except (TypeError, ValueError):
                errors.append(FieldError(f"{path}.answered_at", "datetime_parsing", "field.datetime_parsing"))
                continue
            if at is None or at.tzinfo is None:
                errors.append(FieldError(f"{path}.answered_at", "timezone", "checklists.answered-at-naive"))
                continue
        out[key] = {"value": data["value"], "answered_at": at}
    if errors:
        raise validation_problem(errors)
    return out


# --- access ------------------------------------------------------------------------------------------------


async def _partner_may_see(session: AsyncSession, principal: Principal, visit: Visit) -> bool:
    if principal.role != Role.partner or visit.household_id is None:
        return True
    return (await partner_reach(session, principal)).household_visible(visit.household_id)


async def readable_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The visit whose checklist responses the caller may read: they see the visit, and a partner also
    has consent for its household (404 otherwise). Roles that never read responses get 403."""
    if principal.role not in RESPONSE_ROLES:
        raise _role_problem(RESPONSE_ROLES)
    visit = await get_visit_or_404(session, principal, visit_id)
    if not await _partner_may_see(session, principal, visit):
        raise not_found()
    return visit


async def writable_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The visit whose responses the caller may write: readable, the caller on its team (403 otherwise),
    and not cancelled (409)."""
    visit = await readable_visit(session, principal, visit_id)
    if not await is_visit_team_member(session, principal, visit.id):
        raise Problem(403, "not-visit-team", "checklists.not-visit-team")
    if visit.status == VisitStatus.cancelled:
        raise Problem(409, "visit-cancelled", "checklists.visit-cancelled")
    return visit


def _pinned(visit: Visit, key: str, version: int) -> bool:
    for pin in visit.checklists or []:
        try:
            if pin.get("key") == key and int(pin.get("version")) == version:  # type: ignore[arg-type]
                return True
        except (TypeError, ValueError):
            continue
    return False


async def _template_of(session: AsyncSession, response: ChecklistResponse) -> ChecklistTemplate:
    template = await session.get(ChecklistTemplate, response.template_id)
    assert template is not None
    return template


async def describe_responses(
    session: AsyncSession, principal: Principal, visit: Visit, rows: list[ChecklistResponse]
) -> list[dict[str, Any]]:
    """Records of a page of the visit's responses (with their missing required items), audited."""
    templates: dict[uuid.UUID, ChecklistTemplate] = {}
    out = []
    for row in rows:
        if row.template_id not in templates:
            templates[row.template_id] = await _template_of(session, row)
        out.append(response_data(row, missing_required(row, templates[row.template_id])))
    await audit.record_many(
        session,
        principal,
        "checklist_response.read",
        entity="checklist_response",
        items=[(r.id, r.household_id) for r in rows],
        details={"visit_id": str(visit.id)},
    )
    return out


async def get_response_or_404(
    session: AsyncSession,
    principal: Principal,
    visit: Visit,
    response_id: uuid.UUID,
    *,
    audited: bool = True,
    for_update: bool = False,
) -> ChecklistResponse:
    response = await session.get(ChecklistResponse, response_id, with_for_update=for_update or None)
    if response is None or response.visit_id != visit.id or response.deleted_at is not None:
        raise not_found()
    if audited:
        await audit.record(
            session,
            principal,
            "checklist_response.read",
            entity="checklist_response",
            entity_id=response.id,
            household_id=response.household_id,
            details={"visit_id": str(visit.id)},
        )
    return response


def missing_required(response: ChecklistResponse, template: ChecklistTemplate) -> list[str]:
    values = {k: a.get("value") for k, a in (response.answers or {}).items()}
    return evaluate(template.items, template.bands, values).missing_required


# --- writing -----------------------------------------------------------------------------------------------


@dataclass
class Upserted:
    response: ChecklistResponse
    merge: MergeResult
    created: bool
    missing_required: list[str]
    risk_applied: str | None = None

    def record(self) -> dict[str, Any]:
        """The response as REST and sync serve it."""
        return response_data(self.response, self.missing_required)


async def _apply_risk(session: AsyncSession, response: ChecklistResponse, level: str, at: datetime) -> None:
    from app.households.scoring import apply_assessment

    household = await session.get(Household, response.household_id)
    if household is None:
        return
    await apply_assessment(
        session,
        household,
        RiskLevel(level),
        at=at,
        source=f"checklist:{response.template_key}@{response.template_version}",
    )


async def _finish(
    session: AsyncSession,
    principal: Principal,
    response: ChecklistResponse,
    template: ChecklistTemplate,
    completed: bool | None,
    now: datetime,
) -> tuple[list[str], str | None]:
    """Score, band, required items on submission, and the household's risk (hidden items never count)."""
    values = {k: a.get("value") for k, a in (response.answers or {}).items()}
    ev = evaluate(template.items, template.bands, values)
    if response.score != ev.score:
        response.score = ev.score
    if response.band != ev.band_key:
        response.band = ev.band_key
    if response.risk_level != ev.risk_level:
        response.risk_level = ev.risk_level
    if completed is False and response.completed:
        raise Problem(409, "response-submitted", "checklists.response-submitted")
    if completed or response.completed:
        if ev.missing_required:
            raise validation_problem(
                [FieldError(f"answers.{k}", "required", "checklists.required") for k in ev.missing_required]
            )
        if not response.completed:
            response.completed = True
            response.completed_at = now
            response.completed_by_id = principal.user_id
    applied = None
    if (
        response.completed
        and response.household_id is not None
        and ev.risk_level is not None
        and ev.risk_level != response.applied_risk_level
    ):
        await _apply_risk(session, response, ev.risk_level, response.completed_at or now)
        response.applied_risk_level = ev.risk_level
        applied = ev.risk_level
    if response.completed and response.household_id is None:
        # a facility inspection: its last inspection, and an urgent finding's follow-up (app.visits.sync)
        from app.visits.sync import record_inspection

        await record_inspection(session, principal, response, now)
    return ev.missing_required, applied


async def upsert_response(
    session: AsyncSession,
    principal: Principal,
    visit_id: uuid.UUID,
    data: dict[str, Any],
    *,
    response_id: uuid.UUID | None = None,
    base_version: int | None = None,
    now: datetime | None = None,
) -> Upserted:
    """Create the visit's response for ``data["template_key"]``/``["template_version"]`` or merge into
    the existing one. ``data`` holds ``template_key``, ``template_version``, ``answers`` and optionally
    ``completed``. A response already made for that visit and template version (e.g. by a teammate's
    phone) is merged into, whatever ``response_id`` the caller chose; ``Upserted.response.id`` is the one
    that counts."""
    now = now or utcnow()
    visit = await writable_visit(session, principal, visit_id)
    key, version = data.get("template_key"), data.get("template_version")
    if not isinstance(key, str) or not isinstance(version, int) or isinstance(version, bool):
        raise validation_problem([FieldError("template_key", "missing", "field.missing")])
    if not _pinned(visit, key, version):
        raise validation_problem(
            [
                FieldError(
                    "template_key",
                    "not_pinned",
                    "checklists.template-not-pinned",
                    {"template": key, "version": version},
                )
            ]
        )
    template = await get_published_template(session, key, version)
    if template is None:
        raise validation_problem(
            [
                FieldError(
                    "template_version",
                    "unpublished",
                    "checklists.template-unpublished",
                    {"template": key, "version": version},
                )
            ]
        )
    incoming = validate_incoming(template, data.get("answers") or {})
    response = (
        await session.execute(
            select(ChecklistResponse)
            .where(
                ChecklistResponse.visit_id == visit.id,
                ChecklistResponse.template_key == key,
                ChecklistResponse.template_version == version,
            )
            .with_for_update()  # concurrent writers of one response merge one after the other (PostgreSQL)
        )
    ).scalar_one_or_none()
    created = False
    if response is None:
        if response_id is not None and await session.get(ChecklistResponse, response_id) is not None:
            raise Problem(409, "conflict", "checklists.response-mismatch")
        response = ChecklistResponse(
            id=response_id or uuid.uuid4(),
            visit_id=visit.id,
            household_id=visit.household_id,
            template_id=template.id,
            template_key=key,
            template_version=version,
            created_by_id=principal.user_id,
        )
        session.add(response)
        created = True
    elif response.deleted_at is not None:
        raise not_found()
    elif base_version is None and response_id is not None and response.id != response_id:
        # A phone that made its own response offline never saw this one (a teammate's phone made it first):
        # its base is nothing, so an item both answered differently is a conflict, not a silent overwrite.
        base_version = 0
    was_completed = response.completed
    merge = merge_answers(response, incoming, base_version, principal.user_id, now=now)
    missing, applied = await _finish(session, principal, response, template, data.get("completed"), now)
    await session.flush()
    await _audit_write(
        session, principal, response, merge, created=created, submitted=response.completed and not was_completed
    )
    return Upserted(response, merge, created, missing, applied)


async def update_response(
    session: AsyncSession,
    principal: Principal,
    response: ChecklistResponse,
    answers: Any,
    *,
    base_version: int | None,
    completed: bool | None,
    now: datetime | None = None,
) -> Upserted:
    """Merge answers into an existing response (the PATCH of REST). The caller checked the visit is
    writable (:func:`writable_visit`)."""
    now = now or utcnow()
    template = await _template_of(session, response)
    incoming = validate_incoming(template, answers or {})
    was_completed = response.completed
    merge = merge_answers(response, incoming, base_version, principal.user_id, now=now)
    missing, applied = await _finish(session, principal, response, template, completed, now)
    await session.flush()
    submitted = response.completed and not was_completed
    if merge.changed or merge.conflicts or submitted:
        await _audit_write(session, principal, response, merge, created=False, submitted=submitted)
    return Upserted(response, merge, False, missing, applied)


async def _audit_write(
    session: AsyncSession,
    principal: Principal,
    response: ChecklistResponse,
    merge: MergeResult,
    *,
    created: bool,
    submitted: bool,
) -> None:
    action = "checklist_response.create" if created else "checklist_response.update"
    await audit.record(
        session,
        principal,
        action,
        entity="checklist_response",
        entity_id=response.id,
        household_id=response.household_id,
        details={
            "visit_id": str(response.visit_id),
            "applied": len(merge.applied),
            "conflicts": len(merge.conflicts),
            "submitted": submitted,
        },
    )


async def visit_checklists_complete(session: AsyncSession, visit: Visit) -> bool:
    """Whether every template version the visit pins has a submitted response."""
    pins = set()
    for pin in visit.checklists or []:
        try:
            pins.add((str(pin.get("key")), int(pin.get("version"))))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    if not pins:
        return True
    rows = await session.execute(
        select(ChecklistResponse.template_key, ChecklistResponse.template_version).where(
            ChecklistResponse.visit_id == visit.id,
            ChecklistResponse.completed.is_(True),
            ChecklistResponse.deleted_at.is_(None),
        )
    )
    done = {(key, version) for key, version in rows}
    return pins <= done
