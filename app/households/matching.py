"""Finding a household again by its address and head name (``docs/architecture.md``, households).

A household's ``match_key`` is a blind index (keyed hash) of its normalized address (address and address
detail, without spaces or punctuation, NFKC, lower case) and head name. Imports, report triage and staff
find an existing household, open or closed, by it within their jurisdiction
(:func:`app.access.households.match_scope`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import households as access
from app.core.principal import Principal
from app.core.security import Security
from app.households.models import Household
from app.households.repository import HouseholdRepository

MATCH_CONTEXT = "household:match"


@lru_cache(maxsize=1)
def _default_security() -> Security:
    from app.core.config import get_settings

    return Security(get_settings())


def security_or_default(security: Security | None) -> Security:
    """The app's Security when the caller has it (``state.security``); else one built from the environment's
    settings (the same keys in any process of the same deployment)."""
    return security if security is not None else _default_security()


def _normalize(text: str | None) -> str:
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[\W_]+", "", folded)


def match_key(security: Security, address: str, address_detail: str | None, head_name: str) -> str:
    """The blind index that finds a household by address and head name without storing them twice."""
    value = f"{_normalize(address)}{_normalize(address_detail)}|{_normalize(head_name)}"
    return security.blind_index(value, context=MATCH_CONTEXT)


async def find_match(session: AsyncSession, principal: Principal, key: str) -> Household | None:
    """An existing household with this match key in the caller's jurisdiction: an open one first (most
    recently changed), else the most recently changed closed one."""
    return await HouseholdRepository(session).find_match(key, access.match_scope(principal))
