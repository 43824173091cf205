"""Merging two records of one household, and undoing it within 30 days (docs/data-model.md).

``POST /v1/households/{id}/merge`` ``{"into": survivor}`` moves everything that hangs on the merged-away
household to the survivor, in the request's one transaction: every row of every table whose
``household_id`` references a household (signals, visits, notes, consents, supports, cases, monitoring
plans, checklist responses, photos, reports, import records, contact attempts, tasks, … — found from the
tables themselves, so tables added later move too), with the row's ``dong_code`` where it has one. Each
moved row is written through the ORM, so its version grows and phones get it again with its new household
(:mod:`app.journal.changes`). The survivor fills what it lacks from the other (contact phone, address detail,
living situation, coordinator), gains its members that it does not have (same name and birth year) and its
tags, and has its risk recomputed over the joined signals. The merged-away household is deleted (a
tombstone: phones holding it are told to purge it) with ``merged_into_id``, and closed (so that what it still
holds is destroyed after the retention of closed households); from then on it answers ``410``
with a problem of type ``…/problems/household-merged`` naming ``merged_into`` (the final survivor).

Encrypted sensitive fields are sealed again to the survivor (their encryption context names the household and
the member), each member's under the key the member has in the survivor. What stays with the merged-away
record: a sensitive field the survivor has already, and a row that would collide with one of the survivor's
under a unique rule (the same alert's task for both). The merge
record says exactly which rows moved (table, id, the values before and after) and what stayed.

``POST /v1/households/{id}/unmerge`` (the merged-away id), until ``unmerge_until`` (30 days), restores
both: the merged-away household is live again, every moved row that still belongs to the survivor goes
back with its old values, and each survivor field the merge filled returns to what it was if nobody changed
it since. Rows written on the survivor after the merge stay there.

Coordinators (and admins) merge households within their jurisdiction; both households must be reachable.
Events ``household.merged`` and ``household.unmerged`` (ids only); audited on both households.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel.main import default_registry

from app.access import households as access
from app.access.policy import get_household_or_404, merged_problem
from app.core.db import utcnow
from app.core.errors import Conflict, field_problem, not_found
from app.core.principal import Principal
from app.core.security import Security
from app.households.matching import security_or_default
from app.households.models import Household, HouseholdMerge, HouseholdSensitive, HouseholdStatus
from app.households.repository import HouseholdRepository
from app.households.schemas import MergePublic, MergeRequest, UnmergeRequest
from app.households.scoring import recompute
from app.households.search import compact
from app.households.sensitive import sensitive_context
from app.journal import audit
from app.journal.outbox import emit

UNMERGE_WINDOW = timedelta(days=30)
#: Tables that never move: the household itself, its sealed fields, what is derived from it, and logs.
NOT_MOVED = frozenset({"household", "household_sensitive", "household_search_key", "household_merge"})
#: Survivor fields filled from the merged-away household when the survivor has none.
FILLED = ("contact_phone", "address_detail", "living_situation", "coordinator_id")


# --- the record -------------------------------------------------------------------------------------------------


def merge_public(record: HouseholdMerge) -> MergePublic:
    moved: dict[str, int] = {}
    for entry in record.moved or []:
        moved[entry["table"]] = moved.get(entry["table"], 0) + 1
    return MergePublic(
        id=record.id,
        household_id=record.household_id,
        into=record.into_id,
        merged_at=record.merged_at,
        unmerge_until=record.unmerge_until,
        unmerged_at=record.unmerged_at,
        moved=moved,
        kept={table: len(ids) for table, ids in (record.kept or {}).items()},
    )


# --- what moves ------------------------------------------------------------------------------------------------


def movable_models() -> list[Any]:
    """Every mapped table with a ``household_id`` that references a household (or a synced one with a
    ``household_id``), except :data:`NOT_MOVED`."""
    out = []
    for mapper in default_registry.mappers:
        cls, table = mapper.class_, mapper.local_table
        name = getattr(table, "name", None)
        if name is None or name in NOT_MOVED or "household_id" not in table.c or "id" not in table.c:
            continue
        column = table.c.household_id
        if any(fk.column.table.name == "household" for fk in column.foreign_keys) or getattr(
            cls, "__sync_entity__", None
        ):
            out.append(cls)
    return sorted(out, key=lambda c: c.__table__.name)


def _model_of(table_name: str) -> Any:
    for mapper in default_registry.mappers:
        if getattr(mapper.local_table, "name", None) == table_name:
            return mapper.class_
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _unique_groups(cls: Any) -> list[list[str]]:
    """The other columns of each unique rule that includes ``household_id``."""
    groups = []
    for constraint in cls.__table__.constraints:
        if isinstance(constraint, UniqueConstraint):
            names = [c.name for c in constraint.columns]
            if "household_id" in names:
                groups.append([n for n in names if n != "household_id"])
    return groups


# --- loading ---------------------------------------------------------------------------------------------------


async def _reachable(session: AsyncSession, principal: Principal, household_id: uuid.UUID) -> Household:
    """The live household for a merge: through the access policy for coordinators; an admin's by jurisdiction
    (admins never read households' data; they get ids and counts back)."""
    if not access.merges_by_area(principal):
        return await get_household_or_404(session, principal, household_id)
    household = await session.get(Household, household_id)
    if household is None or not access.may_merge_in(principal, household.dong_code):
        raise not_found()
    if household.deleted_at is not None:
        if household.merged_into_id is not None:
            raise await merged_problem(session, household)
        raise not_found()
    return household


# --- merge -----------------------------------------------------------------------------------------------------


def _merge_members(survivor: Household, other: Household) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The survivor's members with the other's it lacks (same name and birth year: the same person), and where
    each of the other's member keys went."""
    members = [dict(m) for m in survivor.members or []]
    have = {(compact(str(m.get("name") or "")), m.get("birth_year")): str(m.get("key")) for m in members}
    taken = set(have.values())
    keys: dict[str, str] = {}
    n = 1
    for m in other.members or []:
        old = str(m.get("key") or "")
        same = have.get((compact(str(m.get("name") or "")), m.get("birth_year")))
        if same is not None:
            keys[old] = same
            continue
        key = old
        if not key or key in taken:
            while f"m{n}" in taken:
                n += 1
            key = f"m{n}"
        taken.add(key)
        keys[old] = key
        members.append({**m, "key": key, "relation": m.get("relation") if m.get("relation") != "head" else "other"})
    return members, keys


async def _move_sensitive(
    session: AsyncSession, security: Security, other: Household, survivor: Household, keys: dict[str, str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The other's encrypted fields, sealed again to the survivor (their context names the household and member),
    unless the survivor has that field already: (moved entries, ids kept with the other)."""
    repository = HouseholdRepository(session)
    have = {(r.member_key, r.kind) for r in await repository.sensitive_rows([survivor.id])}
    moved: list[dict[str, Any]] = []
    kept: list[str] = []
    for row in await repository.sensitive_rows([other.id]):
        member = keys.get(row.member_key) if row.member_key else ""
        if member is None or (member, row.kind) in have:
            kept.append(str(row.id))
            continue
        plain = security.decrypt(row.ciphertext, context=sensitive_context(row.kind, other.id, row.member_key))
        sealed = security.encrypt(plain, context=sensitive_context(row.kind, survivor.id, member))
        moved.append(
            {
                "table": HouseholdSensitive.__tablename__,
                "id": str(row.id),
                "from": {"household_id": str(other.id), "member_key": row.member_key, "ciphertext": row.ciphertext},
                "to": {"household_id": str(survivor.id), "member_key": member, "ciphertext": sealed},
            }
        )
        row.household_id, row.member_key, row.ciphertext = survivor.id, member, sealed
        have.add((member, row.kind))
    return moved, kept


async def _after_move(session: AsyncSession, households: list[Household], state: Any) -> None:
    """Rows moved between these households: each domain that keeps something derived from its rows updates it
    (its ``merging`` module, :func:`app.registry.extensions`; contact attempts: the reachability). Without the
    app's state (a tool calling the merge) nothing follows."""
    if state is None:
        return
    from app import registry

    for module in registry.extensions("merging"):
        await module.after_move(session, households, state)


async def merge(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID,
    body: MergeRequest,
    *,
    security: Security | None = None,
    state: Any = None,
) -> HouseholdMerge:
    if body.into == household_id:
        raise field_problem("body.into", "households.merge-self")
    other = await _reachable(session, principal, household_id)
    survivor = await _reachable(session, principal, body.into)
    if other.destroyed_at is not None or survivor.destroyed_at is not None:
        raise Conflict("household-destroyed", "households.merge-destroyed")
    now = utcnow()
    repository = HouseholdRepository(session)
    moved: list[dict[str, Any]] = []
    kept: dict[str, list[str]] = {}
    for cls in movable_models():
        rows = await repository.rows_of(cls, other.id)
        if not rows:
            continue
        groups = _unique_groups(cls)
        taken: set[tuple[Any, ...]] = set()
        if groups:
            for row in await repository.rows_of(cls, survivor.id):
                taken |= {(i, *(getattr(row, n) for n in g)) for i, g in enumerate(groups)}
        name = cls.__table__.name
        for row in rows:
            if any((i, *(getattr(row, n) for n in g)) in taken for i, g in enumerate(groups)):
                kept.setdefault(name, []).append(str(row.id))
                continue
            before: dict[str, Any] = {"household_id": str(other.id)}
            after: dict[str, Any] = {"household_id": str(survivor.id)}
            row.household_id = survivor.id
            if "dong_code" in cls.__table__.c and getattr(row, "dong_code", None) not in (None, survivor.dong_code):
                before["dong_code"], after["dong_code"] = row.dong_code, survivor.dong_code
                row.dong_code = survivor.dong_code
            moved.append({"table": name, "id": str(row.id), "from": before, "to": after})
    fields: dict[str, Any] = {}
    for name in FILLED:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if not mine and theirs:
            fields[name] = {"before": _plain(mine), "after": _plain(theirs)}
            setattr(survivor, name, theirs)
    members, member_keys = _merge_members(survivor, other)
    sealed, sealed_kept = await _move_sensitive(session, security_or_default(security), other, survivor, member_keys)
    moved += sealed
    if sealed_kept:
        kept[HouseholdSensitive.__tablename__] = sealed_kept
    if members != list(survivor.members or []):
        fields["members"] = {"before": list(survivor.members or []), "after": members}
        survivor.members = members
    tags = [*(survivor.tags or []), *[t for t in other.tags or [] if t not in (survivor.tags or [])]]
    if tags != list(survivor.tags or []):
        fields["tags"] = {"before": list(survivor.tags or []), "after": tags}
        survivor.tags = tags
    survivor.updated_at = now

    other.deleted_at = now
    other.merged_into_id = survivor.id
    # Closed, so that its own personal data (and what stayed with it) is destroyed after the retention period
    # of closed households like any other's (app.lifecycle), unless an unmerge brings it back first.
    other_fields: dict[str, Any] = {}
    if other.status != HouseholdStatus.closed:
        other_fields = {
            "status": {"before": other.status.value, "after": HouseholdStatus.closed.value},
            "status_changed_at": {"before": _plain(other.status_changed_at), "after": now.isoformat()},
        }
        other.status = HouseholdStatus.closed
        other.status_changed_at = now
    record = HouseholdMerge(
        household_id=other.id,
        into_id=survivor.id,
        merged_by_id=principal.user_id,
        merged_at=now,
        unmerge_until=now + UNMERGE_WINDOW,
        reason=body.reason,
        moved=moved,
        survivor_fields=fields,
        kept=kept,
        other_fields=other_fields,
    )
    session.add(record)
    await recompute(session, survivor, reason="merge")
    await _after_move(session, [survivor], state)
    await session.flush()
    counts = merge_public(record)
    payload = {"household_id": str(other.id), "into": str(survivor.id), "merge_id": str(record.id)}
    emit(session, "household.merged", payload, household_id=survivor.id, district_code=survivor.district_code)
    for hid in (other.id, survivor.id):
        await audit.record(
            session,
            principal,
            "household.merge",
            entity="household_merge",
            entity_id=record.id,
            household_id=hid,
            purpose=body.reason,
            details={"household_id": str(other.id), "into": str(survivor.id), "moved": counts.moved},
        )
    return record


# --- unmerge ---------------------------------------------------------------------------------------------------


async def unmerge(
    session: AsyncSession,
    principal: Principal,
    household_id: uuid.UUID,
    body: UnmergeRequest,
    *,
    state: Any = None,
) -> HouseholdMerge:
    other = await session.get(Household, household_id)
    if other is None or other.merged_into_id is None or other.deleted_at is None:
        raise not_found()
    record = await HouseholdRepository(session).open_merge_of(other.id)
    if record is None:
        raise not_found()
    survivor = await session.get(Household, record.into_id)
    if survivor is None:
        raise not_found()
    # Both must lie where the caller may merge (the survivor through the policy, the other by its dong).
    if not access.may_merge_in(principal, other.dong_code):
        raise not_found()
    if survivor.deleted_at is not None and survivor.merged_into_id is not None:
        raise Conflict(
            "survivor-merged",
            "households.unmerge-survivor-merged",
            extra={"merged_into": str(survivor.merged_into_id)},
        )
    survivor = await _reachable(session, principal, survivor.id)
    if other.destroyed_at is not None:
        raise Conflict("household-destroyed", "households.merge-destroyed")
    now = utcnow()
    if now > record.unmerge_until:
        raise Conflict(
            "unmerge-expired",
            "households.unmerge-expired",
            extra={"unmerge_until": record.unmerge_until.isoformat()},
        )

    by_table: dict[str, list[dict[str, Any]]] = {}
    for entry in record.moved or []:
        by_table.setdefault(entry["table"], []).append(entry)
    stayed = 0
    for table_name, entries in by_table.items():
        cls = _model_of(table_name)
        if cls is None:
            stayed += len(entries)
            continue
        ids = [uuid.UUID(e["id"]) for e in entries]
        rows = {r.id: r for r in await HouseholdRepository(session).rows_by_id(cls, ids)}
        for entry in entries:
            row = rows.get(uuid.UUID(entry["id"]))
            if row is None or row.household_id != survivor.id:
                stayed += 1
                continue
            row.household_id = other.id
            for name, before in entry["from"].items():
                if name != "household_id" and _plain(getattr(row, name, None)) == entry["to"].get(name):
                    setattr(row, name, before)
    for name, change in (record.survivor_fields or {}).items():
        if _plain(getattr(survivor, name)) == change["after"]:
            value = change["before"]
            if name == "coordinator_id" and value is not None:
                value = uuid.UUID(value)
            setattr(survivor, name, value)
    survivor.updated_at = now
    other.deleted_at = None
    other.merged_into_id = None
    other.updated_at = now
    status = (record.other_fields or {}).get("status")
    if status is not None and other.status == HouseholdStatus.closed:
        other.status = HouseholdStatus(status["before"])
        before = record.other_fields["status_changed_at"]["before"]
        other.status_changed_at = datetime.fromisoformat(before) if before else None
    record.unmerged_at = now
    record.unmerged_by_id = principal.user_id
    await recompute(session, survivor, reason="unmerge")
    await recompute(session, other, reason="unmerge")
    await _after_move(session, [survivor, other], state)
    await session.flush()
    payload = {"household_id": str(other.id), "from": str(survivor.id), "merge_id": str(record.id)}
    emit(session, "household.unmerged", payload, household_id=other.id, district_code=other.district_code)
    for hid in (other.id, survivor.id):
        await audit.record(
            session,
            principal,
            "household.unmerge",
            entity="household_merge",
            entity_id=record.id,
            household_id=hid,
            purpose=body.reason,
            details={"household_id": str(other.id), "from": str(survivor.id), "stayed": stayed},
        )
    return record
