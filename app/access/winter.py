"""Who reaches what of the winter operations (``app.winter``: alerts, check tasks; ``docs/access.md``).

Which alerts and tasks a caller sees, and who may complete a task, are the filters and checks of
:mod:`app.access.policy` (``alert_filter``, ``task_filter``, ``may_complete_task``). Here: what a task tells
about its household, and where a coordinator may declare an alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.access.policy import PUBLIC_STAFF, partner_reach
from app.core.principal import Principal, Role, in_codes


def sees_task_households(principal: Principal) -> bool:
    """Public staff reach the households of the tasks they see (their jurisdiction or their assignment); a
    partner's task never names the household's people."""
    return principal.role in PUBLIC_STAFF


async def hidden_task_households(session: AsyncSession, principal: Principal, tasks: Iterable[Any]) -> set[uuid.UUID]:
    """The tasks (ids) whose household the caller may not even know of (a partner without consent)."""
    if principal.role != Role.partner:
        return set()
    reach = await partner_reach(session, principal)
    return {t.id for t in tasks if t.household_id is not None and not reach.household_visible(t.household_id)}


def codes_outside(principal: Principal, codes: Iterable[str]) -> list[str]:
    """The codes of ``codes`` outside the caller's jurisdiction (an alert may be declared only within it)."""
    return [code for code in codes if not in_codes(code, principal.jurisdiction)]
