"""What a merge of households means for contact attempts (``docs/data-model.md``).

:mod:`app.households.merge` moves every row that hangs on the merged-away household, contact attempts too, and
asks each domain's ``merging`` module (``registry.extensions("merging")``) what follows: here, the failures
counted since each household was last reached change with the attempts, so its reachability is recomputed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.config import contact_settings
from app.contacts.service import refresh_reachability
from app.households.models import Household


async def after_move(session: AsyncSession, households: list[Household], state: Any) -> None:
    """Rows moved between these households (a merge or an unmerge): recompute their reachability."""
    threshold = contact_settings(state).unreachable_after
    for household in households:
        await refresh_reachability(session, household, threshold)
