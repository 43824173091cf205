"""Where an import may land, and which imported households its client sees (``app.integrations``;
``docs/integrations.md`` §2, ``docs/access.md``).

An integration client (or a coordinator uploading a spreadsheet) imports households of its jurisdiction only:
a line naming a dong outside it is refused, and matching an imported line against existing households looks
only inside it. What a client may read back about a key it imported follows the same rule.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from app.access.reach import codes_clause
from app.core.principal import Principal
from app.households.models import Household


def may_import_into(principal: Principal, dong_code: str | None) -> bool:
    """Whether the caller may import a household living in ``dong_code``."""
    return principal.in_jurisdiction(dong_code)


def importable_filter(principal: Principal) -> ColumnElement[bool]:
    """The households an import by the caller may match (those of its jurisdiction)."""
    return codes_clause(Household.dong_code, principal.jurisdiction)


def may_read_imported(principal: Principal, household: Household | None) -> bool:
    """Whether the caller may read what the last import of a key did to ``household``."""
    return household is not None and principal.in_jurisdiction(household.dong_code)
