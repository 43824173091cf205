"""The one access policy (``docs/access.md``). REST, sync, uploads, downloads, exports and events ask it.

This module is the facade every caller imports (``from app.access import policy``); the rules live in
:mod:`app.access.gates` (route gates), :mod:`app.access.reach` (filters, checks, partner reach),
:mod:`app.access.consent`, :mod:`app.access.memo` (batches) and :mod:`app.access.redaction`; the decisions
of one domain in ``app/access/<domain>.py``. Nothing in :mod:`app.access` writes.

Four kinds of answers:

* **route gates**: the aliases of :mod:`app.access.gates` declare which roles may ever call a route (403 otherwise);
* **filters**: SQL conditions that scope a query to the records a caller may reach, so that lists only
  ever hold reachable rows (``household_filter``, ``visit_filter``, ``case_filter``, ``report_filter``,
  ``facility_filter``);
* **checks**: ``get_*_or_404`` load one record and raise 404 (never 403) when the caller may not see it;
* **redaction**: :func:`sensitive_kinds_visible` says which encrypted household fields a role may read
  (``app.households.views.household_views`` is the one function that applies it).

Rules, by role:

| role | households | visits | cases | crisis reports | facilities |
| --- | --- | --- | --- | --- | --- |
| coordinator | jurisdiction | jurisdiction | jurisdiction | jurisdiction (triage) | jurisdiction (write) |
| planner | jurisdiction + assigned | jurisdiction + own visits | jurisdiction + own | jurisdiction (read) | area |
| partner | assigned (visit or case) **and** consented | own assignments | own membership | — | area |
| reporter | — | — | — | own only | — |
| integration (public org) | jurisdiction, with ``households:read`` | jurisdiction, with ``visits:read`` | — | — | — |
| integration (private org) | as its organization's partners: assigned **and** consented | — | — | — | — |
| admin | — | — | — | — | jurisdiction (write) |

(*area*: the jurisdiction of the caller's organization or user, read only.)

Integration clients act for their organization: only a public organization's client may hold
``households:read``, ``visits:read`` and ``households:import`` (:data:`app.auth.models.PUBLIC_ONLY_SCOPES`;
a :class:`~app.core.principal.Principal` of a private organization's client never carries them, and
:func:`app.access.reach._integration_has` refuses them again). A private organization's client is *consent
bound* like its partners (:attr:`Principal.consent_bound`): it reaches a household only through an assignment and a
consent, which a client never has.

A partner's household access needs an active assignment *and* a consent record that is given, in force,
not withdrawn, addressed to their organization (or to all partners) and covering the purpose of that
assignment (the visit's purpose, or ``case_management`` for a case). Without it the partner still sees the
visit (time, dong, team) but nothing that identifies the household. Consents are read on every request,
so a withdrawal cuts access at once.

An assignment is active while the assignee's team membership has not ended, the visit is not cancelled
or deleted, and the visit is open or finished less than :data:`FINISHED_GRACE` ago (time to write up
notes and checklists after the visit); a case membership while the case is open.

Sensitive household fields (encrypted at rest in ``household_sensitive``):

| kind | coordinator | planner | partner, integration |
| --- | --- | --- | --- |
| ``rrn`` (registration numbers) | only through ``POST …/reveal`` with a reason (audited) | never | never |
| ``income``, ``benefit_history``, ``health_notes`` | yes | yes | never |
"""

from __future__ import annotations

from app.access.consent import consent_covers, consent_in_force
from app.access.memo import clear_memo, end_memo, memo_of, start_memo
from app.access.reach import (
    FINISHED_GRACE,
    HouseholdNotFound,
    PartnerReach,
    alert_filter,
    can_see_household,
    case_filter,
    codes_clause,
    facility_filter,
    get_alert_or_404,
    get_case_or_404,
    get_facility_or_404,
    get_household_or_404,
    get_report_or_404,
    get_task_or_404,
    get_visit_or_404,
    get_visit_with_household_or_404,
    household_filter,
    is_visit_team_member,
    may_complete_task,
    may_import,
    may_manage_facilities,
    may_see_import,
    merged_problem,
    partner_reach,
    prefetch_visit_teams,
    prefetch_visits,
    report_filter,
    task_filter,
    unrestricted,
    visit_filter,
    visit_household_visible,
)
from app.access.redaction import PUBLIC_STAFF, SENSITIVE_KINDS, may_reveal_rrn, sensitive_kinds_visible

__all__ = [
    "FINISHED_GRACE",
    "PUBLIC_STAFF",
    "SENSITIVE_KINDS",
    "HouseholdNotFound",
    "PartnerReach",
    "alert_filter",
    "can_see_household",
    "case_filter",
    "clear_memo",
    "codes_clause",
    "consent_covers",
    "consent_in_force",
    "end_memo",
    "facility_filter",
    "get_alert_or_404",
    "get_case_or_404",
    "get_facility_or_404",
    "get_household_or_404",
    "get_report_or_404",
    "get_task_or_404",
    "get_visit_or_404",
    "get_visit_with_household_or_404",
    "household_filter",
    "is_visit_team_member",
    "may_complete_task",
    "may_import",
    "may_manage_facilities",
    "may_reveal_rrn",
    "may_see_import",
    "memo_of",
    "merged_problem",
    "partner_reach",
    "prefetch_visit_teams",
    "prefetch_visits",
    "report_filter",
    "sensitive_kinds_visible",
    "start_memo",
    "task_filter",
    "unrestricted",
    "visit_filter",
    "visit_household_visible",
]
