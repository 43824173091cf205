"""Administration of organizations, users and devices (``docs/access.md``, "Administration").

The bounds of an admin (which organizations, users and devices it manages, which areas and roles it may give)
are decided in :mod:`app.access.people`; this module applies them for every admin route (organizations,
users, password resets, devices) and for the audit and webhook routes that ask :func:`manageable_orgs` /
:func:`can_manage_org`. Queries: :mod:`app.people.repository`.
"""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.access import people as access
from app.auth.models import Device, Organization, User
from app.auth.service import revoke_sessions_of
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, field_problem
from app.core.principal import Principal, Role
from app.core.state import AppState
from app.journal import audit
from app.people import messages as _messages  # noqa: F401  (registers the messages)
from app.people.repository import OrganizationRepository, UserRepository
from app.people.schemas import OrganizationCreate, OrganizationUpdate, UserCreate, UserUpdate

#: The admin's bounds, as the audit and webhook routes ask them (``app.access.people``).
can_manage_org = access.may_manage_org
can_manage_user = access.may_manage_user


async def manageable_orgs(session: AsyncSession, principal: Principal) -> list[Organization]:
    return [o for o in await OrganizationRepository(session).all_by_name() if access.may_manage_org(principal, o)]


async def manageable_user_ids(session: AsyncSession, principal: Principal) -> list[uuid.UUID]:
    """The ids of the users the admin manages (:func:`app.access.people.may_manage_user`), for lists of users
    and devices."""
    if not access.manages_people(principal):
        return []
    orgs = {o.id: o for o in await manageable_orgs(session, principal)}
    own = await session.get(Organization, principal.organization_id)
    if own is not None:
        orgs[own.id] = own
    rows = await UserRepository(session).areas_in(list(orgs))
    return access.manageable_user_ids(principal, [tuple(r) for r in rows], orgs)


async def get_manageable_org(session: AsyncSession, principal: Principal, org_id: uuid.UUID) -> Organization:
    org = await session.get(Organization, org_id)
    if org is None or not access.may_manage_org(principal, org):
        raise NotFound()
    return org


def _check_area(principal: Principal, codes: list[str] | None, org: Organization | None, field: str) -> None:
    """A jurisdiction the admin gives lies within its own (and a user's within the user's organization's)."""
    if codes is None:
        return
    if not access.may_give_area(principal, codes, org):
        raise field_problem(field, "people.grant-outside-jurisdiction")


def _check_role_fits(role: Role, org: Organization, scopes: list[str]) -> None:
    misfit = access.role_misfit(role, org, scopes)
    if misfit is not None:
        field, key, params = misfit
        raise field_problem(field, key, **params)


class PeopleService:
    def __init__(self, state: AppState, session: AsyncSession, principal: Principal) -> None:
        self.state, self.session, self.principal = state, session, principal

    async def create_org(self, body: OrganizationCreate) -> Organization:
        if not access.may_register_orgs(self.principal):
            raise Forbidden("detail.role-forbidden", params={"roles": "admin (public)"})
        if not access.may_register_org_in(self.principal, body.kind, body.jurisdiction):
            # A public admin registers private partner organizations within their own jurisdiction.
            raise field_problem("body.jurisdiction", "people.outside-jurisdiction")
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
            # its people's open work would be stranded: reassign it first (docs/operations.md, work)
            from app.work.service import open_counts_of_org, refuse_deactivation

            held = await open_counts_of_org(self.session, org.id)
            if held.total:
                raise refuse_deactivation(None, held)
        if "jurisdiction" in changes and changes["jurisdiction"] != list(org.jurisdiction):
            if org.id == self.principal.organization_id:
                raise field_problem("body.jurisdiction", "people.own-jurisdiction")
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
        if org is None or not access.may_add_users_to(self.principal, org):
            raise NotFound()
        _check_role_fits(body.role, org, body.scopes)
        _check_area(self.principal, body.jurisdiction, org, "body.jurisdiction")
        if body.jurisdiction is None and not access.within_reach(self.principal, org.jurisdiction):
            # the new user would have the whole organization's area, which lies beyond the admin's
            raise field_problem("body.jurisdiction", "people.grant-outside-jurisdiction")
        secret: str | None = None
        client = access.is_client_role(body.role)
        if client:
            secret = body.password or secrets.token_urlsafe(32)
        elif body.password is None:
            raise field_problem("body.password", "people.password-required")
        if await UserRepository(self.session).username_taken(body.username):
            raise Conflict("conflict", "detail.duplicate", params={"field": "username"})
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
        return user, (secret if client and body.password is None else None)

    async def update_user(self, user: User, body: UserUpdate) -> User:
        changes = body.model_dump(exclude_unset=True)
        org = await self.session.get(Organization, user.organization_id)
        if org is None or not access.may_manage_user(self.principal, user, org):
            raise NotFound()
        _check_role_fits(changes.get("role", user.role), org, changes.get("scopes", user.scopes) or [])
        if "jurisdiction" in changes:
            area = changes["jurisdiction"]
            _check_area(self.principal, area, org, "body.jurisdiction")
            if area is None and not access.within_reach(self.principal, org.jurisdiction):
                raise field_problem("body.jurisdiction", "people.grant-outside-jurisdiction")
        if changes.get("active") is False and user.active:
            # a worker who leaves with open work would strand it: reassign it first (docs/operations.md, work)
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
            raise NotFound()
        org = await self.session.get(Organization, user.organization_id)
        if org is None or not access.may_manage_user(self.principal, user, org):
            raise NotFound()
        return user

    async def get_device(self, device_id: uuid.UUID) -> Device:
        device = await self.session.get(Device, device_id)
        if device is None:
            raise NotFound()
        if access.manages_people(self.principal):
            owner = await self.session.get(User, device.user_id)
            org = await self.session.get(Organization, owner.organization_id) if owner else None
            if owner is not None and org is not None and access.may_manage_user(self.principal, owner, org):
                return device
        if device.user_id == self.principal.user_id:
            return device
        raise NotFound()

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
