"""Merging answers into a checklist response, per item (``docs/checklists.md``, ``docs/sync.md``).

Two phones (or a phone and the web) may answer the same response offline. Each item carries the response
version that last changed it (``item_versions``); a writer names the version it started from
(``base_version``), and :func:`merge_answers` keeps the server's value for every item changed since then,
keeping the writer's in ``checklist_answer_history`` and reporting both (:class:`Conflict`). Pure: it reads
and changes the response object only, and adds its history rows to the response's session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import object_session

from app.checklists.models import ChecklistAnswerHistory, ChecklistResponse, HistoryReason
from app.core.db import utcnow
from app.core.times import rfc3339


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


def as_time(value: Any) -> datetime | None:
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

    Values must already be validated (:func:`app.checklists.responses.validate_incoming`). History rows are added to the
    response's session when it has one (and listed in the result either way). The caller recomputes the
    score afterwards (:mod:`app.checklists.responses` does all of this).
    """
    now = now or utcnow()
    state = sa_inspect(response)
    new_version = (response.version + 1) if state.has_identity else (response.version or 1)
    answers = {k: dict(v) for k, v in (response.answers or {}).items()}
    versions = dict(response.item_versions or {})
    result = MergeResult()
    for key, answer in incoming.items():
        value = answer.get("value")
        at = as_time(answer.get("answered_at")) or now
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
                    answered_at=as_time(current.get("answered_at")),
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
