"""The unit of work: core knows no domain, one journal under one session.info key, registered hooks, and no
exception that decides a commit."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import journal
from app.audit.models import AuditEvent
from app.core.errors import Problem
from app.core.uow import JOURNAL_KEY, Journal, journal_of, keep_so_far, open_session, registered_hooks
from app.households.models import Household
from app.journal import audit
from app.journal.outbox import emit

CORE = Path(__file__).resolve().parents[2] / "app" / "core"


def test_core_imports_nothing_of_the_app_outside_core() -> None:
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [f"{path.name}: {n}" for n in names if n.startswith("app.") and not n.startswith("app.core")]
    assert found == []


def test_hooks_register_once() -> None:
    before = {kind: list(getattr(registered_hooks(), kind)) for kind in vars(registered_hooks())}
    journal.install()
    journal.install()
    assert {kind: list(getattr(registered_hooks(), kind)) for kind in vars(registered_hooks())} == before
    assert registered_hooks().before_commit
    assert registered_hooks().after_commit


def test_a_problem_carries_no_commit_flag() -> None:
    assert not hasattr(Problem(401), "commit")
    with pytest.raises(TypeError):
        Problem(401, commit=True)  # type: ignore[call-arg]


def _household() -> Household:
    return Household(district_code="11990", dong_code="1199051000", address="온기로 1", head_name="홍길동")


async def test_one_transaction_keeps_its_bookkeeping_in_one_journal(maker: async_sessionmaker[AsyncSession]) -> None:
    async with open_session(maker, write=True) as s:
        h = _household()
        s.add(h)
        await s.flush()
        emit(s, "household.risk_changed", {"household_id": str(h.id)}, household_id=h.id)
        await audit.record(s, None, "test.uow", entity="household", entity_id=h.id)
        j = journal_of(s)
        assert isinstance(j, Journal)
        assert j.write is True
        assert ("household", h.id) in j.changes
        assert len(j.events) == 1
        assert set(s.info) == {JOURNAL_KEY}
    assert not j.changes  # numbered and written at commit
    assert not j.events


async def test_an_error_rolls_back_unless_the_code_kept_it(maker: async_sessionmaker[AsyncSession]) -> None:
    async def deny(entity_id: uuid.UUID, *, keep: bool) -> None:
        async with open_session(maker, write=False) as s:
            await audit.record(s, None, "test.denied", entity="household", entity_id=entity_id, result="denied")
            if keep:
                await keep_so_far(s)
            raise Problem(404)

    kept, lost = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(Problem):
        await deny(kept, keep=True)
    with pytest.raises(Problem):
        await deny(lost, keep=False)
    async with maker() as s:
        ids = set((await s.execute(select(AuditEvent.entity_id).where(AuditEvent.action == "test.denied"))).scalars())
    assert ids == {kept}
