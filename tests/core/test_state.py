"""The app state's typed slots and lifecycle hooks (app/core/state.py, docs/architecture.md#app-state-and-lifecycle)."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.state import AppState, Slot

NAME: Slot[str] = Slot("name")
COUNT: Slot[int] = Slot("count")


class _Engine:
    disposed = False

    async def dispose(self) -> None:
        self.disposed = True


def _state() -> AppState:
    return AppState(settings=None, engine=_Engine(), sessionmaker=None, security=None, metrics=None)  # type: ignore[arg-type]


def test_slots_are_typed_keys() -> None:
    state = _state()
    assert state.get(NAME) is None
    with pytest.raises(LookupError, match="'name'"):
        state.require(NAME)
    state.set(NAME, "a")
    assert state.require(NAME) == "a"
    assert state.get_or_create(COUNT, lambda: 3) == 3
    assert state.get_or_create(COUNT, lambda: 4) == 3  # made once
    assert state.pop(COUNT) == 3
    assert state.get(COUNT) is None
    assert state.get(Slot[str]("name")) is None  # slots compare by identity, not by name


def test_override_restores_what_was_there() -> None:
    state = _state()
    with state.override(NAME, "fake"):
        assert state.get(NAME) == "fake"
    assert state.get(NAME) is None
    state.set(NAME, "real")
    with pytest.raises(RuntimeError), state.override(NAME, "fake"):
        raise RuntimeError
    assert state.get(NAME) == "real"


async def test_start_in_order_stop_in_reverse_each_even_if_another_raised() -> None:
    state = _state()
    seen: list[str] = []

    def hook(name: str, fail: bool = False) -> Any:
        async def run(_state: AppState) -> None:
            seen.append(name)
            if fail:
                raise RuntimeError(name)

        return run

    first, second = hook("start 1"), hook("start 2")
    state.on_start(first)
    state.on_start(second)
    state.on_start(first)  # once, however often registered
    await state.start()
    assert seen == ["start 1", "start 2"]

    seen.clear()
    state.on_stop(hook("stop storage"))
    state.on_stop(hook("stop tasks", fail=True))
    with pytest.raises(RuntimeError, match="stop tasks"):
        await state.stop()
    assert seen == ["stop tasks", "stop storage"]
    assert state.engine.disposed  # type: ignore[attr-defined]
    seen.clear()
    await state.stop()  # each hook ran once
    assert seen == []
