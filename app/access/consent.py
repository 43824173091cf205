"""Consent: whether a household's consent is in force and covers an organization's purpose (``docs/access.md``).

A partner's household access needs an active assignment *and* a consent record that is given, in force, not
withdrawn, addressed to their organization (or to all partners) and covering the purpose of that assignment
(the visit's purpose, or ``case_management`` for a case). Consents are read on every request, so a withdrawal
cuts access at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app.households.models import Consent


def consent_in_force(consent: Consent, at: datetime) -> bool:
    return (
        consent.status == "given"
        and consent.withdrawn_at is None
        and consent.valid_from <= at
        and (consent.valid_until is None or consent.valid_until > at)
    )


def consent_covers(consent: Consent, organization_id: uuid.UUID, purpose: str, at: datetime) -> bool:
    return (
        consent_in_force(consent, at)
        and (consent.recipient_kind == "all_partners" or consent.recipient_organization_id == organization_id)
        and purpose in (consent.purposes or [])
    )
