"""Korean-aware search keys of households (docs/api.md, docs/performance.md): names, phone numbers and
addresses, normalized once when a household is written, so that ``POST /v1/households/search`` and duplicate
detection compare keys instead of scanning text.

Normalization (:func:`normalize`)
    NFKC (full-width digits and letters, Hangul sent as separate jamo), lower case, every kind of dash as
    ``-``, ``지하`` as ``b`` (``지하 1층 B01호`` and ``B1층 b01호`` are the same unit), ``번지`` dropped, city
    and province names in one form (``서울특별시``, ``서울시`` and ``서울`` are ``서울``).

Keys (:func:`search_keys`), one row each in ``household_search_key`` (kind, key):

* ``n`` — the head's and every member's name without spaces or punctuation, and each of its suffixes of two
  characters or more (``김온기`` → ``김온기``, ``온기``): a search for the given name finds the household.
* ``nb`` — ``name|birth year`` of each member who has one (duplicates).
* ``ns`` — each ``nb`` key with the first or the last syllable of the name as ``*`` (``김온기|1950`` →
  ``김온*|1950``, ``*온기|1950``; :func:`similar_keys`): the names one syllable apart with the same birth year
  share one, so duplicates find them with an exact lookup. ``*`` is in no search term, and what precedes it
  begins the name's ``n`` key: these keys make no search match that did not.
* ``p`` — the contact phone as domestic digits (``+82 10-1234-5678`` → ``01012345678``) and each suffix of
  four digits or more: the last four digits find it.
* ``a`` — address tokens: each word, and road or lot-number addresses joined with their numbers
  (``온기로 12길 3`` → ``온기로12길3``; ``온기동 123-45`` → ``온기동123-45``), units joined with their building
  (``101동 1203호`` → ``101동1203호``, also reached as ``101-1203``).
* ``x`` — the address's core (road or lot number, building and unit) as one key, for duplicates: the same
  home written two ways (with or without the city, the apartment's name or spaces) has the same ``x``.

A search text is cut into terms the same way; a household matches when every term is the beginning of one
of its keys (or the whole text, without spaces, is). Keys are compared as byte strings (the column is
``COLLATE "C"`` on PostgreSQL), so a term is a range scan of one index.

Every ORM write of a household (create, patch, import, a pushed patch, merge, destruction) refreshes its keys
in the same flush (:func:`keep_search_keys`, declared in app/households/hooks.py); writes that bypass the ORM
(bulk ``INSERT``s of the demo generator or a batched import) call :func:`refresh_search_keys`. A deleted,
merged-away or destroyed household has no keys.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    delete,
    insert,
    inspect,
    intersect,
    or_,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.households.models import Household, HouseholdSearchKey

#: Columns of a household its keys come from (and the ones that take its keys away).
KEYED_FIELDS = ("head_name", "address", "address_detail", "contact_phone", "members", "deleted_at", "destroyed_at")
MAX_KEY = 120
MAX_TERMS = 8
_TOP = "\U0010ffff"

_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d~]")
_CITIES = {
    "서울특별시": "서울",
    "서울시": "서울",
    "부산광역시": "부산",
    "부산시": "부산",
    "대구광역시": "대구",
    "대구시": "대구",
    "인천광역시": "인천",
    "인천시": "인천",
    "광주광역시": "광주",
    "대전광역시": "대전",
    "대전시": "대전",
    "울산광역시": "울산",
    "울산시": "울산",
    "세종특별자치시": "세종",
    "세종시": "세종",
    "경기도": "경기",
    "강원도": "강원",
    "강원특별자치도": "강원",
    "충청북도": "충북",
    "충청남도": "충남",
    "전라북도": "전북",
    "전북특별자치도": "전북",
    "전라남도": "전남",
    "경상북도": "경북",
    "경상남도": "경남",
    "제주특별자치도": "제주",
    "제주도": "제주",
}
_ROAD = re.compile(r"^[가-힣][가-힣a-z0-9]*(?:대로|로|길)$")
_ROAD_BRANCH = re.compile(r"^\d+(?:번)?길$")
_LOT_AREA = re.compile(r"^[가-힣]+\d*(?:동|리|가)$")
_NUMBER = re.compile(r"^(?:산)?\d+(?:-\d+)?$")
_BUILDING = re.compile(r"^(?:\d+|[a-z]\d*|[가-힣])동$")
_UNIT = re.compile(r"^b?\d+호$")
_ROAD_NUMBER = re.compile(r"^[가-힣][가-힣a-z0-9]*(?:대로|로|길)\d+(?:-\d+)?$")
_LOT_NUMBER = re.compile(r"^[가-힣]+\d*(?:동|리|가)(?:산)?\d+(?:-\d+)?$")
_FULL_UNIT = re.compile(r"^(?:\d+|[a-z]\d*|[가-힣])동b?\d+호$")
_UNIT_SHORT = re.compile(r"^(\d{1,4})-(b?\d{2,5})$")
_PHONE_LIKE = re.compile(r"^[\d\s\-+().]+$")
_NOT_WORD = re.compile(r"[^\w-]+")


_BASEMENT = re.compile(r"지하\s*")
_LOT_SUFFIX = re.compile(r"(\d)\s*번지")
_NUMBER_DASH = re.compile(r"(\d)\s*-\s*(\d)")
_BRACKETS = re.compile(r"[()\[\]{},·ㆍ/]")
_NOT_ALNUM = re.compile(r"[\W_]+")


@lru_cache(maxsize=8192)
def normalize(text: str | None) -> str:
    """The text every key and term is cut from (see the module docstring). Cached: a household's address and
    names are normalized several times over while its keys are cut."""
    value = unicodedata.normalize("NFKC", text or "").lower()
    value = _DASHES.sub("-", value)
    value = _BASEMENT.sub("b", value)
    value = _LOT_SUFFIX.sub(r"\1", value)
    value = _NUMBER_DASH.sub(r"\1-\2", value)
    value = _BRACKETS.sub(" ", value)
    return " ".join(value.split())


def compact(text: str | None) -> str:
    """Letters and digits only (no spaces, hyphens or punctuation)."""
    return _NOT_ALNUM.sub("", normalize(text))


def phone_digits(text: str | None) -> str:
    """A phone number as domestic digits: ``+82 10-1234-5678``, ``82-10…`` and ``010 1234 5678`` are the same."""
    raw = unicodedata.normalize("NFKC", text or "")
    digits = "".join(ch for ch in raw if ch.isdigit())
    if digits.startswith("82") and (raw.strip().startswith("+") or len(digits) >= 11):
        rest = digits[2:]
        digits = rest if rest.startswith("0") else f"0{rest}"
    return digits


def _words(text: str) -> list[str]:
    out = []
    for word in normalize(text).split():
        word = _NOT_WORD.sub("", word).strip("-")
        if word:
            out.append(_CITIES.get(word, word))
    return out


def address_terms(text: str | None, *, parts: bool = False) -> list[str]:
    """An address cut into terms: its words, with road names, lot-number areas and buildings joined to the
    numbers that follow them (``온기로 12길 3`` → ``온기로12길3``); with ``parts`` the joined words too."""
    return list(_address_terms(text or "", parts))


def _address_terms(text: str, parts: bool) -> tuple[str, ...]:
    """:func:`address_terms`, cached (:func:`_address_forms`)."""
    return _address_forms(text)[parts]


@lru_cache(maxsize=8192)
def _address_forms(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The terms of an address without and with ``parts``, cut in one pass (a household's keys take both, its
    address core the first) and cached."""
    words = _words(text)
    out: list[str] = []
    whole: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if _ROAD.match(word) and nxt is not None and _ROAD_BRANCH.match(nxt):
            words[i + 1] = word + nxt.replace("번길", "길")
            i += 1
            continue
        if nxt is not None and (
            (_ROAD.match(word) and _NUMBER.match(nxt))
            or (_LOT_AREA.match(word) and not _BUILDING.match(word) and _NUMBER.match(nxt))
            or (_BUILDING.match(word) and _UNIT.match(nxt))
        ):
            out.append(word + nxt)
            whole += [word + nxt, word, nxt]
            i += 2
            continue
        if _LOT_AREA.match(word) and nxt == "산" and i + 2 < len(words) and _NUMBER.match(words[i + 2]):
            joined = f"{word}산{words[i + 2]}"
            out.append(joined)
            whole += [joined, word, words[i + 2]]
            i += 3
            continue
        short = _UNIT_SHORT.match(word)
        if short:
            unit = f"{short.group(1)}동{short.group(2)}호"
            out.append(unit)
            whole.append(unit)
        out.append(word)
        whole.append(word)
        i += 1
    return tuple(out), tuple(whole)


def _core(address: str | None, detail: str | None) -> str:
    """The address's core: road or lot number and unit, without city, district, building name or spaces."""
    terms = address_terms(address) + address_terms(detail)
    located = [t for t in terms if _ROAD_NUMBER.match(t) or _LOT_NUMBER.match(t)]
    units = [t for t in terms if _FULL_UNIT.match(t)] or [t for t in terms if _UNIT.match(t)]
    if located:
        return "|".join([located[0], *units[:1]])[:MAX_KEY]
    return f"{compact(address)}|{compact(detail)}"[:MAX_KEY]


def _suffixes(value: str, shortest: int) -> list[str]:
    if len(value) <= shortest:
        return [value] if value else []
    return [value[i:] for i in range(0, len(value) - shortest + 1)]


def search_keys(
    *,
    head_name: str | None,
    address: str | None,
    address_detail: str | None,
    contact_phone: str | None,
    members: Sequence[dict[str, Any]] | None,
) -> set[tuple[str, str]]:
    """The (kind, key) pairs of a household with these values (see the module docstring)."""
    keys: set[tuple[str, str]] = set()
    for suffix in _suffixes(compact(head_name or ""), 2):
        keys.add(("n", suffix))
    for m in members or []:
        name = compact(str(m.get("name") or ""))
        for suffix in _suffixes(name, 2):
            keys.add(("n", suffix))
        if name and m.get("birth_year"):
            keys.add(("nb", f"{name}|{m['birth_year']}"))
    phone = phone_digits(contact_phone)
    if len(phone) >= 4:
        for suffix in _suffixes(phone, 4):
            keys.add(("p", suffix))
    for term in address_terms(address, parts=True) + address_terms(address_detail, parts=True):
        keys.add(("a", term))
    if (address or "").strip():
        keys.add(("x", _core(address, address_detail)))
    out = {(kind, key[:MAX_KEY]) for kind, key in keys if key}
    out |= {("ns", near) for kind, key in out if kind == "nb" for near in similar_keys(key)}
    return out


def similar_keys(name_birth: str) -> tuple[str, ...]:
    """The ``ns`` keys of an ``nb`` key (``name|birth year``): the name with its first or last syllable as ``*``
    (none for a name of one syllable). Two names of the same length one syllable apart at the start or the end
    (and the same name) with the same birth year share one; never longer than the ``nb`` key."""
    name, _, year = name_birth.rpartition("|")
    if len(name) < 2:
        return ()
    return (f"{name[:-1]}*|{year}", f"*{name[1:]}|{year}")


def household_keys(household: Any) -> set[tuple[str, str]]:
    """The keys of a household (a row or a mapping of its columns); none when it is deleted or destroyed."""
    get = household.get if isinstance(household, dict) else lambda name: getattr(household, name, None)
    if get("deleted_at") is not None or get("destroyed_at") is not None:
        return set()
    return search_keys(
        head_name=get("head_name"),
        address=get("address"),
        address_detail=get("address_detail"),
        contact_phone=get("contact_phone"),
        members=get("members"),
    )


def _rows(household_id: uuid.UUID, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"household_id": household_id, "kind": kind, "key": key} for kind, key in sorted(keys)]


async def refresh_search_keys(session: AsyncSession, household_ids: Iterable[uuid.UUID]) -> int:
    """Rewrite the search keys of these households from what is stored (for writes that bypass the ORM: bulk
    inserts of a batched import or the demo generator). Returns the number of keys written."""
    ids = list(dict.fromkeys(household_ids))
    written = 0
    table = HouseholdSearchKey.__table__
    columns = [getattr(Household, name) for name in KEYED_FIELDS]
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        await session.execute(delete(table).where(table.c.household_id.in_(chunk)))
        rows: list[dict[str, Any]] = []
        result = await session.execute(select(Household.id, *columns).where(Household.id.in_(chunk)))
        for row in result:
            rows += _rows(row[0], household_keys(dict(zip(KEYED_FIELDS, row[1:], strict=True))))
        for j in range(0, len(rows), 5000):
            await session.execute(insert(table), rows[j : j + 5000])
        written += len(rows)
    return written


def keep_search_keys(session: Session, _ctx: Any) -> None:
    """Keep the keys of every household the flush wrote (ORM writes) in the same transaction."""
    changed: list[Household] = []
    for obj in session.new:
        if isinstance(obj, Household):
            changed.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Household):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in KEYED_FIELDS):
                changed.append(obj)
    gone = [obj.id for obj in session.deleted if isinstance(obj, Household)]
    if not changed and not gone:
        return
    table = HouseholdSearchKey.__table__
    connection = session.connection()
    ids = [h.id for h in changed] + gone
    connection.execute(delete(table).where(table.c.household_id.in_(ids)))
    rows = [row for h in changed for row in _rows(h.id, household_keys(h))]
    if rows:
        connection.execute(insert(table), rows)


# --- queries -------------------------------------------------------------------------------------------------


def query_terms(q: str) -> tuple[list[list[str]], str]:
    """A search text as terms (each a list of alternative key beginnings, all of which the household must
    match) and the whole text without spaces (an alternative to all the terms together)."""
    text = normalize(q)
    whole = compact(q)
    terms: list[list[str]] = []
    if _PHONE_LIKE.match(text) and sum(ch.isdigit() for ch in text) >= 4:
        digits = phone_digits(q)
        alternatives = [digits]
        joined = "".join(text.split())
        if "-" in joined and "+" not in joined:
            alternatives.append(joined)
        short = _UNIT_SHORT.match(joined)
        if short:
            alternatives.append(f"{short.group(1)}동{short.group(2)}호")
        return [alternatives], digits
    for term in address_terms(text)[:MAX_TERMS]:
        alternatives = [term]
        bare = term.replace("-", "")
        if bare != term:
            alternatives.append(bare)
        short = _UNIT_SHORT.match(term)
        if short:
            alternatives.append(f"{short.group(1)}동{short.group(2)}호")
        terms.append(alternatives)
    return terms, whole


def _begins(prefix: str) -> ColumnElement[bool]:
    key = HouseholdSearchKey.__table__.c.key
    return and_(key >= prefix, key < prefix + _TOP)


def _having_any(prefixes: Sequence[str]) -> Select[uuid.UUID]:
    table = HouseholdSearchKey.__table__
    return select(table.c.household_id).where(or_(*[_begins(p[:MAX_KEY]) for p in prefixes if p]))


def matching_ids(q: str) -> Select[uuid.UUID] | CompoundSelect[uuid.UUID] | None:
    """A select of the ids of households whose keys match the search text ``q`` (every term, or the whole text
    without spaces), ``None`` when nothing can match: one compound statement, so the database builds the set
    once and probes households by primary key."""
    terms, whole = query_terms(q)
    if len(terms) > 1 and whole and any(len(t[0]) == 1 for t in terms):
        # a one-letter word ("김 영희") matches a fifth of a district: the whole text says it better
        return _having_any([whole])
    parts = [_having_any(alternatives) for alternatives in terms if any(alternatives)]
    if not parts:
        return _having_any([whole]) if whole else None
    every = parts[0] if len(parts) == 1 else select(intersect(*parts).subquery().c.household_id)
    if not whole or (len(parts) == 1 and terms[0][:1] == [whole]):
        return every
    return union(every, _having_any([whole]))


def search_clause(q: str) -> ColumnElement[bool]:
    """A condition on ``Household.id``: households whose keys match the search text ``q``."""
    ids = matching_ids(q)
    return Household.id.is_(None) if ids is None else Household.id.in_(ids)
