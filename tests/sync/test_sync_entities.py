"""Synced entities are declared once, in their domain (``SyncEntity``), and ordered by what they depend on."""

from __future__ import annotations

import types
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app import registry
from app.core.principal import OrgKind, Role
from app.sync import push, scope
from app.sync.scope import Item, SyncEntity, ordered
from tests.support.factories import Factory, make_household, make_visit
from tests.support.sync import Phone


async def _nothing(*_: Any) -> dict[uuid.UUID, Any]:
    return {}


def _entity(name: str, *after: str) -> SyncEntity:
    return SyncEntity(name, _nothing, _nothing, None, after=after)


def test_declarations_are_ordered_by_their_dependencies_not_by_name() -> None:
    declared = [_entity("alpha", "zulu"), _entity("mike"), _entity("zulu", "mike"), _entity("bravo", "ghost")]
    assert [e.name for e in ordered(declared)] == ["mike", "zulu", "alpha", "bravo"]
    with pytest.raises(ValueError, match="circle"):
        ordered([_entity("a", "b"), _entity("b", "a")])
    with pytest.raises(ValueError, match="twice"):
        ordered([_entity("a"), _entity("a")])


def test_the_app_declares_each_entity_once_with_its_frame_first() -> None:
    names = [e.name for e in scope.adapters()]
    assert len(names) == len(set(names))
    assert names.index("visit") < names.index("household") < names.index("note")
    assert names.index("household") < names.index("support")
    frames = [e.name for e in scope.adapters() if e.frames]
    assert set(frames) == {"visit", "case", "household"}


# --- a new entity, declared in a domain of its own and nowhere else ----------------------------------------------

#: The example domain's records: a greeting per visit (kept in memory: the example has no table).
GREETINGS: dict[uuid.UUID, dict[str, Any]] = {}


async def _greeting_scope(session: Any, ctx: Any) -> dict[uuid.UUID, Any]:
    return {gid: Item(g["version"]) for gid, g in GREETINGS.items() if g["visit_id"] in ctx.visit_ids}


async def _greeting_load(session: Any, ctx: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    return {gid: {"id": str(gid), **{k: str(v) for k, v in GREETINGS[gid].items()}} for gid in ids}


async def _greeting_wave(ctx: Any) -> Any:
    from app.sync.push import Outcome

    GREETINGS[ctx.id]["version"] += 1
    return Outcome("applied", GREETINGS[ctx.id]["version"])


def _example_domain() -> types.ModuleType:
    module = types.ModuleType("app.example.sync")
    module.sync_entities = lambda: [  # type: ignore[attr-defined]
        SyncEntity(
            "greeting", _greeting_scope, _greeting_load, None, after=("visit",), handlers={"wave": _greeting_wave}
        )
    ]
    return module


@pytest.fixture
def example_domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = registry.extensions

    def extensions(name: str) -> tuple[types.ModuleType, ...]:
        return (*real(name), _example_domain()) if name == "sync" else real(name)

    monkeypatch.setattr(registry, "extensions", extensions)
    for cached in (scope.adapters, push.handlers, push.prefetchers):
        cached.cache_clear()
    yield
    for cached in (scope.adapters, push.handlers, push.prefetchers):
        cached.cache_clear()
    GREETINGS.clear()


@pytest.mark.usefixtures("example_domain")
async def test_an_entity_declared_in_its_own_domain_is_pulled_and_pushed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    district = await factory.org(OrgKind.public, ["11990"])
    planner = await factory.actor(Role.planner, district)
    visit = await make_visit(factory, await make_household(factory), [planner.user])
    gid = uuid.uuid4()
    GREETINGS[gid] = {"visit_id": visit.id, "text": "안녕하세요", "version": 1}
    phone = Phone(client, planner)
    await phone.sync()
    assert phone.store[("greeting", str(gid))]["data"]["text"] == "안녕하세요"
    r = await client.post(
        "/v1/sync/push",
        headers=planner.headers,
        json={
            "device_id": planner.extra["device"],
            "device_time": datetime.now(UTC).isoformat(),
            "mutations": [{"mutation_id": str(uuid.uuid4()), "entity": "greeting", "op": "wave", "id": str(gid)}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "applied", r.text
    assert GREETINGS[gid]["version"] == 2
