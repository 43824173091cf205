"""The statements of imports (docs/integrations.md §2): import records by key, import jobs and their row results."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization, User
from app.households.models import Household
from app.integrations.models import ImportJob, ImportRecord, ImportRow


async def find_record(session: AsyncSession, source: str, external_id: str) -> ImportRecord | None:
    """The import record of one (source, external id)."""
    return (
        await session.execute(
            select(ImportRecord).where(ImportRecord.source == source, ImportRecord.external_id == external_id)
        )
    ).scalar_one_or_none()


async def records_of(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ImportRecord]:
    """The import records of these (source, external id) keys (one statement), by key."""
    keys = list(keys)
    if not keys:
        return {}
    sources, external_ids = sorted({s for s, _ in keys}), sorted({e for _, e in keys})
    if session.get_bind().dialect.name == "postgresql":
        # one array parameter each: the same prepared statement whatever the batch's size
        where = (
            ImportRecord.source == any_(bindparam("sources", sources, type_=ARRAY(String))),
            ImportRecord.external_id == any_(bindparam("external_ids", external_ids, type_=ARRAY(String))),
        )
    else:
        where = (ImportRecord.source.in_(sources), ImportRecord.external_id.in_(external_ids))
    rows = (await session.execute(select(ImportRecord).where(*where))).scalars()
    return {(r.source, r.external_id): r for r in rows}


async def household(session: AsyncSession, household_id: uuid.UUID | None) -> Household | None:
    return await session.get(Household, household_id) if household_id is not None else None


async def keyed_fields(session: AsyncSession, ids: Iterable[uuid.UUID], fields: tuple[str, ...]) -> list[Any]:
    """(id, *fields) of these households."""
    columns = [getattr(Household, name) for name in fields]
    return list((await session.execute(select(Household.id, *columns).where(Household.id.in_(list(ids))))).all())


async def submitter(session: AsyncSession, user_id: uuid.UUID | None) -> tuple[User, Organization] | None:
    """The user who submitted a job, with their organization."""
    row = (
        await session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == user_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def user_named(session: AsyncSession, username: str) -> tuple[User, Organization] | None:
    """A user by username, with their organization (the command line's ``--as``)."""
    row = (
        await session.execute(
            select(User, Organization)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.username == username)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def lease_job(session: AsyncSession, job_id: uuid.UUID, token: uuid.UUID, **values: Any) -> bool:
    """Set ``values`` on the job if ``token`` still holds its lease (a compare-and-set); whether it did."""
    done = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.lease_token == token)
        .values(**values, version=ImportJob.version + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _lapsed(now: datetime) -> Any:
    return (
        ImportJob.status.in_(("queued", "running")),
        or_(ImportJob.lease_until.is_(None), ImportJob.lease_until <= now),
    )


async def claim_job(session: AsyncSession, job_id: uuid.UUID, now: datetime, **values: Any) -> bool:
    """Take over the job if its lease lapsed (a compare-and-set: one taker wins); whether we did."""
    done = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, *_lapsed(now))
        .values(**values, version=ImportJob.version + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def lapsed_jobs(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Jobs under way whose lease lapsed (their process died)."""
    return list((await session.execute(select(ImportJob.id).where(*_lapsed(now)))).scalars())


async def result_page(session: AsyncSession, job_id: uuid.UUID, after: int, limit: int) -> list[ImportRow]:
    """The job's row results after line ``after``, in order."""
    return list(
        (
            await session.execute(
                select(ImportRow)
                .where(ImportRow.job_id == job_id, ImportRow.line > after)
                .order_by(ImportRow.line)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
