"""Administration of organizations, users and devices.

An admin manages their own organization; an admin of a public organization also manages the
organizations whose jurisdiction overlaps theirs (the private welfare centers of their district).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import INTEGRATION_SCOPES, Device, Organization, OrgKind, Role, User
from app.auth.principal import Principal
from app.auth.service import revoke_sessions_of
from app.core.db import utcnow
from app.core.errors import Problem, not_found
from app.core.state import AppState
from app.people.schemas import OrganizationCreate, OrganizationUpdate, UserCreate, UserUpdate


def _overlaps(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> bool:
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def can_manage_org(principal: Principal, org: Organization) -> bool:
    if principal.role != Role.admin:
        return False
    if org.id == principal.organization_id:
        return True
    return principal.org_kind == OrgKind.public and _overlaps(principal.jurisdiction, org.jurisdiction)


async def manageable_orgs(session: AsyncSession, principal: Principal) -> list[Organization]:
    orgs = (await session.execute(select(Organization).order_by(Organization.name))).scalars()
    return [o for o in orgs if can_manage_org(principal, o)]


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


class PeopleService:
    def __init__(self, state: AppState, session: AsyncSession, principal: Principal) -> None:
        self.state, self.session, self.principal = state, session, principal

    async def create_org(self, body: OrganizationCreate) -> Organization:
        if self.principal.org_kind != OrgKind.public:
            raise Problem(403, "forbidden", "detail.role-forbidden", params={"roles": "admin (public)"})
        if body.kind == OrgKind.public or not _overlaps(self.principal.jurisdiction, body.jurisdiction):
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
        org = await get_manageable_org(self.session, self.principal, body.organization_id)
        _check_role_fits(body.role, org, body.scopes)
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
        org = await get_manageable_org(self.session, self.principal, user.organization_id)
        _check_role_fits(changes.get("role", user.role), org, changes.get("scopes", user.scopes) or [])
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
        if org is None or not can_manage_org(self.principal, org):
            raise not_found()
        return user

    async def get_device(self, device_id: uuid.UUID) -> Device:
        device = await self.session.get(Device, device_id)
        if device is None:
            raise not_found()
        if self.principal.role == Role.admin:
            owner = await self.session.get(User, device.user_id)
            org = await self.session.get(Organization, owner.organization_id) if owner else None
            if org is not None and can_manage_org(self.principal, org):
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
