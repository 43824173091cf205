"""Possible duplicates of a household (docs/api.md): the same family written twice by a crisis list, a police
referral and a neighbour's report.

A candidate is another live household the caller reaches that shares one of these with it, by the search
keys of :mod:`app.households.search`:

* ``same_phone`` — the contact phone, as domestic digits (``+82 10-…`` and ``010-…`` are the same);
* ``same_address`` — the address's core: road or lot number with building and unit (``온기로 123, 101동
  1203호`` and ``서울시 온기구 온기로123 101-1203``);
* ``same_name_birth_year`` — a member (the head included) with the same name, spacing aside, and birth year;
* ``similar_name_birth_year`` — a member whose name differs by one syllable at its start or end (a typo,
  a misheard surname) with the same birth year.

Candidates come with every reason they matched, the most reasons first. They are offered in three places:
``POST /v1/households`` answers them in ``duplicates``; imports record them with their results (call
:func:`find_duplicates` with the imported row's keys); ``GET /v1/households/{id}/duplicates`` on demand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import gates
from app.access.policy import household_filter
from app.core.db import among
from app.core.deps import SessionDep, StateDep
from app.core.principal import Principal
from app.households.lookup import readable_household
from app.households.models import Household, HouseholdSearchKey
from app.households.schemas import HouseholdPublic
from app.households.search import household_keys, similar_keys

Reason = Literal["same_phone", "same_address", "same_name_birth_year", "similar_name_birth_year"]
REASON_ORDER: tuple[Reason, ...] = ("same_phone", "same_address", "same_name_birth_year", "similar_name_birth_year")
#: A phone number shorter than this (digits) is too partial to call two households the same.
MIN_PHONE = 9


@dataclass
class Candidate:
    household_id: uuid.UUID
    reasons: list[Reason] = field(default_factory=list)


class DuplicateOut(BaseModel):
    household: HouseholdPublic
    reasons: list[Reason] = Field(description="Why it may be the same household (most telling first)")


class DuplicatesOut(BaseModel):
    items: list[DuplicateOut]


class HouseholdCreated(HouseholdPublic):
    """``POST /v1/households``: the new household, and the households it may duplicate."""

    duplicates: list[DuplicateOut] = Field(
        default_factory=list, description="Households the caller reaches that may be the same one, with why"
    )


def _one_apart(a: str, b: str) -> bool:
    """Same length, one syllable different, at the start or the end."""
    return len(a) == len(b) >= 2 and a != b and (a[1:] == b[1:] or a[:-1] == b[:-1])


@dataclass
class _Target:
    phone: str | None
    cores: set[str]
    people: list[tuple[str, str]]  # (name, birth year)
    exclude: set[uuid.UUID]
    found: dict[uuid.UUID, set[Reason]] = field(default_factory=dict)


def _target(keys: set[tuple[str, str]], exclude: Iterable[uuid.UUID]) -> _Target:
    """The phone (its longest suffix key), address cores and (name, birth year) of these keys, in one pass."""
    phone: str | None = None
    cores: set[str] = set()
    people: list[tuple[str, str]] = []
    for kind, key in keys:
        if kind == "nb":
            name, _, year = key.rpartition("|")
            people.append((name, year))
        elif kind == "x":
            cores.add(key)
        elif kind == "p" and len(key) >= MIN_PHONE and (phone is None or len(key) > len(phone)):
            phone = key
    return _Target(phone=phone, cores=cores, people=people, exclude=set(exclude))


async def find_duplicates_many(
    session: AsyncSession,
    principal: Principal,
    targets: Sequence[tuple[set[tuple[str, str]], Iterable[uuid.UUID]]],
    *,
    limit: int = 20,
) -> list[list[Candidate]]:
    """:func:`find_duplicates` for many targets at once (a batch of imported rows): each target is its search
    keys and the ids it must not match (itself); a few queries for the whole batch, whatever its size."""
    wanted = [_target(keys, exclude) for keys, exclude in targets]
    by_phone: dict[str, list[_Target]] = {}
    by_core: dict[str, list[_Target]] = {}
    by_year: dict[str, list[tuple[_Target, str]]] = {}
    for t in wanted:
        if t.phone:
            by_phone.setdefault(t.phone, []).append(t)
        for core in t.cores:
            by_core.setdefault(core, []).append(t)
        for name, year in t.people:
            by_year.setdefault(year, []).append((t, name))
    table = HouseholdSearchKey.__table__
    columns = (table.c.household_id, table.c.kind, table.c.key)
    # the same name and birth year, and a name one syllable apart at its start or end with the same birth year:
    # the households holding one of the ``ns`` keys the targets' names have (app.households.search.similar_keys),
    # each with all its names and birth years (``nb``), which the rules below tell apart — exact lookups, so a
    # batch reads what its own names match, however large the table; names of one syllable have no ``ns`` key
    # and are looked up as they are
    short = sorted({f"{name}|{year}" for t in wanted for name, year in t.people if len(name) < 2})
    patterns = sorted({near for t in wanted for name, year in t.people for near in similar_keys(f"{name}|{year}")})
    dialect = session.get_bind().dialect.name
    statements = []
    for cond in _key_in(table.c.key, sorted(by_phone), dialect):
        statements.append(select(*columns).where(table.c.kind == "p", cond))
    for cond in _key_in(table.c.key, sorted(by_core), dialect):
        statements.append(select(*columns).where(table.c.kind == "x", cond))
    for cond in _key_in(table.c.key, short, dialect):
        statements.append(select(*columns).where(table.c.kind == "nb", cond))
    held = table.alias("ns")
    for cond in _key_in(held.c.key, patterns, dialect):
        holders = select(held.c.household_id).where(held.c.kind == "ns", cond)
        statements.append(select(*columns).where(table.c.kind == "nb", table.c.household_id.in_(holders)))
    rows: set[tuple[uuid.UUID, str, str]] = set()
    # the targets by what a row must share with them (not every target of a birth year per row)
    exact: dict[tuple[str, str], list[_Target]] = {}
    near: dict[tuple[str, int, str, str], list[tuple[_Target, str]]] = {}
    for year, pairs in by_year.items():
        for t, want in pairs:
            exact.setdefault((year, want), []).append(t)
            if len(want) >= 2:
                near.setdefault((year, len(want), "r", want[1:]), []).append((t, want))
                near.setdefault((year, len(want), "s", want[:-1]), []).append((t, want))
    for stmt in statements:
        rows |= {(hid, kind, key) for hid, kind, key in await session.execute(stmt)}
    for hid, kind, key in rows:
        if kind == "p":
            for t in by_phone.get(key, ()):
                t.found.setdefault(hid, set()).add("same_phone")
        elif kind == "x":
            for t in by_core.get(key, ()):
                t.found.setdefault(hid, set()).add("same_address")
        elif kind == "nb":
            name, _, year = key.rpartition("|")
            for t in exact.get((year, name), ()):
                t.found.setdefault(hid, set()).add("same_name_birth_year")
            if len(name) < 2:
                continue
            # _one_apart(name, want): the same length, the same rest or the same stem, not the same name
            similar = [
                *near.get((year, len(name), "r", name[1:]), ()),
                *near.get((year, len(name), "s", name[:-1]), ()),
            ]
            for t, want in similar:
                if want != name:
                    t.found.setdefault(hid, set()).add("similar_name_birth_year")
    for t in wanted:
        for hid in t.exclude:
            t.found.pop(hid, None)
    every = sorted({hid for t in wanted for hid in t.found}, key=str)
    reachable: set[uuid.UUID] = set()
    if every:
        access = await household_filter(session, principal)
        for chunk in _chunks(every):
            stmt = select(Household.id).where(Household.id.in_(chunk), access)
            reachable |= set((await session.execute(stmt)).scalars())
    out = []
    for t in wanted:
        candidates = [
            Candidate(hid, [r for r in REASON_ORDER if r in reasons])
            for hid, reasons in t.found.items()
            if hid in reachable
        ]
        candidates.sort(key=lambda c: (-len(c.reasons), REASON_ORDER.index(c.reasons[0]), str(c.household_id)))
        out.append(candidates[:limit])
    return out


def _key_in(column: Any, keys: list[str], dialect: str) -> list[ColumnElement[bool]]:
    """``column`` among ``keys`` (:func:`app.core.db.among`): on PostgreSQL one array parameter, elsewhere IN
    lists of 500."""
    if not keys:
        return []
    chunked = [keys] if dialect == "postgresql" else _chunks(keys)
    return [among(dialect, column, chunk) for chunk in chunked]


def _chunks(values: Sequence[Any], size: int = 500) -> list[list[Any]]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)]


async def find_duplicates(
    session: AsyncSession,
    principal: Principal,
    keys: set[tuple[str, str]],
    *,
    exclude: Iterable[uuid.UUID] = (),
    limit: int = 20,
) -> list[Candidate]:
    """Live households the caller reaches that may be the one with these search keys
    (:func:`app.households.search.household_keys` of a row or an import's target), with their reasons."""
    return (await find_duplicates_many(session, principal, [(keys, exclude)], limit=limit))[0]


async def duplicates_of(session: AsyncSession, principal: Principal, household: Household) -> list[Candidate]:
    return await find_duplicates(session, principal, household_keys(household), exclude=[household.id])


async def duplicate_views(
    session: AsyncSession, principal: Principal, state: Any, candidates: list[Candidate], *, via: str
) -> list[DuplicateOut]:
    """Candidates as the caller may see them (redacted by role, each read audited)."""
    from app.households.views import audited_views

    if not candidates:
        return []
    rows = {
        h.id: h
        for h in (
            await session.execute(select(Household).where(Household.id.in_([c.household_id for c in candidates])))
        ).scalars()
    }
    households = [rows[c.household_id] for c in candidates if c.household_id in rows]
    views = {v.id: v for v in await audited_views(session, principal, households, security=state.security, via=via)}
    return [
        DuplicateOut(household=views[c.household_id], reasons=c.reasons) for c in candidates if c.household_id in views
    ]


# --- route -----------------------------------------------------------------------------------------------------

router = APIRouter(tags=["households"])


@router.get(
    "/v1/households/{household_id}/duplicates",
    response_model=DuplicatesOut,
    summary="Households that may be this one (same phone, same address and unit, same or similar name and birth year)",
    responses={
        404: {"description": "No such household, or not one the caller may see"},
        410: {"description": "The household was merged into another (`merged_into`)"},
    },
)
async def list_duplicates(
    household_id: uuid.UUID, principal: gates.PublicStaff, state: StateDep, session: SessionDep
) -> DuplicatesOut:
    household = await readable_household(session, principal, household_id)
    candidates = await duplicates_of(session, principal, household)
    return DuplicatesOut(items=await duplicate_views(session, principal, state, candidates, via="duplicates"))
