"""The one vocabulary of route gates: who may ever call a route, by role (and an integration's scope).

A route names one of these aliases (``principal: gates.Coordinator``); no route spells roles itself, and the
access lint (``python -m app.access.lint``) fails the build when one does. A gate answers 403 before the route
runs; *which* records the caller then reaches is decided by the filters and checks of the other modules of
:mod:`app.access` (object level, never by role alone). ``docs/access.md`` explains the model.

| gate | roles (and integration scope) |
| --- | --- |
| ``Admin`` | admin |
| ``Coordinator`` | coordinator |
| ``Reporter`` | reporter |
| ``PublicStaff`` | coordinator, planner |
| ``FieldStaff`` | coordinator, planner, partner |
| ``Steward`` | coordinator, admin (facilities, the resource catalogue, merges) |
| ``Staff`` | admin, coordinator, planner, partner (read what their area or assignments hold) |
| ``ReportReaders`` | reporter, coordinator, planner |
| ``HouseholdReaders`` | coordinator, planner, partner; integration with ``households:read`` |
| ``PublicHouseholdReaders`` | coordinator, planner; integration with ``households:read`` |
| ``VisitReaders`` | coordinator, planner, partner; integration with ``visits:read`` |
| ``SupportReaders`` | coordinator, planner, partner; integration with ``supports:read`` |
| ``Importer`` | coordinator; integration with ``households:import`` |
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.access.policy import role_gate
from app.auth.models import Role
from app.auth.principal import Principal

Admin = Annotated[Principal, Depends(role_gate(Role.admin))]
Coordinator = Annotated[Principal, Depends(role_gate(Role.coordinator))]
Reporter = Annotated[Principal, Depends(role_gate(Role.reporter))]
PublicStaff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner))]
FieldStaff = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner))]
Steward = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.admin))]
Staff = Annotated[Principal, Depends(role_gate(Role.admin, Role.coordinator, Role.planner, Role.partner))]
ReportReaders = Annotated[Principal, Depends(role_gate(Role.reporter, Role.coordinator, Role.planner))]
HouseholdReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="households:read"))
]
PublicHouseholdReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, scope="households:read"))
]
VisitReaders = Annotated[Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="visits:read"))]
SupportReaders = Annotated[
    Principal, Depends(role_gate(Role.coordinator, Role.planner, Role.partner, scope="supports:read"))
]
Importer = Annotated[Principal, Depends(role_gate(Role.coordinator, scope="households:import"))]
