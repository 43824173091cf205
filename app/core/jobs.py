"""A periodic background job (docs/operations.md, "Worker"): what a domain offers in ``app/<domain>/jobs.py``
as ``JOBS = [Job(...)]``; the worker (``app.worker``) finds them through ``app.registry.jobs()``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.core.state import AppState


@dataclass(frozen=True)
class Job:
    name: str
    #: One round; returns how much it did (0: nothing to do, sleep).
    run: Callable[[AppState], Awaitable[int]]
    #: Seconds to sleep after an idle round (a number, or a function of the state).
    interval: float | Callable[[AppState], float] = 5.0

    def idle_seconds(self, state: AppState) -> float:
        return self.interval(state) if callable(self.interval) else self.interval
