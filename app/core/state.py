"""What one app instance holds: built by ``create_app``, nothing at import time.

Besides the settings, the engine and the other things every process has, an :class:`AppState` keeps what
the domains attach to it (the file storage, the notifier, background tasks, …) in typed *slots*. A slot is a
named, typed key declared by the module that owns the thing, so core knows none of them::

    STORAGE: Slot[Storage] = Slot("storage")          # app/media/storage

    state.get(STORAGE)                                 # Storage | None
    state.require(STORAGE)                             # Storage, or LookupError
    state.get_or_create(STORAGE, lambda: make(...))    # created once, on first use
    state.set(STORAGE, fake)                           # a test's fake
    with state.override(STORAGE, fake): ...            # a test's fake, the previous value back afterwards

The process's lifecycle is the state's too: ``state.on_start(fn)`` and ``state.on_stop(fn)`` register
``async fn(state)`` hooks; :meth:`AppState.start` runs the start hooks in the order they were registered,
:meth:`AppState.stop` runs the stop hooks in reverse (what was opened last closes first), each even if another
raised, and disposes the engine last. The API's lifespan, the worker and the CLI's commands call these two.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.security import Security

T = TypeVar("T")

#: A lifecycle hook: ``async def hook(state: AppState) -> None``.
Hook = Callable[["AppState"], Awaitable[None]]


class Slot(Generic[T]):
    """A typed key of :class:`AppState`, declared once by the module that owns what it holds.

    Slots compare by identity: two slots of the same name are two keys (the name is for messages)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    security: Security
    metrics: Metrics
    _values: dict[Slot[Any], Any] = field(default_factory=dict, init=False, repr=False)
    _on_start: list[Hook] = field(default_factory=list, init=False, repr=False)
    _on_stop: list[Hook] = field(default_factory=list, init=False, repr=False)

    # --- slots -------------------------------------------------------------------------------------------------

    def get(self, slot: Slot[T]) -> T | None:
        """What the slot holds, or ``None``."""
        return cast("T | None", self._values.get(slot))

    def require(self, slot: Slot[T]) -> T:
        """What the slot holds; :class:`LookupError` when it holds nothing."""
        try:
            return cast(T, self._values[slot])
        except KeyError:
            raise LookupError(f"nothing in the app state's {slot.name!r} slot") from None

    def set(self, slot: Slot[T], value: T) -> None:
        self._values[slot] = value

    def get_or_create(self, slot: Slot[T], create: Callable[[], T]) -> T:
        """What the slot holds, filled with ``create()`` the first time."""
        if slot not in self._values:
            self._values[slot] = create()
        return cast(T, self._values[slot])

    def pop(self, slot: Slot[T]) -> T | None:
        """Empty the slot; what it held, or ``None``."""
        return cast("T | None", self._values.pop(slot, None))

    @contextmanager
    def override(self, slot: Slot[T], value: T) -> Iterator[T]:
        """Hold ``value`` in the slot for the block, then what it held before (or nothing) again (tests)."""
        had, previous = slot in self._values, self._values.get(slot)
        self._values[slot] = value
        try:
            yield value
        finally:
            if had:
                self._values[slot] = previous
            else:
                self._values.pop(slot, None)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def on_start(self, hook: Hook) -> None:
        """Run ``hook(state)`` at :meth:`start` (once, however often it is registered)."""
        if hook not in self._on_start:
            self._on_start.append(hook)

    def on_stop(self, hook: Hook) -> None:
        """Run ``hook(state)`` at :meth:`stop` (once, however often it is registered). Stop hooks run in
        reverse order of registration: register after what the hook's work still needs."""
        if hook not in self._on_stop:
            self._on_stop.append(hook)

    async def start(self) -> None:
        """Run the start hooks in the order they were registered (the first that raises stops the start)."""
        for hook in list(self._on_start):
            await hook(self)

    async def stop(self) -> None:
        """Run the stop hooks, last registered first, each even if an earlier one raised; then dispose the
        engine. A hook runs once per registration; what raised is raised again at the end."""
        errors: list[Exception] = []
        while self._on_stop:
            hook = self._on_stop.pop()
            try:
                await hook(self)
            except Exception as exc:
                errors.append(exc)
        try:
            await self.engine.dispose()
        except Exception as exc:
            errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("stopping the app failed", errors)
