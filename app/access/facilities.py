"""Where a facility may be registered (``docs/access.md``, facilities).

Which facilities a caller sees and who manages them is :func:`app.access.policy.facility_filter` and the
``Steward`` gate; a facility is placed (registered or moved) only in a dong of the caller's jurisdiction.
"""

from __future__ import annotations

from app.core.principal import Principal


def may_place_facility(principal: Principal, dong_code: str | None) -> bool:
    return principal.in_jurisdiction(dong_code)
