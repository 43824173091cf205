"""Which area names a caller reads, and which an admin may name (``app.areas``; ``docs/access.md``).

Staff read the names of the districts and dongs of their jurisdiction; an admin names areas within its own
jurisdiction, never outside it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement

from app.access.reach import codes_clause
from app.areas.models import AdminArea
from app.core.principal import Principal


def area_filter(principal: Principal) -> ColumnElement[bool]:
    """The areas of the caller's jurisdiction."""
    return codes_clause(AdminArea.code, principal.jurisdiction)


def codes_outside(principal: Principal, codes: Iterable[str]) -> list[str]:
    """The codes of ``codes`` outside the caller's jurisdiction (sorted), which it may not name."""
    return sorted(code for code in codes if not principal.in_jurisdiction(code))
