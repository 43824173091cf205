"""A household's sensitive fields, sealed at rest, and the audited reveal of registration numbers
(``docs/access.md``, sensitive fields).

Each value is encrypted in ``household_sensitive`` under a context naming its kind, household and member
(:func:`sensitive_context`), so a ciphertext moved to another row does not decrypt; registration numbers also
get a blind index. Who may read which kind is :func:`app.access.policy.sensitive_kinds_visible` (ordinary
responses, applied by :mod:`app.households.views`) and :func:`~app.access.policy.may_reveal_rrn` (the reveal).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import policy
from app.core.db import utcnow
from app.core.errors import FieldInvalid, Forbidden
from app.core.principal import Principal
from app.core.security import Security
from app.households.models import Household, HouseholdSensitive
from app.households.repository import HouseholdRepository
from app.households.schemas import RevealedMember, RevealRequest, RevealResult, SensitiveInput, SensitivePublic
from app.journal import audit

SENSITIVE_TEXT_KINDS = ("income", "benefit_history", "health_notes")
RRN_INDEX_CONTEXT = "household_sensitive:rrn"


def sensitive_context(kind: str, household_id: uuid.UUID, member_key: str) -> str:
    """The encryption context of one sealed value: its kind, household and member ("" for the household's own)."""
    return f"household_sensitive:{kind}:{household_id}:{member_key}"


async def apply_sensitive(
    session: AsyncSession, security: Security, household: Household, sens: SensitiveInput
) -> None:
    """Seal what ``sens`` gives (``null`` removes a value; an absent text field stays as it is)."""
    keys = {str(m.get("key")) for m in household.members or []}
    errors = [
        (f"body.sensitive.members.{i}.key", "households.unknown-member", {"member": m.key})
        for i, m in enumerate(sens.members)
        if m.key not in keys
    ]
    if errors:
        raise FieldInvalid(errors)
    existing = {
        (row.member_key, row.kind): row for row in await HouseholdRepository(session).sensitive_rows([household.id])
    }
    wanted: list[tuple[str, str, str | None]] = [("rrn", m.key, m.rrn) for m in sens.members]
    wanted += [(kind, "", getattr(sens, kind)) for kind in SENSITIVE_TEXT_KINDS if kind in sens.model_fields_set]
    for kind, member_key, value in wanted:
        row = existing.get((member_key, kind))
        if value is None:
            if row is not None:
                await session.delete(row)
            continue
        ciphertext = security.encrypt(value, context=sensitive_context(kind, household.id, member_key))
        index = security.blind_index(value, context=RRN_INDEX_CONTEXT) if kind == "rrn" else None
        if row is None:
            session.add(
                HouseholdSensitive(
                    household_id=household.id,
                    member_key=member_key,
                    kind=kind,
                    ciphertext=ciphertext,
                    blind_index=index,
                )
            )
        else:
            row.ciphertext = ciphertext
            row.blind_index = index
    await session.flush()


async def drop_departed_members(session: AsyncSession, household: Household) -> None:
    """The sealed values of members no longer in the household go with them."""
    keys = {str(m["key"]) for m in household.members}
    for row in await HouseholdRepository(session).sensitive_rows([household.id], members_only=True):
        if row.member_key not in keys:
            await session.delete(row)


async def visible_sensitive(
    session: AsyncSession, security: Security, household_ids: list[uuid.UUID], kinds: frozenset[str]
) -> dict[uuid.UUID, SensitivePublic]:
    """The sealed fields of these households a caller may read (``kinds``), decrypted; registration numbers
    only as the member keys that have one."""
    out: dict[uuid.UUID, SensitivePublic] = {}
    for row in await HouseholdRepository(session).sensitive_rows(household_ids):
        view = out.setdefault(row.household_id, SensitivePublic())
        if row.kind == "rrn":
            view.rrn_on_file.append(row.member_key)
        elif row.kind in kinds:
            value = security.decrypt(row.ciphertext, context=sensitive_context(row.kind, row.household_id, ""))
            setattr(view, row.kind, value)
    return out


async def reveal(
    session: AsyncSession, principal: Principal, security: Security, household: Household, body: RevealRequest
) -> RevealResult:
    """Decrypt members' registration numbers for a coordinator, audited with the reason as purpose."""
    if not policy.may_reveal_rrn(principal):
        raise Forbidden("detail.role-forbidden", params={"roles": "coordinator"})
    names = {str(m.get("key")): m.get("name") for m in household.members or []}
    wanted = list(dict.fromkeys(body.member_keys)) if body.member_keys is not None else list(names)
    errors = [
        (f"body.member_keys.{i}", "households.unknown-member", {"member": k})
        for i, k in enumerate(wanted)
        if k not in names
    ]
    if errors:
        raise FieldInvalid(errors)
    rows = {
        row.member_key: row for row in await HouseholdRepository(session).sensitive_rows([household.id], kind="rrn")
    }
    members = []
    for key in wanted:
        row = rows.get(key)
        rrn = (
            security.decrypt(row.ciphertext, context=sensitive_context("rrn", household.id, key))
            if row is not None
            else None
        )
        members.append(RevealedMember(key=key, name=str(names[key]) if names[key] else None, rrn=rrn))
    now = utcnow()
    await audit.record(
        session,
        principal,
        "household.reveal",
        entity="household",
        entity_id=household.id,
        household_id=household.id,
        purpose=body.reason,
        details={"members": len(members), "revealed": sum(1 for m in members if m.rrn is not None)},
    )
    return RevealResult(household_id=household.id, members=members, revealed_at=now)
