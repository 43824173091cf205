"""Who reads and edits checklist templates (``docs/access.md``).

* Every role in the field reads the published templates (reference data); admins and coordinators also
  see the drafts of their own organization, and edit them.
* A key belongs to the organization that created it: its admins and coordinators make the key's next
  versions. A built-in key (shipped with the service, no owner) may be revised by public organizations.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, false
from sqlmodel import col

from app.checklists.models import ChecklistTemplate, TemplateStatus
from app.core.principal import OrgKind, Principal, Role

TEMPLATE_READERS = (Role.admin, Role.coordinator, Role.planner, Role.partner)
TEMPLATE_EDITORS = (Role.admin, Role.coordinator)


def may_read_templates(principal: Principal) -> bool:
    return principal.role in TEMPLATE_READERS


def may_edit_templates(principal: Principal) -> bool:
    return principal.role in TEMPLATE_EDITORS


def can_see_template(principal: Principal, template: ChecklistTemplate) -> bool:
    """A published template to every reader; a draft to the editors of its organization."""
    if template.deleted_at is not None or not may_read_templates(principal):
        return False
    if template.status == TemplateStatus.published:
        return True
    return may_edit_templates(principal) and template.owner_organization_id == principal.organization_id


def drafts_filter(principal: Principal) -> ColumnElement[bool]:
    """SQL condition for the drafts the caller sees in lists: their organization's, for editors."""
    if not may_edit_templates(principal):
        return false()
    return and_(
        col(ChecklistTemplate.status) == TemplateStatus.draft,
        col(ChecklistTemplate.owner_organization_id) == principal.organization_id,
    )


def owns_draft(principal: Principal, template: ChecklistTemplate) -> bool:
    """A draft is edited by its own organization only (anyone else: 404)."""
    return template.owner_organization_id == principal.organization_id


def may_manage_key(principal: Principal, rows: Sequence[ChecklistTemplate]) -> bool:
    """Whether the caller's organization may make the next version of a key (``rows``: its versions, newest
    first): a new key, one their organization owns, or a built-in key for a public organization."""
    live = [r for r in rows if r.deleted_at is None]
    if not live:
        return True
    owner = live[0].owner_organization_id
    if owner is None:
        return principal.org_kind == OrgKind.public
    return owner == principal.organization_id
