"""What an admin reaches of the audit trail and of the destruction records (``app.audit``, ``app.lifecycle``;
``docs/access.md``).

An admin sees the audit events of the organizations they manage (their own, and for an admin of a public
organization the private organizations working in its jurisdiction: ``app.people.service.manageable_orgs``),
and the destruction records of their jurisdiction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement
from sqlmodel import col

from app.access.policy import codes_clause
from app.audit.models import AuditEvent
from app.core.principal import Principal
from app.lifecycle.models import DestructionRecord


def audit_event_filter(org_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """The audit events of ``org_ids`` (the organizations the admin manages)."""
    return col(AuditEvent.organization_id).in_(list(org_ids))


def destruction_filter(principal: Principal) -> ColumnElement[bool]:
    """The destruction records of the caller's jurisdiction."""
    return codes_clause(DestructionRecord.dong_code, principal.jurisdiction)
