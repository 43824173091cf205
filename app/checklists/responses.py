"""The rules of checklist responses (``docs/checklists.md``).

One response per visit and pinned template version. Its ``answers`` merge per item
(:func:`app.checklists.merge.merge_answers`); the server validates values, computes visibility, score and
band (:mod:`app.checklists.rules`), checks required items when the response is submitted (``completed``),
and hands a submitted band's risk level to the household's assessment. Who reads and writes is
:mod:`app.access.checklists`.

For the sync push (``docs/sync.md``), a ``checklist_response`` ``upsert`` mutation maps onto
:func:`upsert_response` (``data`` is the mutation's data, ``response_id`` its ``id``, ``base_version`` its
``base_version``); it raises :class:`~app.core.errors.Problem` when the mutation must be rejected and
returns an :class:`Upserted` whose ``merge.conflicts`` make the push result a ``conflict`` (with
``Upserted.record()`` as the server data and :meth:`MergeResult.conflict_data` for both values).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.access import checklists as access
from app.access.policy import get_visit_or_404, is_visit_team_member, memo_of, prefetch_visit_teams, prefetch_visits
from app.checklists import messages as _messages  # noqa: F401 - registers the catalogue
from app.checklists.merge import MergeResult, as_time, merge_answers
from app.checklists.models import ChecklistResponse, ChecklistTemplate, TemplateStatus
from app.checklists.problems import role_problem, validation_problem
from app.checklists.repository import ResponseRepository, TemplateRepository
from app.checklists.rules import FieldError, evaluate, validate_value
from app.checklists.schemas import response_data
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.principal import Principal
from app.households.models import Household, RiskLevel
from app.journal import audit, bulk
from app.visits.models import Visit, VisitStatus
from app.winter.inspections import record_inspection


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
                at = as_time(at)
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


async def readable_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The visit whose checklist responses the caller may read: they see the visit, and a partner also
    has consent for its household (404 otherwise). Roles that never read responses get 403."""
    if not access.may_read_responses(principal):
        raise role_problem(access.RESPONSE_ROLES)
    visit = await get_visit_or_404(session, principal, visit_id)
    if not await access.responses_visible(session, principal, visit):
        raise NotFound()
    return visit


async def writable_visit(session: AsyncSession, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The visit whose responses the caller may write: readable, the caller on its team (403 otherwise),
    and not cancelled (409)."""
    visit = await readable_visit(session, principal, visit_id)
    if not await is_visit_team_member(session, principal, visit.id):
        raise Forbidden("checklists.not-visit-team", slug="not-visit-team")
    if visit.status == VisitStatus.cancelled:
        raise Conflict("visit-cancelled", "checklists.visit-cancelled")
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
    template = await TemplateRepository(session).get(response.template_id)
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
    response = await ResponseRepository(session).get_locked(response_id, for_update=for_update)
    if response is None or response.visit_id != visit.id or response.deleted_at is not None:
        raise NotFound()
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


async def missing_required_of(session: AsyncSession, response: ChecklistResponse) -> list[str]:
    """The required items a response still lacks, by its own template version."""
    return missing_required(response, await _template_of(session, response))


# --- a batch (the sync push) ----------------------------------------------------------------------------------
#
# A push writes many responses for one caller in one transaction (docs/sync.md#push). Within the push's memo
# (app.access.memo), :func:`prefetch_writes` loads what :func:`upsert_response` looks up for all of them in one
# query each: the visits the caller sees and their team membership (app.access), the pinned templates, the
# visits' responses and the responses of the ids the phones chose. :func:`upsert_response` reads those from
# the memo (a lookup the prefetch did not cover is queried as usual) and, while the push's batch is on
# (app.journal.bulk), leaves its writes to the batch's end: new responses and history rows to the one flush,
# changed responses to the one versioned update.


def _memo_key(visit_id: uuid.UUID, key: str, version: int) -> tuple[str, uuid.UUID, str, int]:
    return ("checklist-response", visit_id, key, version)


async def prefetch_writes(
    session: AsyncSession,
    principal: Principal,
    writes: list[tuple[uuid.UUID, str, int, uuid.UUID | None]],
) -> None:
    """Within a memo: load for every (visit id, template key, template version, response id) what its
    :func:`upsert_response` looks up."""
    memo = memo_of(session)
    if memo is None or not writes:
        return
    visit_ids = list(dict.fromkeys(w[0] for w in writes))
    await prefetch_visits(session, principal, visit_ids)
    seen = [v for v in visit_ids if memo.get(("visit", principal.user_id, v)) is not None]
    await prefetch_visit_teams(session, principal, seen)
    pairs = {(key, version) for _v, key, version, _r in writes}
    keys, versions = sorted({k for k, _ in pairs}), sorted({v for _, v in pairs})
    tpl = ChecklistTemplate
    found: dict[tuple[str, int], ChecklistTemplate] = {}
    for i in range(0, len(keys), 500):
        rows = await session.execute(
            select(tpl).where(
                col(tpl.key).in_(keys[i : i + 500]),
                col(tpl.template_version).in_(versions),
                col(tpl.status) == TemplateStatus.published,
                col(tpl.deleted_at).is_(None),
            )
        )
        found.update(((t.key, t.template_version), t) for t in rows.scalars())
    for pair in pairs:
        memo[("checklist-template", *pair)] = found.get(pair)
    response_ids = list(dict.fromkeys(w[3] for w in writes if w[3] is not None))
    by_id: dict[uuid.UUID, ChecklistResponse] = {}
    size = 250
    for i in range(0, max(len(seen), len(response_ids)), size):
        # locked, as ResponseRepository.for_template locks one: concurrent writers of a response merge in turn
        rows = await session.execute(
            select(ChecklistResponse)
            .where(
                or_(
                    col(ChecklistResponse.visit_id).in_(seen[i : i + size]),
                    col(ChecklistResponse.id).in_(response_ids[i : i + size]),
                )
            )
            .order_by(col(ChecklistResponse.id))
            .with_for_update()
        )
        for response in rows.scalars():
            by_id[response.id] = response
    for response in by_id.values():  # kept in the memo: the session holds its objects weakly
        memo[_memo_key(response.visit_id, response.template_key, response.template_version)] = response
        memo[("checklist-response-id", response.id)] = response
    for v in seen:
        memo[("checklist-responses-of", v)] = True
    for rid in response_ids:
        memo.setdefault(("checklist-response-id", rid), None)


async def _published_template(session: AsyncSession, key: str, version: int) -> ChecklistTemplate | None:
    memo = memo_of(session)
    if memo is not None and ("checklist-template", key, version) in memo:
        found: ChecklistTemplate | None = memo[("checklist-template", key, version)]
        return found
    return await TemplateRepository(session).published(key, version)


async def _response_for(session: AsyncSession, visit_id: uuid.UUID, key: str, version: int) -> ChecklistResponse | None:
    memo = memo_of(session)
    if memo is not None and memo.get(("checklist-responses-of", visit_id)):
        found: ChecklistResponse | None = memo.get(_memo_key(visit_id, key, version))
    else:
        found = await ResponseRepository(session).for_template(visit_id, key, version)
    if found is not None and found in session.new:
        # made earlier in this push and not inserted yet: now it is, so that its versions count as one by one
        await session.flush()
    return found


async def _id_taken(session: AsyncSession, response_id: uuid.UUID) -> bool:
    memo = memo_of(session)
    if memo is not None and ("checklist-response-id", response_id) in memo:
        return memo[("checklist-response-id", response_id)] is not None
    return await ResponseRepository(session).get(response_id) is not None


def _remember(session: AsyncSession, response: ChecklistResponse) -> None:
    memo = memo_of(session)
    if memo is not None:
        memo[_memo_key(response.visit_id, response.template_key, response.template_version)] = response
        memo[("checklist-response-id", response.id)] = response


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
        raise Conflict("response-submitted", "checklists.response-submitted")
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
        # a facility inspection: its last inspection, and an urgent finding's follow-up (app.winter.inspections)
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
    template = await _published_template(session, key, version)
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
    responses = ResponseRepository(session)
    response = await _response_for(session, visit.id, key, version)
    created = False
    if response is None:
        if response_id is not None and await _id_taken(session, response_id):
            raise Conflict("conflict", "checklists.response-mismatch")
        response = ChecklistResponse(
            id=response_id or uuid.uuid4(),
            visit_id=visit.id,
            household_id=visit.household_id,
            template_id=template.id,
            template_key=key,
            template_version=version,
            created_by_id=principal.user_id,
        )
        responses.add(response)
        _remember(session, response)
        created = True
    elif response.deleted_at is not None:
        raise NotFound()
    elif base_version is None and response_id is not None and response.id != response_id:
        # A phone that made its own response offline never saw this one (a teammate's phone made it first):
        # its base is nothing, so an item both answered differently is a conflict, not a silent overwrite.
        base_version = 0
    was_completed = response.completed
    merge = merge_answers(response, incoming, base_version, principal.user_id, now=now)
    missing, applied = await _finish(session, principal, response, template, data.get("completed"), now)
    if bulk.active(session) is None or not (created or bulk.absorb(session, response)):
        await session.flush()  # in a push's batch, written at its end (app.journal.bulk)
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
    return pins <= await ResponseRepository(session).submitted_versions(visit.id)
