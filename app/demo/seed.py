"""The demo district's organizations and logins (docs/operations.md#deployment). Idempotent.

The district is invented: 온기구 (district code 11990) and its dongs 1199051000… (named in
``app.demo.names.DONG_NAMES``); names are generated. ``app.demo.generator.seed_demo`` adds the small winter
district around the logins.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization, User
from app.core.principal import OrgKind, Role
from app.core.security import Security

DEMO_PASSWORD = "ongi-demo"  # noqa: S105 - documented demo password, refused in production
DISTRICT = "11990"
DONGS = [
    f"11990{n}"
    for n in (
        "51000",
        "52000",
        "53000",
        "54000",
        "55000",
        "56000",
        "57000",
        "58000",
        "59000",
        "60000",
        "61000",
        "62000",
    )
]

ORGS = [
    ("온기구청 복지정책과", OrgKind.public, [DISTRICT]),
    ("온기종합사회복지관", OrgKind.private, [DISTRICT]),
    ("온기구 명예사회복지공무원단", OrgKind.private, [DISTRICT]),
]

LOGINS = [
    # username, display name, role, organization index, jurisdiction override
    ("admin", "김관리 (시스템 관리자)", Role.admin, 0, None),
    ("coordinator", "이조정 (통합사례관리사)", Role.coordinator, 0, None),
    ("planner", "박계획 (맞춤형복지팀 주무관)", Role.planner, 0, DONGS[:2]),
    ("partner", "최협력 (복지관 사회복지사)", Role.partner, 1, None),
    ("reporter", "정제보 (명예사회복지공무원)", Role.reporter, 2, None),
]


async def seed_demo_logins(session: AsyncSession, security: Security) -> list[tuple[str, str, str]]:
    """Create the demo organizations and logins if missing; returns (username, role, organization)."""
    orgs: list[Organization] = []
    for name, kind, jurisdiction in ORGS:
        org = (await session.execute(select(Organization).where(Organization.name == name))).scalar_one_or_none()
        if org is None:
            org = Organization(name=name, kind=kind, jurisdiction=jurisdiction)
            session.add(org)
            await session.flush()
        orgs.append(org)
    out = []
    for username, display, role, org_index, jurisdiction in LOGINS:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
        if user is None:
            session.add(
                User(
                    organization_id=orgs[org_index].id,
                    username=username,
                    display_name=display,
                    role=role,
                    password_hash=await security.hash_password(DEMO_PASSWORD),
                    jurisdiction=jurisdiction,
                )
            )
        out.append((username, role.value, orgs[org_index].name))
    # the district's and dongs' names, for tables people read (campaign summaries, exports)
    from app.areas.service import set_area_names
    from app.demo.names import DONG_NAMES

    await set_area_names(session, {DISTRICT: "온기구", **dict(zip(DONGS, DONG_NAMES, strict=True))})
    await session.flush()
    return out
