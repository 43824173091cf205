"""The rules of checklist templates (``docs/checklists.md``).

* Admins and coordinators create drafts (:func:`create_draft`), edit them (:func:`update_draft`) and publish
  them (:func:`publish_template`). A published (key, version) never changes: any edit answers 409.
* A key belongs to the organization that created it (its admins and coordinators make its next versions
  and see its drafts); built-in keys (shipped in ``app/checklists/templates/*.json`` and loaded by
  :func:`ensure_builtin_templates`) may be revised by public organizations (:mod:`app.access.templates`).
  Version numbers per key are never reused, and a key has at most one open draft at a time.
* Published templates are reference data: every field worker sees them. Drafts are never sent to phones
  (:func:`template_in_sync_scope`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import templates as access
from app.checklists import messages as _messages  # noqa: F401 - registers the catalogue
from app.checklists.models import ChecklistTemplate, TemplateStatus
from app.checklists.problems import published_problem, role_problem, validation_problem
from app.checklists.repository import TemplateRepository
from app.checklists.rules import validate_template
from app.checklists.schemas import TemplateCreate
from app.core.db import utcnow
from app.core.errors import Conflict, NotFound
from app.core.principal import Principal
from app.journal import audit

log = structlog.get_logger("ongi.checklists")

TEMPLATES_DIR = Path(__file__).parent / "templates"


def require_template_reader(principal: Principal) -> None:
    if not access.may_read_templates(principal):
        raise role_problem(access.TEMPLATE_READERS)


def require_template_editor(principal: Principal) -> None:
    if not access.may_edit_templates(principal):
        raise role_problem(access.TEMPLATE_EDITORS)


def template_in_sync_scope(template: ChecklistTemplate) -> bool:
    """Phones hold published templates only (drafts change and are for their editors)."""
    return template.status == TemplateStatus.published and template.deleted_at is None


def template_list_stmt(
    session: AsyncSession, principal: Principal, key: str | None = None, status: TemplateStatus | None = None
) -> Select[tuple[ChecklistTemplate]]:
    """Latest published version of each key (every published version when ``key`` is given), plus the
    drafts of the caller's organization for admins and coordinators."""
    return TemplateRepository(session).listing(access.drafts_filter(principal), key, status)


async def get_template_or_404(session: AsyncSession, principal: Principal, key: str, version: int) -> ChecklistTemplate:
    template = await TemplateRepository(session).version(key, version)
    if template is None or not access.can_see_template(principal, template):
        raise NotFound()
    return template


async def get_published_template(session: AsyncSession, key: str, version: int) -> ChecklistTemplate | None:
    """A published template version, or None (for visits pinning templates, and for responses)."""
    return await TemplateRepository(session).published(key, version)


def _dump_definition(title: Any, items: list[Any], bands: list[Any]) -> dict[str, Any]:
    def dump(model: Any) -> Any:
        return model.model_dump(mode="json", exclude_none=True) if hasattr(model, "model_dump") else model

    return {"title": dump(title), "items": [dump(i) for i in items], "bands": [dump(b) for b in bands]}


def _check_definition(definition: dict[str, Any], prefix: str = "body") -> None:
    errors = validate_template(definition["items"], definition["bands"], prefix)
    if errors:
        raise validation_problem(errors)


async def create_draft(session: AsyncSession, principal: Principal, body: TemplateCreate) -> ChecklistTemplate:
    require_template_editor(principal)
    definition = _dump_definition(body.title, body.items, body.bands)
    _check_definition(definition)
    rows = await TemplateRepository(session).of_key(body.key)
    if not access.may_manage_key(principal, rows):
        raise Conflict("conflict", "checklists.key-owned", params={"template": body.key})
    draft = next((r for r in rows if r.status == TemplateStatus.draft and r.deleted_at is None), None)
    if draft is not None:
        raise Conflict(
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
    TemplateRepository(session).add(template)
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
        raise published_problem(template)
    if not access.owns_draft(principal, template):
        raise NotFound()


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
    templates = TemplateRepository(session)
    for spec in builtin_definitions():
        row = await templates.version(spec["key"], spec["version"])
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
            templates.add(row)
        elif (row.title, row.items, row.bands) != (spec["title"], spec["items"], spec["bands"]) or not row.builtin:
            log.warning("builtin_template_differs", key=spec["key"], version=spec["version"])
        out.append(row)
    await session.flush()
    return out
