"""A pull is planned in a read transaction and recorded under the write lock (app/sync/plan.py, app/sync/pull.py): the
holdings it plans from must be exactly what confirming the batch leaves and what the next send of a record folds
into what is held, and all must follow the rules of confirming a batch (written out here in Python, row by row)."""

from __future__ import annotations

import random
import uuid
from types import SimpleNamespace

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import utcnow
from app.core.principal import OrgKind, Role
from app.core.uow import commit
from app.sync import checksum, holdings, state
from app.sync.models import DeviceHolding
from tests.support.factories import Factory

_COLUMNS = (
    DeviceHolding.id,
    DeviceHolding.entity,
    DeviceHolding.entity_id,
    DeviceHolding.household_id,
    DeviceHolding.held_version,
    DeviceHolding.held_view,
    DeviceHolding.revoked_at,
    DeviceHolding.sent_op,
    DeviceHolding.sent_batch,
    DeviceHolding.sent_version,
    DeviceHolding.sent_view,
)


def _oracle(rows: list[dict], batch: int) -> dict:
    """What each holding becomes once ``batch`` is confirmed: sends in received batches are settled (a
    delete goes, an upsert is held, a revoke is revoked); sends in lost batches are forgotten, and a row
    that held nothing before goes."""
    out = {}
    for r in rows:
        held, view, revoked = r["held_version"], r["held_view"], r["revoked_at"] is not None
        if r["sent_batch"] is not None and r["sent_batch"] <= batch:
            if r["sent_op"] == "delete":
                continue
            if r["sent_op"] == "upsert":
                held, view, revoked = r["sent_version"], r["sent_view"], False
            elif r["sent_op"] == "revoke":
                revoked = True
        elif r["sent_batch"] is not None and held is None and not revoked:
            continue
        out[(r["entity"], r["entity_id"])] = (r["id"], r["household_id"], held, view, revoked)
    return out


async def test_planned_holdings_equal_what_confirm_records(
    factory: Factory, maker: async_sessionmaker[AsyncSession]
) -> None:
    district = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, district)
    device_id = uuid.UUID(planner.extra["device"])
    rng = random.Random(7)
    now = utcnow()
    rows = []
    for _ in range(400):
        held = rng.choice([None, 1, 2])
        sent_op = rng.choice([None, "upsert", "delete", "revoke"])
        rows.append(
            {
                "id": uuid.uuid4(),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "device_id": device_id,
                "entity": rng.choice(["note", "photo", "visit", "case", "household"]),
                "entity_id": uuid.uuid4(),
                "household_id": rng.choice([None, uuid.uuid4()]),
                "held_version": held,
                "held_view": rng.choice([None, "redacted"]) if held else None,
                "revoked_at": now if rng.random() < 0.2 else None,
                "sent_op": sent_op,
                "sent_batch": rng.randint(1, 6) if sent_op else None,
                "sent_version": rng.randint(1, 5) if sent_op in ("upsert", "delete") else None,
                "sent_view": rng.choice([None, "redacted"]) if sent_op == "upsert" else None,
                "sent_at": now if sent_op else None,
                "hold_until": None,
            }
        )
    async with maker() as s:
        await s.execute(insert(DeviceHolding), rows)
        await commit(s)
    # the checksum the server stored after batch 6: of everything sent, as if every batch arrived
    everything = checksum.checksum_of(
        (e, i, v) for (e, i), (_, _, v, _, revoked) in _oracle(rows, 6).items() if not revoked
    )
    for batch in (0, 3, 6):
        async with maker() as s:
            planned = await holdings.read_holdings(s, device_id, batch)
            some = set(rng.sample(sorted(planned), 40))
            narrowed = await holdings.read_holdings(s, device_id, batch, some)
            base = await holdings.base_sum(s, device_id, SimpleNamespace(checksum=everything), batch)  # type: ignore[arg-type]
            await state.confirm_batch(s, device_id, batch, lost=batch < 6)
            left = [
                dict(r._mapping) for r in await s.execute(select(*_COLUMNS).where(DeviceHolding.device_id == device_id))
            ]
            # read by the same rules after confirming: nothing changed
            reread = await holdings.read_holdings(s, device_id, batch, every=True)
            # every record sent again (as a pull after this one would): what was received is folded into what is held
            dh = DeviceHolding.__table__
            await s.execute(
                dh.update()
                .where(dh.c.device_id == device_id)
                .values(**holdings.folded(device_id, batch), sent_op="upsert", sent_batch=7, sent_version=9)
            )
            refolded = {
                (r.entity, r.entity_id): (r.id, r.household_id, r.held_version, r.held_view, r.revoked_at is not None)
                for r in await s.execute(select(*_COLUMNS).where(DeviceHolding.device_id == device_id))
            }
            await s.rollback()
        expected = _oracle(rows, batch)
        # confirming removed what goes (received deletes, lost sends of rows that held nothing) and forgot the lost
        # sends; what is left reads as held once the batch is confirmed, with nothing more to remove
        recorded = _oracle(left, batch)
        assert recorded == expected, batch
        assert len(left) == len(expected), batch
        assert all(r["sent_batch"] is None or r["sent_batch"] <= batch for r in left), batch
        assert {
            k: (h.id, h.household_id, h.held_version, h.held_view, h.revoked) for k, h in reread.items()
        } == expected
        assert refolded == expected, batch
        assert {
            key: (h.id, h.household_id, h.held_version, h.held_view, h.revoked) for key, h in planned.items()
        } == expected, batch
        # narrowed to some records: exactly those
        assert narrowed == {k: planned[k] for k in some}
        # the checksum of what is held once the batch is confirmed, derived from the stored one by the lost
        # sends alone, equals the checksum computed over every record held
        assert checksum.encode(base) == checksum.checksum_of(
            (entity, eid, v) for (entity, eid), (_, _, v, _, revoked) in recorded.items() if not revoked
        ), batch
