"""Administration of organizations, users and devices.

Bounds of an admin (DESIGN §3.5), decided here for every admin route (organizations, users, password
resets, devices) and for the audit and webhook routes that ask :func:`manageable_orgs` / :func:`can_manage_org`:

* an admin's own area is its principal's jurisdiction (its own, or its organization's when it has none);
* it manages its own organization while that organization lies within its area, and an admin of a public
  organization also manages the organizations whose whole jurisdiction lies **within** its area (a district
  office manages its dongs' centres; a dong centre never manages the district office, nor a centre of
  another dong). Codes are a 5-digit district or a 10-digit dong: *within* means equal to one of the
  admin's codes or a dong of one of its districts (:func:`app.auth.principal.codes_within`);
* of those organizations it manages the users whose jurisdiction (their own, or their organization's) lies
  within its area, and their devices;
* it never changes its own organization's jurisdiction (no widening: only an admin above may), and every
  jurisdiction it gives (a new organization, another organization's, a user's) lies within its area, and a
  user's within the user's organization's too.

Integration clients of private organizations never hold the scopes that open a whole jurisdiction
(:data:`app.auth.models.PUBLIC_ONLY_SCOPES`).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import INTEGRATION_SCOPES, PUBLIC_ONLY_SCOPES, Device, Organization, OrgKind, Role, User
from app.auth.principal import Principal, codes_within
from app.auth.service import revoke_sessions_of
from app.core.db import utcnow
from app.core.errors import Problem, not_found
from app.core.state import AppState
from app.people import messages as _messages  # noqa: F401  (registers the messages)
from app.people.schemas import OrganizationCreate, OrganizationUpdate, UserCreate, UserUpdate


def within_reach(principal: Principal, codes: list[str] | tuple[str, ...] | None) -> bool:
    """Whether an area lies within the admin's own (equal, or a dong of one of its districts)."""
    return codes_within(list(codes or ()), principal.jurisdiction)


def can_manage_org(principal: Principal, org: Organization) -> bool:
    if principal.role != Role.admin or not within_reach(principal, org.jurisdiction):
        return False
    return org.id == principal.organization_id or principal.org_kind == OrgKind.public


def user_area(user: User, org: Organization) -> list[str]:
    """A user's jurisdiction: their own when set, else their organization's (as their principal has it)."""
    return list(user.jurisdiction if user.jurisdiction is not None else org.jurisdiction)


def can_manage_user(principal: Principal, user: User, org: Organization) -> bool:
    """A user whose area lies within the admin's, of the admin's own organization or of one it manages."""
    if principal.role != Role.admin or not within_reach(principal, user_area(user, org)):
        return False
    return org.id == principal.organization_id or can_manage_org(principal, org)


async def manageable_orgs(session: AsyncSession, principal: Principal) -> list[Organization]:
    orgs = (await session.execute(select(Organization).order_by(Organization.name))).scalars()
    return [o for o in orgs if can_manage_org(principal, o)]


async def manageable_user_ids(session: AsyncSession, principal: Principal) -> list[uuid.UUID]:
    """The ids of the users the admin manages (:func:`can_manage_user`), for lists of users and devices."""
    if principal.role != Role.admin:
        return []
    orgs = {o.id: o for o in await manageable_orgs(session, principal)}
    own = await session.get(Organization, principal.organization_id)
    if own is not None:
        orgs[own.id] = own
    rows = await session.execute(
        select(User.id, User.jurisdiction, User.organization_id).where(User.organization_id.in_(list(orgs)))
    )
    return [
        uid
        for uid, area, org_id in rows
        if within_reach(principal, area if area is not None else orgs[org_id].jurisdiction)
    ]


async def get_manageable_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None or not can_manage_org(principal, org):
        raise not_found()
    return org


def _field_problem(field: str, message_key: str, **params: Any) -> Problem:
    from app.core.i18n import t

    return Problem(
        422,
        "validation",
        "detail.validation",
        params={"count": 1},
        extra={"errors": [{"field": field, "code": "value_error", "message": t(message_key, **params)}]},
    )


def _check_area(principal: Principal, codes: list[str] | None, org: Organization | None, field: str) -> None:
    """A jurisdiction the admin gives lies within its own (and a user's within the user's organization's)."""
    if codes is None:
        return
    if not within_reach(principal, codes) or (org is not None and not codes_within(codes, org.jurisdiction)):
        raise _field_problem(field, "people.grant-outside-jurisdiction")


def _check_role_fits(role: Role, org: Organization, scopes: list[str]) -> None:
    if role == Role.partner and org.kind != OrgKind.private:
        raise _field_problem("body.role", "people.partner-private")
    if role in (Role.coordinator, Role.planner) and org.kind != OrgKind.public:
        raise _field_problem("body.role", "people.public-role")
    unknown = sorted(set(scopes) - set(INTEGRATION_SCOPES))
    if unknown:
        raise _field_problem("body.scopes", "people.unknown-scope", scopes=", ".join(unknown))
    if scopes and role != Role.integration:
        raise _field_problem("body.scopes", "people.scopes-integration-only")
    wide = sorted(set(scopes) & PUBLIC_ONLY_SCOPES)
    if wide and org.kind != OrgKind.public:
        raise _field_problem("body.scopes", "people.scope-public-only", scopes=", ".join(wide))


class PeopleService:
    def __init__(self, state: AppState, session: AsyncSession, principal: Principal) -> None:
        self.state, self.session, self.principal = state, session, principal

    async def create_org(self, body: OrganizationCreate) -> Organization:
        if self.principal.org_kind != OrgKind.public:
            raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "admin (public)"})
        if body.kind == OrgKind.public or not within_reach(self.principal, body.jurisdiction):
            # A public admin registers private partner organizations within their own jurisdiction.
            raise _field_problem("body.jurisdiction", "people.outside-jurisdiction")
        org = Organization(name=body.name, kind=body.kind, jurisdiction=body.jurisdiction)
        self.session.add(org)
        await self.session.flush()
        await audit.record(
            self.session, self.principal, "admin.organization.create", entity="organization", entity_id=org.id
        )
        return org

    async def update_org(self, org: Organization, body: OrganizationUpdate) -> Organization:
        changes = body.model_dump(exclude_unset=True)
        if changes.get("active") is False and org.active:
            # its people's open work would be stranded: reassign it first (DESIGN §11 Work)
            from app.work.service import open_counts_of_org, refuse_deactivation

            held = await open_counts_of_org(self.session, org.id)
            if held.total:
                raise refuse_deactivation(None, held)
        if "jurisdiction" in changes and changes["jurisdiction"] != list(org.jurisdiction):
            if org.id == self.principal.organization_id:
                raise _field_problem("body.jurisdiction", "people.own-jurisdiction")
            _check_area(self.principal, changes["jurisdiction"], None, "body.jurisdiction")
        for key, value in changes.items():
            setattr(org, key, value)
        await self.session.flush()
        await audit.record(
            self.session,
            self.principal,
            "admin.organization.update",
            entity="organization",
            entity_id=org.id,
            details={"fields": sorted(changes)},
        )
        return org

    async def create_user(self, body: UserCreate) -> tuple[User, str | None]:
        org = await self.session.get(Organization, body.organization_id)
        if org is None or not (org.id == self.principal.organization_id or can_manage_org(self.principal, org)):
            raise not_found()
        _check_role_fits(body.role, org, body.scopes)
        _check_area(self.principal, body.jurisdiction, org, "body.jurisdiction")
        if body.jurisdiction is None and not within_reach(self.principal, org.jurisdiction):
            # the new user would have the whole organization's area, which lies beyond the admin's
            raise _field_problem("body.jurisdiction", "people.grant-outside-jurisdiction")
        secret: str | None = None
        if body.role == Role.integration:
            secret = body.password or secrets.token_urlsafe(32)
        elif body.password is None:
            raise _field_problem("body.password", "people.password-required")
        existing = (
            await self.session.execute(select(User.id).where(User.username == body.username))
        ).scalar_one_or_none()
        if existing is not None:
            raise Problem(409, "conflict", "detail.duplicate", params={"field": "username"})
        user = User(
            organization_id=org.id,
            username=body.username,
            display_name=body.display_name,
            role=body.role,
            password_hash=await self.state.security.hash_password(secret or body.password or ""),
            email=body.email,
            phone=body.phone,
            jurisdiction=body.jurisdiction,
            scopes=sorted(body.scopes),
        )
        self.session.add(user)
        await self.session.flush()
        await audit.record(
            self.session,
            self.principal,
            "admin.user.create",
            entity="user",
            entity_id=user.id,
            details={"role": body.role.value},
        )
        return user, (secret if body.role == Role.integration and body.password is None else None)

    async def update_user(self, user: User, body: UserUpdate) -> User:
        changes = body.model_dump(exclude_unset=True)
        org = await self.session.get(Organization, user.organization_id)
        if org is None or not can_manage_user(self.principal, user, org):
            raise not_found()
        _check_role_fits(changes.get("role", user.role), org, changes.get("scopes", user.scopes) or [])
        if "jurisdiction" in changes:
            area = changes["jurisdiction"]
            _check_area(self.principal, area, org, "body.jurisdiction")
            if area is None and not within_reach(self.principal, org.jurisdiction):
                raise _field_problem("body.jurisdiction", "people.grant-outside-jurisdiction")
        if changes.get("active") is False and user.active:
            # a worker who leaves with open work would strand it: reassign it first (DESIGN §11 Work)
            from app.work.service import open_counts, refuse_deactivation

            held = await open_counts(self.session, user.id)
            if held.total:
                raise refuse_deactivation(user.id, held)
        password = changes.pop("password", None)
        for key, value in changes.items():
            setattr(user, key, value)
        if password is not None:
            user.password_hash = await self.state.security.hash_password(password)
        if password is not None or changes.get("active") is False or "role" in changes:
            await revoke_sessions_of(self.session, user_id=user.id, reason="account_changed")
        await self.session.flush()
        await audit.record(
            self.session,
            self.principal,
            "admin.user.update",
            entity="user",
            entity_id=user.id,
            details={"fields": sorted([*changes, *(["password"] if password else [])])},
        )
        return user

    async def get_user(self, user_id: uuid.UUID) -> User:
        user = await self.session.get(User, user_id)
        if user is None:
            raise not_found()
        org = await self.session.get(Organization, user.organization_id)
        if org is None or not can_manage_user(self.principal, user, org):
            raise not_found()
        return user

    async def get_device(self, device_id: uuid.UUID) -> Device:
        device = await self.session.get(Device, device_id)
        if device is None:
            raise not_found()
        if self.principal.role == Role.admin:
            owner = await self.session.get(User, device.user_id)
            org = await self.session.get(Organization, owner.organization_id) if owner else None
            if owner is not None and org is not None and can_manage_user(self.principal, owner, org):
                return device
        if device.user_id == self.principal.user_id:
            return device
        raise not_found()

    async def revoke_device(self, device: Device, reason: str) -> Device:
        if device.revoked_at is None:
            device.revoked_at = utcnow()
            device.revoked_by_id = self.principal.user_id
            device.revoke_reason = reason
            await revoke_sessions_of(self.session, device_id=device.id, reason="device_revoked")
            await self.session.flush()
            await audit.record(
                self.session,
                self.principal,
                "admin.device.revoke",
                entity="device",
                entity_id=device.id,
                purpose=reason,
            )
        return device
