"""Checklists on the phone (``docs/sync.md``): what a device holds, and the ``checklist_response`` ``upsert`` push.

Declared to sync once, here (:func:`sync_entities`: scope, loader, push handler).

* ``checklist_template`` — reference data: the latest published version of every key, plus every published
  version a visit on the phone pins. Drafts never reach a phone. The change envelope's ``version`` is the
  stored record's change counter (``revision`` in the data); the data's ``version`` is the template's
  version number within its key (``docs/data-model.md``). A published template never changes, so both stay put.
* ``checklist_response`` — the responses of the visits on the phone; on a partner's phone only while
  consent opens the household (a facility inspection identifies no household).
* Push: ``{"visit_id", "template_key", "template_version", "answers", "completed"?}``; answers merge per
  item (:func:`app.checklists.merge.merge_answers`). An answer without ``answered_at`` takes the
  mutation's device time. Items changed on the server since ``base_version`` keep the server's value; the
  result is then ``conflict`` with ``server``/``device`` holding both answers of those items (the phone's
  are kept in ``checklist_answer_history``). When the visit already had a response for that template
  version under another id (a teammate's phone), the answers merge into it and the result names it in
  ``response_id``. A push's upserts are looked up together (:func:`_response_prefetch`) and written at its
  end (``docs/sync.md``, "Cost").
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.checklists.models import ChecklistResponse, ChecklistTemplate, TemplateStatus
from app.checklists.responses import missing_required, prefetch_writes, upsert_response
from app.checklists.schemas import ResponsePublic, TemplatePublic, response_data, template_data
from app.visits.models import Visit

RESPONSE_FIELDS = ("visit_id", "template_key", "template_version", "answers", "completed")


# --- pull ------------------------------------------------------------------------------------------------------


async def _pinned_versions(session: AsyncSession, visit_ids: set[uuid.UUID]) -> set[tuple[str, int]]:
    pins: set[tuple[str, int]] = set()
    if not visit_ids:
        return pins
    for (checklists,) in await session.execute(select(Visit.checklists).where(Visit.id.in_(list(visit_ids)))):
        for pin in checklists or []:
            try:
                pins.add((str(pin["key"]), int(pin["version"])))
            except (KeyError, TypeError, ValueError):
                continue
    return pins


async def _template_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    tpl = ChecklistTemplate
    newer = aliased(ChecklistTemplate)
    latest = ~exists().where(
        newer.key == tpl.key,
        newer.status == TemplateStatus.published,
        newer.deleted_at.is_(None),
        newer.template_version > tpl.template_version,
    )
    pins = await _pinned_versions(session, ctx.visit_ids)
    pinned = [and_(tpl.key == key, tpl.template_version == version) for key, version in sorted(pins)]
    rows = await session.execute(
        select(tpl.id, tpl.version).where(
            tpl.status == TemplateStatus.published, tpl.deleted_at.is_(None), or_(latest, *pinned)
        )
    )
    return {tid: Item(version) for tid, version in rows}


async def _template_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = (await session.execute(select(ChecklistTemplate).where(ChecklistTemplate.id.in_(ids)))).scalars()
    return {t.id: TemplatePublic.model_validate(template_data(t)).model_dump(mode="json") for t in rows}


async def _response_scope(session: AsyncSession, ctx: Any) -> dict[uuid.UUID, Any]:
    from app.sync.scope import Item

    if not ctx.visit_ids:
        return {}
    rows = await ctx.rows(
        session,
        "checklist_response",
        select(ChecklistResponse.id, ChecklistResponse.version, ChecklistResponse.household_id).where(
            ChecklistResponse.visit_id.in_(list(ctx.visit_ids)), ChecklistResponse.deleted_at.is_(None)
        ),
        ChecklistResponse.id,
    )
    out: dict[uuid.UUID, Any] = {}
    for rid, version, household_id in rows:
        if household_id is not None and not ctx.household_open(household_id):
            continue
        out[rid] = Item(version, household_id)
    return out


async def _response_load(session: AsyncSession, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = list((await session.execute(select(ChecklistResponse).where(ChecklistResponse.id.in_(ids)))).scalars())
    template_ids = {r.template_id for r in rows}
    templates = {
        t.id: t
        for t in (
            await session.execute(select(ChecklistTemplate).where(ChecklistTemplate.id.in_(list(template_ids))))
        ).scalars()
    }
    return {
        r.id: ResponsePublic.model_validate(response_data(r, missing_required(r, templates[r.template_id]))).model_dump(
            mode="json"
        )
        for r in rows
    }


# --- push ------------------------------------------------------------------------------------------------------


async def _response_prefetch(session: AsyncSession, principal: Any, mutations: list[Any]) -> None:
    """What the push's ``upsert`` mutations will look up, in one query each (``app.checklists.responses``)."""
    writes: list[tuple[uuid.UUID, str, int, uuid.UUID | None]] = []
    for m in mutations:
        data = m.data or {}
        key, version = data.get("template_key"), data.get("template_version")
        if not isinstance(key, str) or not isinstance(version, int) or isinstance(version, bool):
            continue
        try:
            visit_id = uuid.UUID(str(data.get("visit_id")))
        except ValueError:
            continue
        writes.append((visit_id, key, version, m.id))
    await prefetch_writes(session, principal, writes)


async def _response_upsert(ctx: Any) -> Any:
    from app.sync.push import Outcome, only_fields, reject

    only_fields(ctx.data, RESPONSE_FIELDS)
    try:
        visit_id = uuid.UUID(str(ctx.data.get("visit_id")))
    except ValueError as exc:
        raise reject("sync.invalid-data", reason="visit_id") from exc
    answers = ctx.data.get("answers") or {}
    if isinstance(answers, dict) and ctx.at is not None:
        answers = {
            key: (
                {**answer, "answered_at": ctx.at}
                if isinstance(answer, dict) and not answer.get("answered_at")
                else answer
            )
            for key, answer in answers.items()
        }
    completed = ctx.data.get("completed")
    if completed is not None and not isinstance(completed, bool):
        raise reject("sync.invalid-data", reason="completed")
    done = await upsert_response(
        ctx.session,
        ctx.principal,
        visit_id,
        {**ctx.data, "answers": answers},
        response_id=ctx.id,
        base_version=ctx.base_version,
    )
    response = done.response
    extra = {"response_id": str(response.id)} if response.id != ctx.id else {}
    if done.merge.conflicts:
        return Outcome(
            "conflict",
            response.version,
            server={c.item_key: c.server for c in done.merge.conflicts},
            device={c.item_key: c.incoming for c in done.merge.conflicts},
            household_id=response.household_id,
            extra=extra,
        )
    return Outcome("applied", response.version, household_id=response.household_id, extra=extra)


# --- declaration -------------------------------------------------------------------------------------------------


def sync_entities() -> list[Any]:
    from app.sync.scope import SyncEntity

    return [
        SyncEntity(
            "checklist_template", _template_scope, _template_load, ChecklistTemplate, after=("visit",), shared=True
        ),
        SyncEntity(
            "checklist_response",
            _response_scope,
            _response_load,
            ChecklistResponse,
            after=("visit",),
            content=True,
            handlers={"upsert": _response_upsert},
            prefetch={"upsert": _response_prefetch},
        ),
    ]
