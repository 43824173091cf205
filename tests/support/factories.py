"""Creating organizations and users straight in the database, and logging them in through the API."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.core.state import AppState

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@dataclass
class Actor:
    user: User
    org: Organization
    token: str = ""
    refresh: str | None = None
    device_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def id(self) -> uuid.UUID:
        return self.user.id


class Factory:
    def __init__(self, state: AppState, maker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient) -> None:
        self.state, self.maker, self.client = state, maker, client

    async def org(
        self, kind: OrgKind = OrgKind.public, jurisdiction: list[str] | None = None, name: str | None = None
    ) -> Organization:
        async with self.maker() as s:
            org = Organization(
                name=name or f"org-{next(_seq)}-{uuid.uuid4().hex[:6]}",
                kind=kind,
                jurisdiction=jurisdiction if jurisdiction is not None else ["11990"],
            )
            s.add(org)
            await s.commit()
            return org

    async def user(
        self,
        role: Role,
        org: Organization | None = None,
        *,
        username: str | None = None,
        password: str = PASSWORD,
        jurisdiction: list[str] | None = None,
        scopes: list[str] | None = None,
        active: bool = True,
    ) -> User:
        if org is None:
            org = await self.org(OrgKind.private if role == Role.partner else OrgKind.public)
        async with self.maker() as s:
            user = User(
                organization_id=org.id,
                username=username or f"{role.value}{next(_seq)}",
                display_name=f"테스트 {role.value}",
                role=role,
                password_hash=self.state.security.hash_password_sync(password),
                jurisdiction=jurisdiction,
                scopes=scopes or [],
                active=active,
            )
            s.add(user)
            await s.commit()
            return user

    async def login(
        self, user: User, org: Organization | None = None, *, device_id: str | None = "auto", password: str = PASSWORD
    ) -> Actor:
        data = {"grant_type": "password", "username": user.username, "password": password}
        if device_id == "auto":
            device_id = f"phone-{uuid.uuid4().hex[:8]}"
        if device_id:
            data |= {"device_id": device_id, "device_name": "Galaxy test"}
        r = await self.client.post("/v1/auth/token", data=data)
        assert r.status_code == 200, r.text
        body = r.json()
        if org is None:
            async with self.maker() as s:
                org = await s.get(Organization, user.organization_id)
        assert org is not None
        return Actor(
            user=user,
            org=org,
            token=body["access_token"],
            refresh=body.get("refresh_token"),
            device_id=device_id,
            extra={"device": body.get("device_id")},
        )

    async def actor(self, role: Role, org: Organization | None = None, **kw: Any) -> Actor:
        if org is None:
            org = await self.org(OrgKind.private if role in (Role.partner, Role.reporter) else OrgKind.public)
        user = await self.user(role, org, **kw)
        return await self.login(user, org)


# --- domain records ------------------------------------------------------------------------------------------
# Created straight in the database (the API under test is exercised by the tests themselves).


async def _add(factory: Factory, *objs: Any) -> None:
    async with factory.maker() as s:
        s.add_all(objs)
        await s.flush()
        from app.core.uow import commit

        await commit(s)


async def make_household(factory: Factory, dong_code: str = "1199051000", **kw: Any) -> Any:
    from app.households.models import Household

    n = next(_seq)
    values: dict[str, Any] = {
        "district_code": dong_code[:5],
        "dong_code": dong_code,
        "address": f"온기구 온기로 {n}길 {n}",
        "head_name": f"김온기{n}",
        "contact_phone": f"010-1234-{n:04d}",
        "members": [
            {
                "key": "m1",
                "name": f"김온기{n}",
                "birth_year": 1948,
                "relation": "head",
                "tags": ["elderly", "single_person"],
            }
        ],
        "tags": ["elderly", "single_person"],
    }
    values.update(kw)
    household = Household(**values)
    await _add(factory, household)
    return household


async def make_consent(
    factory: Factory,
    household: Any,
    recorded_by: User,
    *,
    organization: Organization | None = None,
    purposes: list[str] | None = None,
    **kw: Any,
) -> Any:
    from datetime import timedelta

    from app.core.db import utcnow
    from app.households.models import Consent

    consent = Consent(
        household_id=household.id,
        status=kw.pop("status", "given"),
        given_by="세대주 본인",
        recorded_by_id=recorded_by.id,
        recipient_kind="organization" if organization is not None else "all_partners",
        recipient_organization_id=organization.id if organization is not None else None,
        purposes=purposes
        or ["identification", "assessment", "joint_consultation", "follow_up", "service_linkage", "case_management"],
        valid_from=kw.pop("valid_from", utcnow() - timedelta(days=1)),
        valid_until=kw.pop("valid_until", utcnow() + timedelta(days=365)),
        **kw,
    )
    await _add(factory, consent)
    return consent


async def make_visit(
    factory: Factory, household: Any, assignees: list[User], *, purpose: str = "assessment", **kw: Any
) -> Any:
    from datetime import timedelta

    from app.core.db import utcnow
    from app.visits.models import Visit, VisitAssignee

    now = utcnow()
    visit = Visit(
        household_id=household.id,
        dong_code=household.dong_code,
        purpose=purpose,
        window_start=kw.pop("window_start", now - timedelta(hours=1)),
        window_end=kw.pop("window_end", now + timedelta(hours=5)),
        **kw,
    )
    team = [
        VisitAssignee(visit_id=visit.id, user_id=u.id, organization_id=u.organization_id, lead=i == 0)
        for i, u in enumerate(assignees)
    ]
    async with factory.maker() as s:
        s.add(visit)
        await s.flush()
        s.add_all(team)
        from app.core.uow import commit

        await commit(s)
    return visit
