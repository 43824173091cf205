"""Crisis reports: what a reader is shown, and where a reporter may report (``docs/access.md``, reports).

Which reports a caller reaches is :func:`app.access.policy.report_filter` (a reporter their own, public staff
those of their jurisdiction). A reporter is told a report's status, progress and outcome only, never which
household it led to; public staff get the staff view. A reporter reports only in their organization's area.
"""

from __future__ import annotations

from app.access.policy import PUBLIC_STAFF
from app.core.principal import Principal


def reads_as_reporter(principal: Principal) -> bool:
    """Whether the caller gets the reporter's view of reports (anyone who is not public staff)."""
    return principal.role not in PUBLIC_STAFF


def may_report_in(principal: Principal, dong_code: str | None) -> bool:
    return principal.in_jurisdiction(dong_code)
